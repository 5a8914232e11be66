//! What runs leave behind beyond their place: the goals they reached and the split paths they
//! took (`automation_marks`, which the report counts), and the contact's automation history
//! on its timeline (rows of kind `automation`, migration 0036), each written in the
//! transaction of what it records.

use sqlx::AnyConnection;
use tracklane_core::event::AUTOMATION_NAME;
use tracklane_core::ids::{AccountId, AutomationId, AutomationRunId, ContactId};
use tracklane_core::time::Timestamp;

use crate::sql::{Statement, Value};
use crate::{Engine, StoreError};

/// What a timeline row of a run says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Happened<'a> {
    /// The contact entered.
    Entered,
    /// The run reached this goal step.
    Goal(&'a str),
    /// The run went past the last step.
    Completed,
    /// The run left early: an `end` step, a link action, the API.
    Ended,
}

/// A run, as its history names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunOf {
    /// The account.
    pub account: AccountId,
    /// The automation.
    pub automation: AutomationId,
    /// The run.
    pub run: AutomationRunId,
    /// The contact.
    pub contact: ContactId,
}

/// Writes the timeline rows of what happened to runs, in one statement.
pub(crate) async fn note_history_in(
    tx: &mut AnyConnection,
    engine: Engine,
    rows: &[(RunOf, Happened<'_>)],
    now: Timestamp,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(200) {
        let mut insert = Statement::new(
            engine,
            "INSERT INTO events (account_id, kind, name, contact_id, data, occurred_at, \
             received_at) VALUES ",
        );
        insert.push_rows(chunk.iter().map(|(of, happened)| {
            let (what, step) = match happened {
                Happened::Entered => ("entered", None),
                Happened::Goal(step) => ("goal", Some(*step)),
                Happened::Completed => ("completed", None),
                Happened::Ended => ("ended", None),
            };
            let data = serde_json::json!({"automation": of.automation.0, "run": of.run.0,
                "what": what, "step": step});
            [
                Value::from(of.account.0),
                "automation".into(),
                AUTOMATION_NAME.into(),
                of.contact.0.into(),
                data.to_string().into(),
                now.0.into(),
                now.0.into(),
            ]
        }));
        insert.query().execute(&mut *tx).await?;
    }
    Ok(())
}

/// A goal reached (no path) or a split's path taken, by a run, at a step.
pub(crate) type Mark<'a> = (AutomationId, AutomationRunId, &'a str, Option<usize>);

/// Writes the marks, each with its run's entry time.
pub(crate) async fn mark_in(
    tx: &mut AnyConnection,
    engine: Engine,
    marks: &[Mark<'_>],
    now: Timestamp,
) -> Result<(), StoreError> {
    for chunk in marks.chunks(200) {
        let mut insert = Statement::new(
            engine,
            "WITH m (automation_id, run_id, step, path, at) AS (VALUES ",
        );
        insert
            .push_rows(chunk.iter().map(|&(automation, run, step, path)| {
                [
                    Value::from(automation.0),
                    run.0.into(),
                    step.into(),
                    path.map(|path| i64::try_from(path).unwrap_or(i64::MAX))
                        .into(),
                    now.0.into(),
                ]
            }))
            .push(
                ") INSERT INTO automation_marks (automation_id, run_id, step, path, entered_at, \
                 at) SELECT m.automation_id, m.run_id, m.step, m.path, r.entered_at, m.at \
                 FROM m JOIN automation_runs r ON r.id = m.run_id",
            );
        insert.query().execute(&mut *tx).await?;
    }
    Ok(())
}
