//! Lists and contacts' statuses on them. Subscribing and unsubscribing through the API, a link
//! or an email is reported to the webhooks that hear of it, in the same transaction.

use sqlx::AnyConnection;
use tracklane_core::ids::{AccountId, ContactId, ListId};
use tracklane_core::invalid::Invalid;
use tracklane_core::list::{ContactList, List, ListDraft, ListPatch, ListStatus};
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::{WebhookEvent, WebhookSource};

use crate::listing::{all_of, owned_row, page_of, Listed};
use crate::messages::CampaignUse;
use crate::rows::{self, CONTACT_LIST_COLUMNS, LIST_COLUMNS};
use crate::sql::{Direction, Statement, TextFilter};
use crate::webhooks::changes::{record_changes, Change};
use crate::writes::Written;
use crate::{Model, Store, StoreError};

/// Which lists to list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// A condition on the list's name (AC's `filters[name]` / `filters[name][op]`).
    pub name: Option<TextFilter>,
    /// Sort by name in this direction; by id when `None`.
    pub order_by_name: Option<Direction>,
}

impl Store {
    /// Creates a list from a validated draft.
    pub async fn create_list(
        &self,
        account: AccountId,
        draft: ListDraft,
        now: Timestamp,
    ) -> Result<List, StoreError> {
        self.write(async |tx| {
            let row = sqlx::query(&format!(
                "INSERT INTO lists \
                 (account_id, name, stringid, sender_url, sender_reminder, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {LIST_COLUMNS}"
            ))
            .bind(account.0)
            .bind(draft.name)
            .bind(draft.stringid)
            .bind(draft.sender_url)
            .bind(draft.sender_reminder)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await?;
            let list = rows::list(&row)?;
            let change = Change::new(account, WebhookEvent::LIST_ADD, WebhookSource::Api, now)
                .of_list(Some(list.id))
                .saying("list[name]", list.name.clone());
            record_changes(tx, self.engine, &[change]).await?;
            Ok(list)
        })
        .await
    }

    /// The list with this id, or [`StoreError::NotFound`].
    pub async fn existing_list(&self, account: AccountId, id: ListId) -> Result<List, StoreError> {
        let key = (Model::List, account, id.0);
        owned_row(&self.reader, "lists", LIST_COLUMNS, key, rows::list).await
    }

    /// One page of the lists matching `query`.
    pub async fn lists(
        &self,
        account: AccountId,
        query: &ListQuery,
        page: Page,
    ) -> Result<Listed<List>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM lists WHERE account_id = ");
        filter.push_bind(account.0);
        if let Some(name) = &query.name {
            filter.and_text(self.engine, "name", name);
        }
        let order = match query.order_by_name {
            Some(direction) => format!("name{}, id ASC", direction.sql()),
            None => "id ASC".to_owned(),
        };
        page_of(
            &self.reader,
            LIST_COLUMNS,
            &filter,
            &order,
            page,
            rows::list,
        )
        .await
    }

    /// Changes the attributes present in `patch`.
    pub async fn update_list(
        &self,
        account: AccountId,
        id: ListId,
        patch: ListPatch,
        now: Timestamp,
    ) -> Result<List, StoreError> {
        let mut update = Statement::new(self.engine, "UPDATE lists SET updated_at = ");
        update.push_bind(now.0);
        let columns = [
            (", name = ", patch.name),
            (", stringid = ", patch.stringid),
            (", sender_url = ", patch.sender_url),
            (", sender_reminder = ", patch.sender_reminder),
        ];
        update.push_present(columns);
        update
            .and(" WHERE account_id = ", account.0)
            .and(" AND id = ", id.0)
            .push(" RETURNING ")
            .push(LIST_COLUMNS);
        let row = update
            .query()
            .fetch_optional(&self.writer)
            .written(self)
            .await?;
        row.as_ref()
            .map(rows::list)
            .transpose()?
            .ok_or(StoreError::NotFound {
                model: Model::List,
                id: id.0,
            })
    }

    /// Deletes a list and every membership of it; refused while a campaign sends to it.
    pub async fn delete_list(&self, account: AccountId, id: ListId) -> Result<(), StoreError> {
        self.refuse_if_a_campaign_uses(
            account,
            CampaignUse::List(id),
            Invalid::bad_value("list", "a campaign sends to this list"),
        )
        .await?;
        self.delete_owned("lists", Model::List, account, id.0).await
    }

    /// Subscribes or unsubscribes a contact: creates the membership or changes its status. A
    /// subscription or an unsubscription is reported to the webhooks that hear of it as caused
    /// by `reported` (`None`: not reported, as for imports).
    #[allow(clippy::too_many_arguments)]
    pub async fn set_list_status(
        &self,
        account: AccountId,
        contact: ContactId,
        list: ListId,
        status: ListStatus,
        source_id: i64,
        reported: Option<WebhookSource>,
        now: Timestamp,
    ) -> Result<ContactList, StoreError> {
        self.existing_contact(account, contact).await?;
        self.existing_list(account, list).await?;
        let membership = Membership {
            contact,
            list,
            status,
            source_id,
        };
        self.write(async |tx| {
            set_list_status_in(tx, self.engine, account, membership, reported, now).await
        })
        .await
    }

    /// Unsubscribes a contact from every list it is subscribed to, as the unsubscribe link of
    /// a campaign to a segment alone does (reported to webhooks as the contact's doing);
    /// answers those lists, in the order of their ids.
    pub async fn unsubscribe_from_every_list(
        &self,
        account: AccountId,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<Vec<ListId>, StoreError> {
        self.write(async |tx| {
            let mut lists: Vec<i64> = sqlx::query_scalar(
                "UPDATE contact_lists SET status = $1, unsubscribed_at = $2, updated_at = $2 \
                 WHERE account_id = $3 AND contact_id = $4 AND status = $5 RETURNING list_id",
            )
            .bind(ListStatus::Unsubscribed.code())
            .bind(now.0)
            .bind(account.0)
            .bind(contact.0)
            .bind(ListStatus::Active.code())
            .fetch_all(&mut *tx)
            .await?;
            lists.sort_unstable();
            let changes: Vec<Change> = lists
                .iter()
                .map(|&list| {
                    Change::new(
                        account,
                        WebhookEvent::UNSUBSCRIBE,
                        WebhookSource::Public,
                        now,
                    )
                    .about(contact)
                    .of_list(Some(ListId(list)))
                })
                .collect();
            record_changes(tx, self.engine, &changes).await?;
            Ok(lists.into_iter().map(ListId).collect())
        })
        .await
    }

    /// A contact's list memberships, oldest first.
    pub async fn contact_lists(
        &self,
        account: AccountId,
        contact: ContactId,
    ) -> Result<Vec<ContactList>, StoreError> {
        self.existing_contact(account, contact).await?;
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {CONTACT_LIST_COLUMNS} FROM contact_lists WHERE account_id = "),
        );
        select
            .push_bind(account.0)
            .and(" AND contact_id = ", contact.0)
            .push(" ORDER BY id");
        all_of(&self.reader, &select, rows::contact_list).await
    }
}

