//! Tags and the tags contacts carry. Putting a tag on a contact or taking it off is reported
//! to the webhooks that hear of it, in the same transaction.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, ContactTagId, TagId};
use tracklane_core::page::Page;
use tracklane_core::tag::{ContactTag, Tag, TagDraft, TagPatch};
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::{WebhookEvent, WebhookSource};

use crate::listing::{all_of, owned_row, page_of, Listed};
use crate::rows::{self, CONTACT_TAG_COLUMNS, TAG_COLUMNS};
use crate::sql::{Direction, Statement, TextFilter, Value};
use crate::webhooks::changes::{record_changes, Change};
use crate::writes::Written;
use crate::{Engine, Model, Store, StoreError};

/// Which tags to list.
#[derive(Debug, Clone, Default)]
pub struct TagQuery {
    /// A condition on the tag's name (AC's `search` / `filters[search][op]`).
    pub name: Option<TextFilter>,
    /// Sort by name in this direction; by id when `None`.
    pub order_by_name: Option<Direction>,
}

impl Store {
    /// Creates a tag from a validated draft.
    pub async fn create_tag(
        &self,
        account: AccountId,
        draft: TagDraft,
        now: Timestamp,
    ) -> Result<Tag, StoreError> {
        let id: i64 = sqlx::Row::try_get(
            &sqlx::query(
                "INSERT INTO tags (account_id, name, tag_type, description, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(account.0)
            .bind(draft.name)
            .bind(draft.tag_type.as_str())
            .bind(draft.description)
            .bind(now.0)
            .fetch_one(&self.writer)
            .written(self)
            .await?,
            "id",
        )?;
        self.existing_tag(account, TagId(id)).await
    }

    /// The tag with this id, or [`StoreError::NotFound`].
    pub async fn existing_tag(&self, account: AccountId, id: TagId) -> Result<Tag, StoreError> {
        let key = (Model::Tag, account, id.0);
        owned_row(&self.reader, "tags t", TAG_COLUMNS, key, rows::tag).await
    }

    /// One page of the tags matching `query`.
    pub async fn tags(
        &self,
        account: AccountId,
        query: &TagQuery,
        page: Page,
    ) -> Result<Listed<Tag>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM tags t WHERE t.account_id = ");
        filter.push_bind(account.0);
        if let Some(name) = &query.name {
            filter.and_text(self.engine, "t.name", name);
        }
        let order = match query.order_by_name {
            Some(direction) => format!("t.name{}, t.id ASC", direction.sql()),
            None => "t.id ASC".to_owned(),
        };
        page_of(&self.reader, TAG_COLUMNS, &filter, &order, page, rows::tag).await
    }

    /// Changes the attributes present in `patch`.
    pub async fn update_tag(
        &self,
        account: AccountId,
        id: TagId,
        patch: TagPatch,
        now: Timestamp,
    ) -> Result<Tag, StoreError> {
        let mut update = Statement::new(self.engine, "UPDATE tags SET updated_at = ");
        update.push_bind(now.0);
        let columns = [
            (", name = ", patch.name),
            (
                ", tag_type = ",
                patch.tag_type.map(|t| t.as_str().to_owned()),
            ),
            (", description = ", patch.description),
        ];
        update.push_present(columns);
        update
            .and(" WHERE account_id = ", account.0)
            .and(" AND id = ", id.0);
        if update
            .query()
            .execute(&self.writer)
            .written(self)
            .await?
            .rows_affected()
            == 0
        {
            return Err(StoreError::NotFound {
                model: Model::Tag,
                id: id.0,
            });
        }
        self.existing_tag(account, id).await
    }

    /// Deletes a tag and removes it from every contact.
    pub async fn delete_tag(&self, account: AccountId, id: TagId) -> Result<(), StoreError> {
        self.delete_owned("tags", Model::Tag, account, id.0).await
    }

