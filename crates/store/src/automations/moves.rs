//! The worker's side of runs after their walk (claimed in [`super::claims`]): moving each with
//! its effects (tags, lists, fields, scores, other automations entered) in one transaction that
//! a stale claim cannot commit.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};
use tracklane_core::automation::saved::RunStatus;
use tracklane_core::automation::walk::Effect;
use tracklane_core::ids::{AutomationId, AutomationRunId, ContactId};
use tracklane_core::time::Timestamp;

use super::claims::Claimed;
use super::effects::{run_note, Shared};
use super::history::{mark_in, note_history_in, Happened, Mark, RunOf};
use crate::scoring::holds::{hold_scores, Hold};
use crate::sql::{Statement, Value};
use crate::{Engine, Store, StoreError};

/// Wakes the runs of `contacts` that wait on their changes (see [`Destination::At`]): due at
/// `now`, so that the runner asks their conditions again. A run claimed meanwhile loses its
/// claim (its epoch moves on, its lease ends): its walk read the conditions before the change,
/// so it is walked again. Called by the membership round that checks the contacts after a
/// change, which holds their checks: runs are locked after checks, in contact order, as moves
/// lock them.
pub(crate) async fn wake_watching(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[ContactId],
    now: Timestamp,
) -> Result<(), StoreError> {
    for chunk in contacts.chunks(CHUNK) {
        let mut wake = Statement::new(engine, "UPDATE automation_runs SET due_at = ");
        wake.push_bind(now.0)
            .push(
                ", lease_until = 0, epoch = epoch + 1 WHERE id IN (SELECT id FROM \
                 automation_runs WHERE status = 1 AND watching = 1 AND contact_id IN ",
            )
            .push_row(chunk.iter().map(|contact| Value::from(contact.0)))
            .push(" ORDER BY contact_id, id")
            .push(engine.lock_for_update())
            .push(")");
        wake.query().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Holds the scores of the moves' contacts, then locks their checks, each in contact order,
/// before their runs (PostgreSQL; SQLite has one writer): a membership round holds scores and
/// checks and then wakes runs, so a move takes them in the same order.
async fn lock_checks(
    tx: &mut AnyConnection,
    engine: Engine,
    moves: &[&Move],
) -> Result<(), StoreError> {
    if engine == Engine::Sqlite {
        return Ok(());
    }
    let contacts: BTreeSet<ContactId> = moves.iter().map(|one| one.claimed.contact).collect();
    let contacts: Vec<ContactId> = contacts.into_iter().collect();
    hold_scores(tx, engine, &contacts, Hold::Wait).await?;
    for chunk in contacts.chunks(CHUNK) {
        let mut lock = Statement::new(
            engine,
            "SELECT contact_id FROM segment_checks WHERE contact_id IN ",
        );
        lock.push_row(chunk.iter().map(|contact| Value::from(contact.0)))
            .push(" ORDER BY contact_id")
            .push(engine.lock_for_change());
        lock.query().fetch_all(&mut *tx).await?;
    }
    Ok(())
}

/// How many runs one statement confirms.
const CHUNK: usize = 500;

/// Where a move leaves a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// At a step, arrived at `since`, taken again at `due` (or when its contact changes).
    At {
        /// The step's id.
        step: String,
        /// When it arrived there.
        since: Timestamp,
        /// When to take it again; none while it waits for its contact to change.
        due: Option<Timestamp>,
        /// Whether its contact's changes wake it (it waits for a condition, or a goal is
        /// ahead).
        watching: bool,
    },
    /// Past the last step.
    Completed,
    /// Ended by an `end` step.
    Ended,
}

/// One run's move: its effects (each with its step's id), the steps it passed, and where it
/// goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The run, as claimed.
    pub claimed: Claimed,
    /// The effects, in order, with their steps' ids.
    pub effects: Vec<(String, Effect)>,
    /// The ids of the steps passed, in order.
    pub passed: Vec<String>,
    /// The ids of the goal steps it reached.
    pub reached: Vec<String>,
    /// The A/B splits it passed, with the index of the path it took at each.
    pub paths: Vec<(String, usize)>,
    /// Where it goes.
    pub destination: Destination,
}