/// One contact's status on one list, as written.
pub(crate) struct Membership {
    /// The contact.
    pub contact: ContactId,
    /// The list.
    pub list: ListId,
    /// The status to set.
    pub status: ListStatus,
    /// AC's `sourceid`.
    pub source_id: i64,
}

impl Membership {
    /// A subscription (status 1) of `contact` to `list` that no API call made (source 0): an
    /// import's, a form's.
    pub(crate) fn subscribed(contact: ContactId, list: ListId) -> Self {
        Self {
            contact,
            list,
            status: ListStatus::Active,
            source_id: 0,
        }
    }
}

/// Subscribes or unsubscribes a contact on `conn` (contact and list known to be the
/// account's), reporting a change of its status as [`Store::set_list_status`] does.
pub(crate) async fn set_list_status_in(
    tx: &mut AnyConnection,
    engine: crate::Engine,
    account: AccountId,
    membership: Membership,
    reported: Option<WebhookSource>,
    now: Timestamp,
) -> Result<ContactList, StoreError> {
    let (contact, list, status) = (membership.contact, membership.list, membership.status);
    let event = match status {
        ListStatus::Active => Some(WebhookEvent::SUBSCRIBE),
        ListStatus::Unsubscribed => Some(WebhookEvent::UNSUBSCRIBE),
        _ => None,
    };
    // The status before, read only when a change of it is to be reported.
    let before: Option<i64> = match (reported, event) {
        (Some(_), Some(_)) => {
            sqlx::query_scalar(
                "SELECT status FROM contact_lists WHERE contact_id = $1 AND list_id = $2",
            )
            .bind(contact.0)
            .bind(list.0)
            .fetch_optional(&mut *tx)
            .await?
        }
        _ => None,
    };
    let written = write_list_status(tx, account, membership, now).await?;
    let changed = before.map(ListStatus::from_code) != Some(status);
    if let (Some(source), Some(event), true) = (reported, event, changed) {
        let change = Change::new(account, event, source, now)
            .about(contact)
            .of_list(Some(list));
        record_changes(tx, engine, &[change]).await?;
    }
    Ok(written)
}

/// Creates the membership or changes its status on `conn` (contact and list known to be the
/// account's).
pub(crate) async fn write_list_status(
    conn: &mut AnyConnection,
    account: AccountId,
    membership: Membership,
    now: Timestamp,
) -> Result<ContactList, StoreError> {
    let (subscribed_at, unsubscribed_at) = match membership.status {
        ListStatus::Unsubscribed => (None, Some(now.0)),
        _ => (Some(now.0), None),
    };
    let row = sqlx::query(&format!(
        "INSERT INTO contact_lists (account_id, contact_id, list_id, status, source_id, \
         subscribed_at, unsubscribed_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (contact_id, list_id) DO UPDATE SET status = excluded.status, \
         source_id = excluded.source_id, \
         subscribed_at = COALESCE(excluded.subscribed_at, contact_lists.subscribed_at), \
         unsubscribed_at = COALESCE(excluded.unsubscribed_at, contact_lists.unsubscribed_at), \
         updated_at = excluded.updated_at \
         RETURNING {CONTACT_LIST_COLUMNS}"
    ))
    .bind(account.0)
    .bind(membership.contact.0)
    .bind(membership.list.0)
    .bind(membership.status.code())
    .bind(membership.source_id)
    .bind(subscribed_at)
    .bind(unsubscribed_at)
    .bind(now.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok(rows::contact_list(&row)?)
}