    /// Puts a tag on a contact. Returns the row and whether it is new (a contact carries a tag
    /// once; adding it again returns the existing row).
    pub async fn add_contact_tag(
        &self,
        account: AccountId,
        contact: ContactId,
        tag: TagId,
        source: WebhookSource,
        now: Timestamp,
    ) -> Result<(ContactTag, bool), StoreError> {
        self.existing_contact(account, contact).await?;
        self.existing_tag(account, tag).await?;
        self.write(async |tx| {
            tag_contact(tx, self.engine, account, contact, tag, source, now).await
        })
        .await
    }

    /// Takes a tag off a contact, by the row's id, reporting it to the webhooks that hear of
    /// it.
    pub async fn remove_contact_tag(
        &self,
        account: AccountId,
        id: ContactTagId,
        source: WebhookSource,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(async |tx| {
            let removed = sqlx::query(
                "DELETE FROM contact_tags WHERE account_id = $1 AND id = $2 \
                 RETURNING contact_id, tag_id",
            )
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound {
                model: Model::ContactTag,
                id: id.0,
            })?;
            let contact = ContactId(removed.try_get("contact_id")?);
            let tag = TagId(removed.try_get("tag_id")?);
            let event = WebhookEvent::CONTACT_TAG_REMOVED;
            report_tag(tx, self.engine, (account, contact, tag), event, source, now).await
        })
        .await
    }

    /// Takes `tag` off `contact`, reporting it to the webhooks that hear of it. Returns whether
    /// the contact carried it.
    pub async fn untag_contact(
        &self,
        account: AccountId,
        contact: ContactId,
        tag: TagId,
        source: WebhookSource,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.write(async |tx| untag_in(tx, self.engine, (account, contact, tag), source, now).await)
            .await
    }

    /// For each contact carrying `tag`, how long after its latest event named `event` (as
    /// received) the tag was put on, in microseconds: how fast an automation reacted to the
    /// event (`tracklane bench` reads it). Contacts without such an event are left out.
    pub async fn tag_delays(
        &self,
        account: AccountId,
        tag: TagId,
        event: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let delays: Vec<Option<i64>> = sqlx::query_scalar(
            "SELECT ct.created_at - (SELECT MAX(e.received_at) FROM events e \
             WHERE e.contact_id = ct.contact_id AND e.name = $3 \
             AND e.received_at <= ct.created_at) FROM contact_tags ct \
             WHERE ct.account_id = $1 AND ct.tag_id = $2",
        )
        .bind(account.0)
        .bind(tag.0)
        .bind(event)
        .fetch_all(&self.reader)
        .await?;
        Ok(delays.into_iter().flatten().collect())
    }

    /// The tags a contact carries, oldest first.
    pub async fn contact_tags(
        &self,
        account: AccountId,
        contact: ContactId,
    ) -> Result<Vec<ContactTag>, StoreError> {
        self.existing_contact(account, contact).await?;
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {CONTACT_TAG_COLUMNS} FROM contact_tags WHERE account_id = "),
        );
        select
            .push_bind(account.0)
            .and(" AND contact_id = ", contact.0)
            .push(" ORDER BY id");
        all_of(&self.reader, &select, rows::contact_tag).await
    }
}