/// What [`Store::move_runs`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moved {
    /// Runs moved.
    pub moved: usize,
    /// Runs whose claim was stale (another worker took them since): not moved.
    pub stale: usize,
    /// Effects the database refused (a tag or list deleted since, a value its field refuses):
    /// skipped, and noted on the run.
    pub refused: usize,
}

impl Store {
    /// Moves the runs, in one transaction: those whose claim is still theirs get their
    /// effects (in contact order, each effect the database refuses skipped and noted on the
    /// run; see [`super::effects`]) and their new place; the automations count what left and
    /// each step what passed.
    pub async fn move_runs(&self, moves: &[Move], now: Timestamp) -> Result<Moved, StoreError> {
        let mut ordered: Vec<&Move> = moves.iter().collect();
        ordered.sort_by_key(|one| (one.claimed.contact, one.claimed.run));
        let plain = self
            .write(async |tx| {
                move_in(
                    tx,
                    self.engine,
                    &ordered,
                    Shared::new(self.engine, now, false),
                )
                .await
            })
            .await;
        match plain {
            Err(refused) if !refused.is_database_failure() => {
                self.write(async |tx| {
                    move_in(
                        tx,
                        self.engine,
                        &ordered,
                        Shared::new(self.engine, now, true),
                    )
                    .await
                })
                .await
            }
            done => done,
        }
    }
}

/// Moves the runs on `tx`, their effects applied as `shared` says (see [`Store::move_runs`]).
async fn move_in(
    tx: &mut AnyConnection,
    engine: Engine,
    ordered: &[&Move],
    mut shared: Shared,
) -> Result<Moved, StoreError> {
    let now = shared.now();
    lock_checks(tx, engine, ordered).await?;
    let confirmed = confirm_claims(tx, engine, ordered).await?;
    let mut moved = Moved {
        stale: ordered.len() - confirmed.len(),
        ..Moved::default()
    };
    let mut left: BTreeMap<AutomationId, (i64, i64)> = BTreeMap::new();
    let mut passed: BTreeMap<(AutomationId, &str), i64> = BTreeMap::new();
    let mut marks: Vec<Mark> = Vec::new();
    let mut history = Vec::new();
    let mut placed = Vec::with_capacity(confirmed.len());
    for &one in ordered
        .iter()
        .filter(|one| confirmed.contains(&one.claimed.run))
    {
        let claimed = &one.claimed;
        let mut notes = Vec::new();
        for (step, effect) in &one.effects {
            if let Some(note) = shared.apply(tx, claimed, step, effect).await? {
                notes.push(run_note(step, &note));
            }
        }
        moved.refused += notes.len();
        placed.push((one, notes));
        let of = RunOf {
            account: claimed.account,
            automation: claimed.automation,
            run: claimed.run,
            contact: claimed.contact,
        };
        for goal in &one.reached {
            marks.push((claimed.automation, claimed.run, goal, None));
            history.push((of, Happened::Goal(goal)));
        }
        for (split, path) in &one.paths {
            marks.push((claimed.automation, claimed.run, split, Some(*path)));
        }
        let counts = left.entry(claimed.automation).or_default();
        match one.destination {
            Destination::At { .. } => {}
            Destination::Completed => {
                *counts = (counts.0 + 1, counts.1 + 1);
                history.push((of, Happened::Completed));
            }
            Destination::Ended => {
                counts.0 += 1;
                history.push((of, Happened::Ended));
            }
        }
        for step in &one.passed {
            *passed
                .entry((claimed.automation, step.as_str()))
                .or_default() += 1;
        }
        moved.moved += 1;
    }
    let put_off = shared.finish(tx).await?;
    moved.refused += put_off.len();
    for (run, note) in put_off {
        if let Some((_, notes)) = placed.iter_mut().find(|(one, _)| one.claimed.run == run) {
            notes.push(note);
        }
    }
    place_all(tx, engine, &placed, now).await?;
    for (automation, (exited, completed)) in left {
        sqlx::query(
            "UPDATE automations SET exited = exited + $1, completed = completed + $2 \
             WHERE id = $3",
        )
        .bind(exited)
        .bind(completed)
        .bind(automation.0)
        .execute(&mut *tx)
        .await?;
    }
    count_passed(tx, engine, &passed).await?;
    mark_in(tx, engine, &marks, now).await?;
    note_history_in(tx, engine, &history, now).await?;
    Ok(moved)
}

