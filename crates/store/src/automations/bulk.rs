//! Entering a whole list's subscribers or a segment's members into an automation at once (as
//! ActiveCampaign's "add contacts to automation" does), in one statement: each enters as one
//! entered through the API would, the ones inside already (or entered before, for an
//! automation that takes each contact once) left as they are.

use sqlx::Row;
use tracklane_core::automation::saved::RunStatus;
use tracklane_core::automation::Entry;
use tracklane_core::ids::{AccountId, AutomationId, AutomationRunId, ContactId, ListId, SegmentId};
use tracklane_core::invalid::Invalid;
use tracklane_core::list::ListStatus;
use tracklane_core::time::Timestamp;

use super::history::{note_history_in, Happened, RunOf};
use super::runs::current_version;
use crate::sql::Statement;
use crate::{Store, StoreError};

/// Whose contacts enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    /// A list's active subscribers.
    List(ListId),
    /// A saved segment's members.
    Segment(SegmentId),
}

impl Store {
    /// Enters the `members` into `automation` (both the account's) at `now`; answers how many
    /// entered. The cause names the members and the instant, so a retried request within the
    /// same microsecond enters nobody twice.
    pub async fn enter_members(
        &self,
        account: AccountId,
        automation: AutomationId,
        members: Members,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let (from, cause) = match members {
            Members::List(list) => {
                self.existing_list(account, list).await?;
                (
                    format!(
                        "contact_lists m WHERE m.list_id = {} AND m.status = {}",
                        list.0,
                        ListStatus::Active.code()
                    ),
                    format!("list:{list}:{}", now.0),
                )
            }
            Members::Segment(segment) => {
                self.existing_segment(account, segment).await?;
                (
                    format!("segment_members m WHERE m.segment_id = {}", segment.0),
                    format!("segment:{segment}:{}", now.0),
                )
            }
        };
        self.write(async |tx| {
            let (active, version, definition) = current_version(tx, account, automation).await?;
            if !active {
                return Err(Invalid::bad_value("automation", "the automation is inactive").into());
            }
            let inside = match definition.entry() {
                Entry::Once => String::new(),
                Entry::Multiple => format!(" AND r.status = {}", RunStatus::Active.code()),
            };
            let mut insert = Statement::new(
                self.engine,
                "INSERT INTO automation_runs (account_id, automation_id, version, contact_id, \
                 cause, status, step, since_at, due_at, entered_at, updated_at, steps_total) \
                 SELECT ",
            );
            insert
                .push_bind(account.0)
                .and(", ", automation.0)
                .and(", ", version)
                .push(", m.contact_id")
                .and(", ", cause.as_str())
                .and(", ", RunStatus::Active.code())
                .and(", ", definition.steps()[0].id.as_str())
                .and(", ", now.0)
                .and(", ", now.0)
                .and(", ", now.0)
                .and(", ", now.0)
                .and(
                    ", ",
                    i64::try_from(definition.steps().len()).unwrap_or(i64::MAX),
                )
                .push(" FROM ")
                .push(&from)
                .push(&format!(
                    " AND NOT EXISTS (SELECT 1 FROM automation_runs r \
                     WHERE r.automation_id = {} AND r.contact_id = m.contact_id{inside}) \
                     ORDER BY m.contact_id ON CONFLICT DO NOTHING RETURNING id, contact_id",
                    automation.0
                ));
            let entered = insert.query().fetch_all(&mut *tx).await?;
            let mut history = Vec::with_capacity(entered.len());
            for row in &entered {
                let of = RunOf {
                    account,
                    automation,
                    run: AutomationRunId(row.try_get("id")?),
                    contact: ContactId(row.try_get("contact_id")?),
                };
                history.push((of, Happened::Entered));
            }
            note_history_in(tx, self.engine, &history, now).await?;
            let count = i64::try_from(entered.len()).unwrap_or(i64::MAX);
            sqlx::query("UPDATE automations SET entered = entered + $1 WHERE id = $2")
                .bind(count)
                .bind(automation.0)
                .execute(&mut *tx)
                .await?;
            Ok(entered.len() as u64)
        })
        .await
    }
}
