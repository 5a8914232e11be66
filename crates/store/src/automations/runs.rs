//! Runs: contacts entering automations, and reading, listing and removing their runs. The
//! worker's side (claiming due runs and moving them) is in `moves`.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tracklane_core::automation::saved::{Run, RunStatus};
use tracklane_core::automation::{Definition, Entry};
use tracklane_core::ids::{AccountId, AutomationId, AutomationRunId, ContactId};
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;

use super::history::{note_history_in, Happened, RunOf};
use crate::listing::{all_of, owned_row, page_of, Listed};
use crate::sql::Statement;
use crate::{Engine, Model, Store, StoreError};

/// The columns [`run`] reads.
pub(super) const RUN_COLUMNS: &str = "id, automation_id, version, contact_id, cause, status, \
     step, since_at, due_at, steps_done, steps_total, entered_at, updated_at, ended_at, last_error";

/// A stored run row.
pub(super) fn run(row: &AnyRow) -> Result<Run, sqlx::Error> {
    Ok(Run {
        id: AutomationRunId(row.try_get("id")?),
        automation: AutomationId(row.try_get("automation_id")?),
        version: row.try_get("version")?,
        contact: ContactId(row.try_get("contact_id")?),
        cause: row.try_get("cause")?,
        status: RunStatus::from_code(row.try_get("status")?),
        step: row.try_get("step")?,
        since_at: Timestamp(row.try_get("since_at")?),
        due_at: row.try_get::<Option<i64>, _>("due_at")?.map(Timestamp),
        steps_done: row.try_get("steps_done")?,
        steps_total: row.try_get("steps_total")?,
        entered_at: Timestamp(row.try_get("entered_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(Timestamp),
        last_error: row.try_get("last_error")?,
    })
}

/// Why a contact did not enter an automation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEntered {
    /// The automation is inactive.
    Inactive,
    /// The contact is inside it already.
    Inside,
    /// The automation takes each contact once, and this one entered before.
    Entered,
    /// The same cause entered the contact before.
    Repeated,
}

impl NotEntered {
    /// The reason, in a few words.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Inactive => "the automation is inactive",
            Self::Inside => "the contact is in the automation already",
            Self::Entered => "the automation takes each contact once, and this one entered before",
            Self::Repeated => "this cause entered the contact before",
        }
    }
}

/// Which runs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunQuery {
    /// Of this automation (AC's `filters[seriesid]`).
    pub automation: Option<AutomationId>,
    /// Of this contact (AC's `filters[subscriberid]`).
    pub contact: Option<ContactId>,
    /// In this status (AC's `filters[status]`).
    pub status: Option<RunStatus>,
}

impl Store {
    /// Enters `contact` into `automation` (both the account's) for `cause`, at its first step
    /// of the current version; answers the run, or why the contact did not enter.
    pub async fn enter_automation(
        &self,
        account: AccountId,
        automation: AutomationId,
        contact: ContactId,
        cause: &str,
        now: Timestamp,
    ) -> Result<Result<Run, NotEntered>, StoreError> {
        self.existing_contact(account, contact).await?;
        let entered = self
            .write(async |tx| {
                enter_in(tx, self.engine, account, automation, contact, cause, now).await
            })
            .await?;
        match entered {
            Ok(id) => Ok(Ok(self.existing_run(account, id).await?)),
            Err(refusal) => Ok(Err(refusal)),
        }
    }

    /// The run with this id, or [`StoreError::NotFound`].
    pub async fn existing_run(
        &self,
        account: AccountId,
        id: AutomationRunId,
    ) -> Result<Run, StoreError> {
        let key = (Model::AutomationRun, account, id.0);
        owned_row(&self.reader, "automation_runs", RUN_COLUMNS, key, run).await
    }