/// Releases the leases of the runs still claimed by these moves' epochs; answers them.
async fn confirm_claims(
    tx: &mut AnyConnection,
    engine: Engine,
    moves: &[&Move],
) -> Result<BTreeSet<AutomationRunId>, StoreError> {
    let mut confirmed = BTreeSet::new();
    for chunk in moves.chunks(CHUNK) {
        let mut update = Statement::new(engine, "WITH claims (id, epoch) AS (VALUES ");
        update.push_rows(
            chunk
                .iter()
                .map(|one| [one.claimed.run.0, one.claimed.epoch].map(Value::from)),
        );
        update.push(
            ") UPDATE automation_runs SET lease_until = 0 FROM claims \
             WHERE automation_runs.id = claims.id AND automation_runs.epoch = claims.epoch \
             AND automation_runs.status = 1 RETURNING automation_runs.id",
        );
        for row in update.query().fetch_all(&mut *tx).await? {
            confirmed.insert(AutomationRunId(row.try_get(0)?));
        }
    }
    Ok(confirmed)
}

/// Writes the runs' new places, each with its notes, a chunk of runs per statement.
async fn place_all(
    tx: &mut AnyConnection,
    engine: Engine,
    placed: &[(&Move, Vec<String>)],
    now: Timestamp,
) -> Result<(), StoreError> {
    for chunk in placed.chunks(CHUNK) {
        let mut update = Statement::new(
            engine,
            "WITH p (id, status, step, since_at, due_at, ended_at, done, note, watching) \
             AS (VALUES ",
        );
        update.push_rows(chunk.iter().map(|(one, notes)| {
            let note = (!notes.is_empty()).then(|| notes.join("; "));
            let last = one.passed.last().unwrap_or(&one.claimed.step);
            let (status, step, since, due, ended, watching) = match &one.destination {
                Destination::At {
                    step,
                    since,
                    due,
                    watching,
                } => (
                    RunStatus::Active,
                    step,
                    *since,
                    due.map(|due| due.0),
                    None,
                    *watching,
                ),
                Destination::Completed => {
                    (RunStatus::Completed, last, now, None, Some(now.0), false)
                }
                Destination::Ended => (RunStatus::Ended, last, now, None, Some(now.0), false),
            };
            [
                Value::from(one.claimed.run.0),
                status.code().into(),
                step.as_str().into(),
                since.0.into(),
                due.into(),
                ended.into(),
                i64::try_from(one.passed.len()).unwrap_or(i64::MAX).into(),
                note.into(),
                i64::from(watching).into(),
            ]
        }));
        update.push(
            ") UPDATE automation_runs SET status = p.status, step = p.step, \
             since_at = p.since_at, due_at = p.due_at, ended_at = p.ended_at, \
             steps_done = automation_runs.steps_done + p.done, ",
        );
        update.and("updated_at = ", now.0).push(
            ", last_error = COALESCE(p.note, automation_runs.last_error), \
                 watching = p.watching FROM p WHERE automation_runs.id = p.id",
        );
        update.query().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Adds the runs that passed each step to its count.
async fn count_passed(
    tx: &mut AnyConnection,
    engine: Engine,
    passed: &BTreeMap<(AutomationId, &str), i64>,
) -> Result<(), StoreError> {
    let rows: Vec<_> = passed.iter().collect();
    for chunk in rows.chunks(CHUNK) {
        let mut upsert = Statement::new(
            engine,
            "INSERT INTO automation_step_counts (automation_id, step, passed) VALUES ",
        );
        upsert
            .push_rows(chunk.iter().map(|&(&(automation, step), &count)| {
                [Value::from(automation.0), step.into(), count.into()]
            }))
            .push(
                " ON CONFLICT (automation_id, step) DO UPDATE \
                 SET passed = automation_step_counts.passed + excluded.passed",
            );
        upsert.query().execute(&mut *tx).await?;
    }
    Ok(())
}