/// Puts a tag on a contact on `conn` (both known to be the account's); returns the row and
/// whether it is new.
pub(crate) async fn tag_contact(
    conn: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    contact: ContactId,
    tag: TagId,
    source: WebhookSource,
    now: Timestamp,
) -> Result<(ContactTag, bool), StoreError> {
    let inserted = sqlx::query(&format!(
        "INSERT INTO contact_tags (account_id, contact_id, tag_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (contact_id, tag_id) DO NOTHING \
         RETURNING {CONTACT_TAG_COLUMNS}"
    ))
    .bind(account.0)
    .bind(contact.0)
    .bind(tag.0)
    .bind(now.0)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = inserted {
        let event = WebhookEvent::CONTACT_TAG_ADDED;
        report_tag(conn, engine, (account, contact, tag), event, source, now).await?;
        return Ok((rows::contact_tag(&row)?, true));
    }
    let row = sqlx::query(&format!(
        "SELECT {CONTACT_TAG_COLUMNS} FROM contact_tags WHERE contact_id = $1 AND tag_id = $2"
    ))
    .bind(contact.0)
    .bind(tag.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok((rows::contact_tag(&row)?, false))
}

/// Puts each (account, contact, tag) of `tags` on, on `conn`, a chunk per statement, and
/// reports those the contacts did not carry yet as [`tag_contact`] does, in one record of
/// changes: what a batch of automation moves tags with.
pub(crate) async fn tag_many_in(
    conn: &mut AnyConnection,
    engine: Engine,
    tags: &[(AccountId, ContactId, TagId)],
    source: WebhookSource,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut added = Vec::new();
    for chunk in tags.chunks(200) {
        let mut insert = Statement::new(
            engine,
            "INSERT INTO contact_tags (account_id, contact_id, tag_id, created_at) VALUES ",
        );
        insert
            .push_rows(chunk.iter().map(|(account, contact, tag)| {
                [account.0, contact.0, tag.0, now.0].map(Value::from)
            }))
            .push(" ON CONFLICT (contact_id, tag_id) DO NOTHING RETURNING account_id, contact_id, tag_id");
        for row in insert.query().fetch_all(&mut *conn).await? {
            added.push((
                AccountId(row.try_get("account_id")?),
                ContactId(row.try_get("contact_id")?),
                TagId(row.try_get("tag_id")?),
            ));
        }
    }
    let mut names: BTreeMap<TagId, String> = BTreeMap::new();
    let mut changes = Vec::with_capacity(added.len());
    for (account, contact, tag) in added {
        if let std::collections::btree_map::Entry::Vacant(slot) = names.entry(tag) {
            let name: String = sqlx::query_scalar("SELECT name FROM tags WHERE id = $1")
                .bind(tag.0)
                .fetch_one(&mut *conn)
                .await?;
            slot.insert(name);
        }
        let change = Change::new(account, WebhookEvent::CONTACT_TAG_ADDED, source, now)
            .about(contact)
            .of(tag.0)
            .saying("tag", names[&tag].clone());
        changes.push(change);
    }
    record_changes(conn, engine, &changes).await
}

/// Takes `tag` off `contact` on `conn`, reporting it to the webhooks that hear of it. Returns
/// whether the contact carried it.
pub(crate) async fn untag_in(
    conn: &mut AnyConnection,
    engine: Engine,
    (account, contact, tag): (AccountId, ContactId, TagId),
    source: WebhookSource,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let removed = sqlx::query(
        "DELETE FROM contact_tags WHERE account_id = $1 AND contact_id = $2 AND tag_id = $3",
    )
    .bind(account.0)
    .bind(contact.0)
    .bind(tag.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if removed > 0 {
        let event = WebhookEvent::CONTACT_TAG_REMOVED;
        report_tag(conn, engine, (account, contact, tag), event, source, now).await?;
    }
    Ok(removed > 0)
}

/// Reports a tag put on or taken off a contact to the webhooks that hear of it (`tag`: the
/// tag's name as it is now).
async fn report_tag(
    conn: &mut AnyConnection,
    engine: Engine,
    (account, contact, tag): (AccountId, ContactId, TagId),
    event: WebhookEvent,
    source: WebhookSource,
    now: Timestamp,
) -> Result<(), StoreError> {
    let name: String = sqlx::query_scalar("SELECT name FROM tags WHERE id = $1")
        .bind(tag.0)
        .fetch_one(&mut *conn)
        .await?;
    let change = Change::new(account, event, source, now)
        .about(contact)
        .of(tag.0)
        .saying("tag", name);
    record_changes(conn, engine, &[change]).await
}
