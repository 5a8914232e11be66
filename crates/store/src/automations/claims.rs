//! The runner's reads and claims: taking the due runs under a lease, and answering the
//! questions their steps ask (a version's definition, which contacts meet a condition).

use std::collections::BTreeSet;

use sqlx::Row;
use tracklane_core::automation::Definition;
use tracklane_core::ids::{AccountId, AutomationId, AutomationRunId, ContactId};
use tracklane_core::segment;
use tracklane_core::time::Timestamp;

use super::saved::stored_definition;
use crate::sql::{Statement, Value};
use crate::{Store, StoreError};

/// How many contacts one statement asks about.
const CHUNK: usize = 500;

/// A run the worker took, under the lease of `epoch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The run.
    pub run: AutomationRunId,
    /// The claim's epoch: the move commits only while the run still has it.
    pub epoch: i64,
    /// The account.
    pub account: AccountId,
    /// The automation.
    pub automation: AutomationId,
    /// The definition's version it goes through.
    pub version: i64,
    /// The contact.
    pub contact: ContactId,
    /// The step it is at.
    pub step: String,
    /// When it arrived there.
    pub since: Timestamp,
}

impl Store {
    /// Takes up to `limit` runs due at `now` that no live lease holds, under a lease until
    /// `lease_until`, earliest due first.
    pub async fn claim_runs(
        &self,
        now: Timestamp,
        limit: i64,
        lease_until: Timestamp,
    ) -> Result<Vec<Claimed>, StoreError> {
        // Read first: with nothing due, no write transaction (one after every commit would
        // cost the writer and tell the health that writes work while requests' fail).
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM automation_runs WHERE status = 1 AND due_at <= $1 \
             AND lease_until <= $1 LIMIT 1",
        )
        .bind(now.0)
        .fetch_optional(&self.reader)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        // Not a background write that gives way to requests: a run's first step is due within a
        // second of its entry, however busy the writer.
        let rows = self
            .write(async |tx| {
                let mut claim =
                    Statement::new(self.engine, "UPDATE automation_runs SET lease_until = ");
                claim
                    .push_bind(lease_until.0)
                    .push(
                        ", epoch = epoch + 1 WHERE id IN (SELECT id FROM automation_runs \
                         WHERE status = 1 AND due_at <= ",
                    )
                    .push_bind(now.0)
                    .and(" AND lease_until <= ", now.0)
                    .push(" ORDER BY due_at LIMIT ")
                    .push_bind(limit)
                    .push(self.engine.skip_locked())
                    .push(
                        ") RETURNING id, epoch, account_id, automation_id, version, contact_id, \
                         step, since_at",
                    );
                Ok(claim.query().fetch_all(&mut *tx).await?)
            })
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Claimed {
                    run: AutomationRunId(row.try_get("id")?),
                    epoch: row.try_get("epoch")?,
                    account: AccountId(row.try_get("account_id")?),
                    automation: AutomationId(row.try_get("automation_id")?),
                    version: row.try_get("version")?,
                    contact: ContactId(row.try_get("contact_id")?),
                    step: row.try_get("step")?,
                    since: Timestamp(row.try_get("since_at")?),
                })
            })
            .collect()
    }

    /// How many runs in progress are due at `now`, claimed or not.
    pub async fn runs_due(&self, now: Timestamp) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM automation_runs WHERE status = 1 AND due_at <= $1",
        )
        .bind(now.0)
        .fetch_one(&self.reader)
        .await?)
    }

    /// When the next run in progress is due, if any.
    pub async fn next_run_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let due: Option<i64> =
            sqlx::query_scalar("SELECT MIN(due_at) FROM automation_runs WHERE status = 1")
                .fetch_one(&self.reader)
                .await?;
        Ok(due.map(Timestamp))
    }

    /// The definition of an automation's version (versions never change).
    pub async fn automation_version(
        &self,
        automation: AutomationId,
        version: i64,
    ) -> Result<Definition, StoreError> {
        let text: String = sqlx::query_scalar(
            "SELECT definition FROM automation_versions WHERE automation_id = $1 AND version = $2",
        )
        .bind(automation.0)
        .bind(version)
        .fetch_one(&self.reader)
        .await?;
        Ok(stored_definition(&text)?)
    }

    /// Which of `contacts` (the account's) meet `condition` at `now`.
    pub async fn contacts_meeting(
        &self,
        account: AccountId,
        condition: &segment::Definition,
        contacts: &[ContactId],
        now: Timestamp,
    ) -> Result<BTreeSet<ContactId>, StoreError> {
        let filter = self.segment_filter(account, condition, now)?;
        let mut found = BTreeSet::new();
        for chunk in contacts.chunks(CHUNK) {
            let mut select = Statement::with_head("SELECT c.id", &filter);
            select
                .push(" AND c.id IN ")
                .push_row(chunk.iter().map(|contact| Value::from(contact.0)));
            for row in select.query().fetch_all(&self.reader).await? {
                found.insert(ContactId(row.try_get(0)?));
            }
        }
        Ok(found)
    }
}
