//! Custom fields, the values contacts hold for them, their relations to lists and their options.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};
use tracklane_core::contact::FieldValueInput;
use tracklane_core::field::{
    Field, FieldDraft, FieldOption, FieldPatch, FieldRel, FieldValue, ALL_LISTS,
};
use tracklane_core::ids::{AccountId, ContactId, FieldId, FieldValueId, ListId};
use tracklane_core::invalid::Invalid;
use tracklane_core::page::Page;
use tracklane_core::segment::evaluate::{field_instant, field_number};
use tracklane_core::time::Timestamp;

use crate::listing::{all_of, owned_row, page_of, Listed};
use crate::rows::{
    self, FIELD_COLUMNS, FIELD_OPTION_COLUMNS, FIELD_REL_COLUMNS, FIELD_VALUE_COLUMNS,
};
use crate::sql::Statement;
use crate::writes::Written;
use crate::{Model, Store, StoreError};

/// Which field values to list.
#[derive(Debug, Clone, Default)]
pub struct FieldValueQuery {
    /// Values of this field.
    pub field: Option<FieldId>,
    /// Values equal to this.
    pub value: Option<String>,
}

/// A new option of a choice field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOptionDraft {
    /// The field.
    pub field: FieldId,
    /// What is shown.
    pub label: String,
    /// What is stored.
    pub value: String,
    /// Its position.
    pub orderid: i64,
    /// Whether it is selected by default.
    pub isdefault: bool,
}

const DUPLICATE_TITLE: &str = "A field with this title already exists";

