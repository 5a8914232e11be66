//! Syncing many contacts at once (`tracklane import contacts`): one transaction, a savepoint
//! per row, and the list subscription that never undoes an unsubscribe or a bounce.

use sqlx::{AnyConnection, Connection};
use tracklane_core::contact::ContactDraft;
use tracklane_core::ids::{AccountId, ContactId, ListId};
use tracklane_core::list::ListStatus;
use tracklane_core::time::Timestamp;

use crate::contacts::sync_in;
use crate::lists::{write_list_status, Membership};
use crate::{Engine, Store, StoreError};

impl Store {
    /// Syncs many contacts in one transaction, each row all or nothing (a savepoint per row):
    /// a row the store refuses is reported and the others are written. With a `list`, each
    /// synced contact is also subscribed to it (status 1) in its row's savepoint, unless they
    /// unsubscribed from it or bounced: what a person chose is never undone by an import (see
    /// [`Synced::opted_out`]). Fails as a whole only when the database fails, or when `list`
    /// is not the account's.
    pub async fn sync_contacts(
        &self,
        account: AccountId,
        drafts: &[ContactDraft],
        list: Option<ListId>,
        now: Timestamp,
    ) -> Result<Vec<Result<Synced, StoreError>>, StoreError> {
        if let Some(list) = list {
            self.existing_list(account, list).await?;
        }
        self.write(async |tx| {
            let mut outcomes = Vec::with_capacity(drafts.len());
            for draft in drafts {
                let mut row = tx.begin().await?;
                match sync_row(self.engine, &mut row, account, draft, list, now).await {
                    Ok(contact) => {
                        row.commit().await?;
                        outcomes.push(Ok(contact));
                    }
                    Err(refused @ (StoreError::Invalid(_) | StoreError::NotFound { .. })) => {
                        row.rollback().await?;
                        outcomes.push(Err(refused));
                    }
                    Err(failed) => return Err(failed),
                }
            }
            Ok(outcomes)
        })
        .await
    }
}

/// A contact [`Store::sync_contacts`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    /// The contact.
    pub contact: ContactId,
    /// The contact's status on the list, when it was left as it was because the person
    /// unsubscribed or bounced.
    pub opted_out: Option<ListStatus>,
}

/// One row of [`Store::sync_contacts`]: the contact synced, then subscribed to `list` unless
/// they left it.
async fn sync_row(
    engine: Engine,
    conn: &mut AnyConnection,
    account: AccountId,
    draft: &ContactDraft,
    list: Option<ListId>,
    now: Timestamp,
) -> Result<Synced, StoreError> {
    let (contact, _, _) = sync_in(engine, conn, account, draft, now).await?;
    let mut synced = Synced {
        contact: contact.id,
        opted_out: None,
    };
    if let Some(list) = list {
        let status: Option<i64> = sqlx::query_scalar(
            "SELECT status FROM contact_lists WHERE contact_id = $1 AND list_id = $2",
        )
        .bind(contact.id.0)
        .bind(list.0)
        .fetch_optional(&mut *conn)
        .await?;
        synced.opted_out = status
            .map(ListStatus::from_code)
            .filter(|status| matches!(status, ListStatus::Unsubscribed | ListStatus::Bounced));
        if synced.opted_out.is_none() {
            let membership = Membership::subscribed(contact.id, list);
            write_list_status(conn, account, membership, now).await?;
        }
    }
    Ok(synced)
}