    /// One page of the account's runs that `query` picks, oldest first.
    pub async fn runs(
        &self,
        account: AccountId,
        query: &RunQuery,
        page: Page,
    ) -> Result<Listed<Run>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM automation_runs WHERE account_id = ");
        filter.push_bind(account.0);
        if let Some(automation) = query.automation {
            filter.and(" AND automation_id = ", automation.0);
        }
        if let Some(contact) = query.contact {
            filter.and(" AND contact_id = ", contact.0);
        }
        if let Some(status) = query.status {
            filter.and(" AND status = ", status.code());
        }
        page_of(&self.reader, RUN_COLUMNS, &filter, "id ASC", page, run).await
    }

    /// Every run of a contact, newest first.
    pub async fn contact_runs(
        &self,
        account: AccountId,
        contact: ContactId,
    ) -> Result<Vec<Run>, StoreError> {
        self.existing_contact(account, contact).await?;
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {RUN_COLUMNS} FROM automation_runs WHERE account_id = "),
        );
        select
            .push_bind(account.0)
            .and(" AND contact_id = ", contact.0)
            .push(" ORDER BY id DESC");
        all_of(&self.reader, &select, run).await
    }

    /// Ends the contact's run in the automation early, if it is inside; answers whether it
    /// was.
    pub async fn end_automation_for(
        &self,
        account: AccountId,
        automation: AutomationId,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let inside: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM automation_runs WHERE account_id = $1 AND automation_id = $2 \
             AND contact_id = $3 AND status = $4",
        )
        .bind(account.0)
        .bind(automation.0)
        .bind(contact.0)
        .bind(RunStatus::Active.code())
        .fetch_optional(&self.reader)
        .await?;
        let Some(id) = inside else {
            return Ok(false);
        };
        self.remove_run(account, AutomationRunId(id), now).await?;
        Ok(true)
    }

    /// Ends a run early (AC's "remove contact from automation"); a run that left already
    /// stays as it was.
    pub async fn remove_run(
        &self,
        account: AccountId,
        id: AutomationRunId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let run = self.existing_run(account, id).await?;
        if run.status != RunStatus::Active {
            return Ok(());
        }
        self.write(async |tx| {
            let ended = sqlx::query(
                "UPDATE automation_runs SET status = $1, due_at = NULL, ended_at = $2, \
                 updated_at = $2, epoch = epoch + 1 WHERE id = $3 AND status = $4",
            )
            .bind(RunStatus::Ended.code())
            .bind(now.0)
            .bind(id.0)
            .bind(RunStatus::Active.code())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if ended > 0 {
                sqlx::query("UPDATE automations SET exited = exited + 1 WHERE id = $1")
                    .bind(run.automation.0)
                    .execute(&mut *tx)
                    .await?;
                let of = RunOf {
                    account,
                    automation: run.automation,
                    run: id,
                    contact: run.contact,
                };
                note_history_in(tx, self.engine, &[(of, Happened::Ended)], now).await?;
            }
            Ok(())
        })
        .await
    }
}

/// The automation's (the account's) status and current version with its definition, read on
/// `tx`.
pub(super) async fn current_version(
    tx: &mut AnyConnection,
    account: AccountId,
    automation: AutomationId,
) -> Result<(bool, i64, Definition), StoreError> {
    let current = sqlx::query(
        "SELECT a.active, a.version, v.definition FROM automations a \
         JOIN automation_versions v ON v.automation_id = a.id AND v.version = a.version \
         WHERE a.account_id = $1 AND a.id = $2",
    )
    .bind(account.0)
    .bind(automation.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound {
        model: Model::Automation,
        id: automation.0,
    })?;
    let definition = super::saved::stored_definition(&current.try_get::<String, _>("definition")?)?;
    Ok((
        current.try_get::<i64, _>("active")? == 1,
        current.try_get("version")?,
        definition,
    ))
}

/// Enters the contact on `tx` (both rows the account's, or nothing is entered): a run at the
/// current version's first step, due at once, and the automation's entries counted.
pub(crate) async fn enter_in(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    automation: AutomationId,
    contact: ContactId,
    cause: &str,
    now: Timestamp,
) -> Result<Result<AutomationRunId, NotEntered>, StoreError> {
    let (active, version, definition) = current_version(tx, account, automation).await?;
    if !active {
        return Ok(Err(NotEntered::Inactive));
    }
    let once = definition.entry() == Entry::Once;
    let before: Vec<(i64, String)> = sqlx::query_as(
        "SELECT status, cause FROM automation_runs WHERE automation_id = $1 AND contact_id = $2",
    )
    .bind(automation.0)
    .bind(contact.0)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(refusal) = before.iter().find_map(|(status, earlier)| {
        if *status == RunStatus::Active.code() {
            Some(NotEntered::Inside)
        } else if earlier == cause {
            Some(NotEntered::Repeated)
        } else if once {
            Some(NotEntered::Entered)
        } else {
            None
        }
    }) {
        return Ok(Err(refusal));
    }
    let first = &definition.steps()[0].id;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO automation_runs (account_id, automation_id, version, contact_id, cause, \
         status, step, since_at, due_at, entered_at, updated_at, steps_total) \
         SELECT $1, $2, $3, id, $4, $5, $6, $7, $7, $7, $7, $9 FROM contacts \
         WHERE account_id = $1 AND id = $8 ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(account.0)
    .bind(automation.0)
    .bind(version)
    .bind(cause)
    .bind(RunStatus::Active.code())
    .bind(first.as_str())
    .bind(now.0)
    .bind(contact.0)
    .bind(i64::try_from(definition.steps().len()).unwrap_or(i64::MAX))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        // Another transaction entered it meanwhile (the unique keys held).
        return Ok(Err(NotEntered::Inside));
    };
    sqlx::query("UPDATE automations SET entered = entered + 1 WHERE id = $1")
        .bind(automation.0)
        .execute(&mut *tx)
        .await?;
    let of = RunOf {
        account,
        automation,
        run: AutomationRunId(id),
        contact,
    };
    note_history_in(tx, engine, &[(of, Happened::Entered)], now).await?;
    Ok(Ok(AutomationRunId(id)))
}