impl Store {
    /// Creates a custom field; refuses a title the account already uses.
    pub async fn create_field(
        &self,
        account: AccountId,
        draft: FieldDraft,
        now: Timestamp,
    ) -> Result<Field, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO fields (account_id, title, field_type, description, perstag, \
             default_value, visible, ordernum, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             ON CONFLICT (account_id, title) DO NOTHING RETURNING {FIELD_COLUMNS}"
        ))
        .bind(account.0)
        .bind(draft.title)
        .bind(draft.field_type.as_str())
        .bind(draft.description)
        .bind(draft.perstag)
        .bind(draft.default_value)
        .bind(i64::from(draft.visible))
        .bind(draft.ordernum)
        .bind(now.0)
        .fetch_optional(&self.writer)
        .written(self)
        .await?;
        let row = row.ok_or_else(|| Invalid::duplicate("title", DUPLICATE_TITLE))?;
        Ok(rows::field(&row)?)
    }

    /// The field with this id, or [`StoreError::NotFound`].
    pub async fn existing_field(
        &self,
        account: AccountId,
        id: FieldId,
    ) -> Result<Field, StoreError> {
        let key = (Model::Field, account, id.0);
        owned_row(&self.reader, "fields", FIELD_COLUMNS, key, rows::field).await
    }

    /// One page of fields, optionally only the one with this personalization tag.
    pub async fn fields(
        &self,
        account: AccountId,
        perstag: Option<&str>,
        page: Page,
    ) -> Result<Listed<Field>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM fields WHERE account_id = ");
        filter.push_bind(account.0);
        if let Some(perstag) = perstag {
            filter.and(" AND perstag = ", perstag);
        }
        page_of(
            &self.reader,
            FIELD_COLUMNS,
            &filter,
            "ordernum ASC, id ASC",
            page,
            rows::field,
        )
        .await
    }

    /// Changes the attributes present in `patch`.
    pub async fn update_field(
        &self,
        account: AccountId,
        id: FieldId,
        patch: FieldPatch,
        now: Timestamp,
    ) -> Result<Field, StoreError> {
        let mut update = Statement::new(self.engine, "UPDATE fields SET updated_at = ");
        update.push_bind(now.0);
        let texts = [
            (", title = ", patch.title),
            (
                ", field_type = ",
                patch.field_type.map(|t| t.as_str().to_owned()),
            ),
            (", description = ", patch.description),
            (", perstag = ", patch.perstag),
            (", default_value = ", patch.default_value),
        ];
        update.push_present(texts);
        let numbers = [
            (", visible = ", patch.visible.map(i64::from)),
            (", ordernum = ", patch.ordernum),
        ];
        update.push_present(numbers);
        update
            .and(" WHERE account_id = ", account.0)
            .and(" AND id = ", id.0)
            .push(" RETURNING ")
            .push(FIELD_COLUMNS);
        let row = update
            .query()
            .fetch_optional(&self.writer)
            .written(self)
            .await
            .map_err(|error| {
                if error.is_unique_violation() {
                    Invalid::duplicate("title", DUPLICATE_TITLE).into()
                } else {
                    error
                }
            })?;
        row.as_ref()
            .map(rows::field)
            .transpose()?
            .ok_or(StoreError::NotFound {
                model: Model::Field,
                id: id.0,
            })
    }

    /// Deletes a field with every value of it.
    pub async fn delete_field(&self, account: AccountId, id: FieldId) -> Result<(), StoreError> {
        self.delete_owned("fields", Model::Field, account, id.0)
            .await
    }

    /// Sets one contact's value of one field, creating or replacing it.
    pub async fn set_field_value(
        &self,
        account: AccountId,
        contact: ContactId,
        value: FieldValueInput,
        now: Timestamp,
    ) -> Result<FieldValue, StoreError> {
        self.existing_contact(account, contact).await?;
        self.write(async |tx| {
            let mut written = write_field_values(tx, account, contact, &[value], now).await?;
            written.pop().ok_or(StoreError::NotFound {
                model: Model::FieldValue,
                id: 0,
            })
        })
        .await
    }

    /// The field value with this id, or [`StoreError::NotFound`].
    pub async fn existing_field_value(
        &self,
        account: AccountId,
        id: FieldValueId,
    ) -> Result<FieldValue, StoreError> {
        let key = (Model::FieldValue, account, id.0);
        owned_row(
            &self.reader,
            "field_values",
            FIELD_VALUE_COLUMNS,
            key,
            rows::field_value,
        )
        .await
    }

    /// One page of field values matching `query`.
    pub async fn field_values(
        &self,
        account: AccountId,
        query: &FieldValueQuery,
        page: Page,
    ) -> Result<Listed<FieldValue>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM field_values WHERE account_id = ");
        filter.push_bind(account.0);
        if let Some(field) = query.field {
            filter.and(" AND field_id = ", field.0);
        }
        if let Some(value) = &query.value {
            filter.and(" AND value = ", value.as_str());
        }
        page_of(
            &self.reader,
            FIELD_VALUE_COLUMNS,
            &filter,
            "id ASC",
            page,
            rows::field_value,
        )
        .await
    }

    /// Every custom field value of one contact.
    pub async fn contact_field_values(
        &self,
        account: AccountId,
        contact: ContactId,
    ) -> Result<Vec<FieldValue>, StoreError> {
        self.existing_contact(account, contact).await?;
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {FIELD_VALUE_COLUMNS} FROM field_values WHERE account_id = "),
        );
        select
            .push_bind(account.0)
            .and(" AND contact_id = ", contact.0)
            .push(" ORDER BY id");
        all_of(&self.reader, &select, rows::field_value).await
    }

    /// Deletes one field value.
    pub async fn delete_field_value(
        &self,
        account: AccountId,
        id: FieldValueId,
    ) -> Result<(), StoreError> {
        self.delete_owned("field_values", Model::FieldValue, account, id.0)
            .await
    }

    /// Relates a field to a list of the account (`relid` 0: all lists); relating it again
    /// returns the row. Any other `relid` that names none of the account's lists is refused as
    /// a missing list.
    pub async fn relate_field(
        &self,
        account: AccountId,
        field: FieldId,
        relid: i64,
        now: Timestamp,
    ) -> Result<FieldRel, StoreError> {
        self.existing_field(account, field).await?;
        if relid != ALL_LISTS {
            self.existing_list(account, ListId(relid)).await?;
        }
        let row = sqlx::query(&format!(
            "INSERT INTO field_rels (account_id, field_id, relid, created_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (field_id, relid) DO UPDATE SET relid = excluded.relid \
             RETURNING {FIELD_REL_COLUMNS}"
        ))
        .bind(account.0)
        .bind(field.0)
        .bind(relid)
        .bind(now.0)
        .fetch_one(&self.writer)
        .written(self)
        .await?;
        Ok(rows::field_rel(&row)?)
    }

    /// A field's relations to lists.
    pub async fn field_rels(
        &self,
        account: AccountId,
        field: FieldId,
    ) -> Result<Vec<FieldRel>, StoreError> {
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {FIELD_REL_COLUMNS} FROM field_rels WHERE account_id = "),
        );
        select
            .push_bind(account.0)
            .and(" AND field_id = ", field.0)
            .push(" ORDER BY id");
        all_of(&self.reader, &select, rows::field_rel).await
    }

    /// Adds options to choice fields, all or none.
    pub async fn add_field_options(
        &self,
        account: AccountId,
        drafts: Vec<FieldOptionDraft>,
        now: Timestamp,
    ) -> Result<Vec<FieldOption>, StoreError> {
        for draft in &drafts {
            self.existing_field(account, draft.field).await?;
        }
        self.write(async |tx| {
            let mut options = Vec::with_capacity(drafts.len());
            for draft in drafts {
                let row = sqlx::query(&format!(
                    "INSERT INTO field_options \
                     (account_id, field_id, label, value, orderid, isdefault, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {FIELD_OPTION_COLUMNS}"
                ))
                .bind(account.0)
                .bind(draft.field.0)
                .bind(draft.label)
                .bind(draft.value)
                .bind(draft.orderid)
                .bind(i64::from(draft.isdefault))
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await?;
                options.push(rows::field_option(&row)?);
            }
            Ok(options)
        })
        .await
    }

    /// A field's options, in order.
    pub async fn field_options(
        &self,
        account: AccountId,
        field: FieldId,
    ) -> Result<Vec<FieldOption>, StoreError> {
        self.existing_field(account, field).await?;
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {FIELD_OPTION_COLUMNS} FROM field_options WHERE account_id = "),
        );
        select
            .push_bind(account.0)
            .and(" AND field_id = ", field.0)
            .push(" ORDER BY orderid, id");
        all_of(&self.reader, &select, rows::field_option).await
    }
}

