//! Reading stored rows into the domain's records.

use sqlx::any::AnyRow;
use sqlx::Row;
use tracklane_core::contact::Contact;
use tracklane_core::field::{Field, FieldOption, FieldRel, FieldType, FieldValue};
use tracklane_core::ids::{
    ContactId, ContactListId, ContactTagId, FieldId, FieldOptionId, FieldRelId, FieldValueId,
    ListId, TagId,
};
use tracklane_core::list::{ContactList, List, ListStatus};
use tracklane_core::tag::{ContactTag, Tag, TagType};
use tracklane_core::time::Timestamp;

type Read<T> = Result<T, sqlx::Error>;

fn at(row: &AnyRow, column: &str) -> Read<Timestamp> {
    Ok(Timestamp(row.try_get(column)?))
}

fn maybe_at(row: &AnyRow, column: &str) -> Read<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp))
}

/// The columns [`contact`] reads.
pub const CONTACT_COLUMNS: &str =
    "id, email, first_name, last_name, phone, hash, created_at, updated_at";

pub fn contact(row: &AnyRow) -> Read<Contact> {
    Ok(Contact {
        id: ContactId(row.try_get("id")?),
        email: row.try_get("email")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        phone: row.try_get("phone")?,
        hash: row.try_get("hash")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

/// The columns [`tag`] reads, from `tags t`.
pub const TAG_COLUMNS: &str =
    "t.id, t.name, t.tag_type, t.description, t.created_at, t.updated_at, \
     (SELECT COUNT(*) FROM contact_tags ct WHERE ct.tag_id = t.id) AS contact_count";

pub fn tag(row: &AnyRow) -> Read<Tag> {
    let tag_type: String = row.try_get("tag_type")?;
    Ok(Tag {
        id: TagId(row.try_get("id")?),
        name: row.try_get("name")?,
        tag_type: TagType::parse(&tag_type).unwrap_or(TagType::Contact),
        description: row.try_get("description")?,
        contact_count: row.try_get("contact_count")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

/// The columns [`contact_tag`] reads.
pub const CONTACT_TAG_COLUMNS: &str = "id, contact_id, tag_id, created_at";

pub fn contact_tag(row: &AnyRow) -> Read<ContactTag> {
    Ok(ContactTag {
        id: ContactTagId(row.try_get("id")?),
        contact: ContactId(row.try_get("contact_id")?),
        tag: TagId(row.try_get("tag_id")?),
        created_at: at(row, "created_at")?,
    })
}

/// The columns [`list`] reads.
pub const LIST_COLUMNS: &str =
    "id, name, stringid, sender_url, sender_reminder, created_at, updated_at";

pub fn list(row: &AnyRow) -> Read<List> {
    Ok(List {
        id: ListId(row.try_get("id")?),
        name: row.try_get("name")?,
        stringid: row.try_get("stringid")?,
        sender_url: row.try_get("sender_url")?,
        sender_reminder: row.try_get("sender_reminder")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

/// The columns [`contact_list`] reads.
pub const CONTACT_LIST_COLUMNS: &str = "id, contact_id, list_id, status, source_id, \
     subscribed_at, unsubscribed_at, created_at, updated_at";

pub fn contact_list(row: &AnyRow) -> Read<ContactList> {
    Ok(ContactList {
        id: ContactListId(row.try_get("id")?),
        contact: ContactId(row.try_get("contact_id")?),
        list: ListId(row.try_get("list_id")?),
        status: ListStatus::from_code(row.try_get("status")?),
        source_id: row.try_get("source_id")?,
        subscribed_at: maybe_at(row, "subscribed_at")?,
        unsubscribed_at: maybe_at(row, "unsubscribed_at")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

/// The columns [`field`] reads.
pub const FIELD_COLUMNS: &str = "id, title, field_type, description, perstag, default_value, \
     visible, ordernum, created_at, updated_at";

pub fn field(row: &AnyRow) -> Read<Field> {
    let field_type: String = row.try_get("field_type")?;
    Ok(Field {
        id: FieldId(row.try_get("id")?),
        title: row.try_get("title")?,
        field_type: FieldType::parse(&field_type).unwrap_or(FieldType::Text),
        description: row.try_get("description")?,
        perstag: row.try_get("perstag")?,
        default_value: row.try_get("default_value")?,
        visible: row.try_get::<i64, _>("visible")? != 0,
        ordernum: row.try_get("ordernum")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

/// The columns [`field_value`] reads.
pub const FIELD_VALUE_COLUMNS: &str = "id, contact_id, field_id, value, created_at, updated_at";

pub fn field_value(row: &AnyRow) -> Read<FieldValue> {
    Ok(FieldValue {
        id: FieldValueId(row.try_get("id")?),
        contact: ContactId(row.try_get("contact_id")?),
        field: FieldId(row.try_get("field_id")?),
        value: row.try_get("value")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

/// The columns [`field_rel`] reads.
pub const FIELD_REL_COLUMNS: &str = "id, field_id, relid, created_at";

pub fn field_rel(row: &AnyRow) -> Read<FieldRel> {
    Ok(FieldRel {
        id: FieldRelId(row.try_get("id")?),
        field: FieldId(row.try_get("field_id")?),
        relid: row.try_get("relid")?,
        created_at: at(row, "created_at")?,
    })
}

/// The columns [`field_option`] reads.
pub const FIELD_OPTION_COLUMNS: &str = "id, field_id, label, value, orderid, isdefault, created_at";

pub fn field_option(row: &AnyRow) -> Read<FieldOption> {
    Ok(FieldOption {
        id: FieldOptionId(row.try_get("id")?),
        field: FieldId(row.try_get("field_id")?),
        label: row.try_get("label")?,
        value: row.try_get("value")?,
        orderid: row.try_get("orderid")?,
        isdefault: row.try_get::<i64, _>("isdefault")? != 0,
        created_at: at(row, "created_at")?,
    })
}