/// How an automation's runs stand: what its report says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunCounts {
    /// Runs that entered (64-bit, kept when contacts are deleted).
    pub entered: i64,
    /// Runs in progress now.
    pub active: i64,
    /// Runs that went past the last step.
    pub completed: i64,
    /// Runs that left otherwise (an `end` step, removed).
    pub exited_early: i64,
    /// Per step id: the runs in progress at it now, and the runs that passed it.
    pub steps: BTreeMap<String, (i64, i64)>,
    /// Per goal step id: the runs that reached it.
    pub goals: BTreeMap<String, GoalCounts>,
    /// Per A/B split step id and path index: the runs that took the path.
    pub paths: BTreeMap<(String, i64), PathCounts>,
}

/// The runs that reached a goal.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GoalCounts {
    /// How many.
    pub reached: i64,
    /// Their mean time from entry to the goal, in seconds.
    pub mean_seconds: f64,
}

/// The runs that took a path of an A/B split, and where they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathCounts {
    /// Runs that took it.
    pub entered: i64,
    /// Of those, runs in progress.
    pub active: i64,
    /// Runs that went past the last step.
    pub completed: i64,
    /// Runs that left otherwise.
    pub exited_early: i64,
    /// Runs that reached a goal after taking it.
    pub reached_goal: i64,
}

impl Store {
    /// The counts of an automation's runs, overall and per step.
    pub async fn automation_counts(
        &self,
        account: AccountId,
        id: AutomationId,
    ) -> Result<RunCounts, StoreError> {
        let automation = self.existing_automation(account, id).await?;
        let completed: i64 = sqlx::query_scalar("SELECT completed FROM automations WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.reader)
            .await?;
        let mut counts = RunCounts {
            entered: automation.entered,
            completed,
            exited_early: automation.exited - completed,
            ..RunCounts::default()
        };
        let waiting: Vec<(String, i64)> = sqlx::query_as(
            "SELECT step, COUNT(*) FROM automation_runs WHERE automation_id = $1 \
             AND status = $2 GROUP BY step",
        )
        .bind(id.0)
        .bind(RunStatus::Active.code())
        .fetch_all(&self.reader)
        .await?;
        for (step, count) in waiting {
            counts.active += count;
            counts.steps.entry(step).or_default().0 = count;
        }
        let passed: Vec<(String, i64)> = sqlx::query_as(
            "SELECT step, passed FROM automation_step_counts WHERE automation_id = $1",
        )
        .bind(id.0)
        .fetch_all(&self.reader)
        .await?;
        for (step, count) in passed {
            counts.steps.entry(step).or_default().1 = count;
        }
        self.count_marks(id, &mut counts).await?;
        Ok(counts)
    }

    /// Counts the goals reached and the split paths taken (see `history`).
    async fn count_marks(
        &self,
        id: AutomationId,
        counts: &mut RunCounts,
    ) -> Result<(), StoreError> {
        let goals: Vec<(String, i64, f64)> = sqlx::query_as(
            "SELECT step, COUNT(DISTINCT run_id), \
             CAST(AVG(at - entered_at) AS DOUBLE PRECISION) / 1000000.0 \
             FROM automation_marks WHERE automation_id = $1 AND path IS NULL GROUP BY step",
        )
        .bind(id.0)
        .fetch_all(&self.reader)
        .await?;
        for (step, reached, mean_seconds) in goals {
            counts.goals.insert(
                step,
                GoalCounts {
                    reached,
                    mean_seconds,
                },
            );
        }
        let paths: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT m.step, m.path, r.status, COUNT(*) FROM automation_marks m \
             JOIN automation_runs r ON r.id = m.run_id \
             WHERE m.automation_id = $1 AND m.path IS NOT NULL GROUP BY m.step, m.path, r.status",
        )
        .bind(id.0)
        .fetch_all(&self.reader)
        .await?;
        for (step, path, status, count) in paths {
            let of_path = counts.paths.entry((step, path)).or_default();
            of_path.entered += count;
            match RunStatus::from_code(status) {
                RunStatus::Active => of_path.active += count,
                RunStatus::Completed => of_path.completed += count,
                RunStatus::Ended => of_path.exited_early += count,
            }
        }
        let reached: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT m.step, m.path, COUNT(DISTINCT g.run_id) FROM automation_marks m \
             JOIN automation_marks g ON g.run_id = m.run_id AND g.path IS NULL AND g.at >= m.at \
             WHERE m.automation_id = $1 AND m.path IS NOT NULL GROUP BY m.step, m.path",
        )
        .bind(id.0)
        .fetch_all(&self.reader)
        .await?;
        for (step, path, count) in reached {
            counts.paths.entry((step, path)).or_default().reached_goal = count;
        }
        Ok(())
    }
}