/// The SQL of a custom field value's number and instant from three binds, the first `$has`:
/// whether it has a number, the number (0 when none) and the instant (see [`bind_typed`]). A
/// NULL float bound through the Any driver leaves PostgreSQL's prepared statement with the
/// wrong parameter type for the next call's number, hence the flag.
fn typed_values(has: usize) -> (String, String) {
    (
        format!("CASE WHEN ${has} THEN ${} END", has + 1),
        format!("${}", has + 2),
    )
}

/// Binds the three values [`typed_values`] reads: `value` read as core's segment evaluator
/// reads it for number and date tests.
fn bind_typed<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    value: &str,
) -> Query<'q, Any, AnyArguments<'q>> {
    let number = field_number(value);
    query
        .bind(number.is_some())
        .bind(number.unwrap_or_default())
        .bind(field_instant(value).map(|at| at.0))
}

impl Store {
    /// Types the custom field values written before they were typed (migration 0017), a
    /// batch at a time; returns how many.
    pub async fn type_field_values(&self) -> Result<u64, StoreError> {
        const BATCH: i64 = 1_000;
        let (number, instant) = typed_values(2);
        let update = format!(
            "UPDATE field_values SET number = {number}, instant = {instant}, typed = 1 \
             WHERE id = $1"
        );
        let mut typed = 0;
        loop {
            let rows = sqlx::query("SELECT id, value FROM field_values WHERE typed = 0 LIMIT $1")
                .bind(BATCH)
                .fetch_all(&self.writer)
                .await?;
            if rows.is_empty() {
                return Ok(typed);
            }
            self.write(async |tx| {
                for row in &rows {
                    let value: String = row.try_get("value")?;
                    let update = sqlx::query(&update).bind(row.try_get::<i64, _>("id")?);
                    bind_typed(update, &value).execute(&mut *tx).await?;
                }
                Ok(())
            })
            .await?;
            typed += rows.len() as u64;
        }
    }
}

/// The id of the account's custom field with this personalization tag, if any.
pub(crate) async fn field_by_perstag<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    account: AccountId,
    perstag: &str,
) -> Result<Option<FieldId>, StoreError> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM fields WHERE account_id = $1 AND perstag = $2 LIMIT 1")
            .bind(account.0)
            .bind(perstag)
            .fetch_optional(executor)
            .await?;
    Ok(id.map(FieldId))
}

/// Writes custom field values of one contact on `conn` (a transaction): each field must be the account's and
/// each value acceptable for its field's type.
pub(crate) async fn write_field_values(
    conn: &mut AnyConnection,
    account: AccountId,
    contact: ContactId,
    values: &[FieldValueInput],
    now: Timestamp,
) -> Result<Vec<FieldValue>, StoreError> {
    let mut written = Vec::with_capacity(values.len());
    for input in values {
        let row = sqlx::query(&format!(
            "SELECT {FIELD_COLUMNS} FROM fields WHERE account_id = $1 AND id = $2"
        ))
        .bind(account.0)
        .bind(input.field.0)
        .fetch_optional(&mut *conn)
        .await?;
        let field = row.as_ref().map(rows::field).transpose()?.ok_or_else(|| {
            Invalid::bad_value("field", format!("there is no custom field {}", input.field))
        })?;
        field.field_type.check_value(&input.value)?;
        let value = input.value.trim();
        let (number, instant) = typed_values(6);
        let insert = format!(
            "INSERT INTO field_values \
             (account_id, contact_id, field_id, value, created_at, updated_at, number, instant, \
             typed) VALUES ($1, $2, $3, $4, $5, $5, {number}, {instant}, 1) \
             ON CONFLICT (contact_id, field_id) DO UPDATE \
             SET value = excluded.value, updated_at = excluded.updated_at, \
             number = excluded.number, instant = excluded.instant, typed = 1 \
             RETURNING {FIELD_VALUE_COLUMNS}"
        );
        let insert = sqlx::query(&insert)
            .bind(account.0)
            .bind(contact.0)
            .bind(field.id.0)
            .bind(value)
            .bind(now.0);
        let row = bind_typed(insert, value).fetch_one(&mut *conn).await?;
        written.push(rows::field_value(&row)?);
    }
    Ok(written)
}
