//! Computing a saved segment's members whole, after it is saved or edited: the set evaluator's
//! answer is stored as the difference with the stored members, with its transitions, while the
//! previous members stay readable until it commits.

use std::collections::BTreeSet;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, SegmentId};
use tracklane_core::segment::condition::Window;
use tracklane_core::segment::{Definition, Reads};
use tracklane_core::time::Timestamp;

use super::compile::Behavior;
use super::members::{fold_member_counts, record_transitions, Transition};
use crate::sql::Statement;
use crate::{Engine, Store, StoreError};

impl Store {
    /// The saved segments whose stored members answer an older revision (or none yet).
    pub async fn segments_to_compute(&self) -> Result<Vec<(AccountId, SegmentId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT account_id, id FROM segments WHERE computed_revision < revision ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| Ok((AccountId(row.try_get(0)?), SegmentId(row.try_get(1)?))))
            .collect()
    }

    /// Computes a segment's members whole with the set evaluator and stores the difference
    /// with the stored ones, with its transitions, in one transaction: until it commits the
    /// previous members are answered. When the definition reads time, the contacts whose
    /// answer time may move are then queued for a check (which finds when their answer next
    /// changes by itself; see [`queue_time_contacts`]), and only that second transaction marks
    /// the revision computed, so that a failure between the two computes the segment again.
    /// `None` when there was nothing to compute: another worker holds the segment, or its
    /// revision is computed already.
    pub async fn compute_segment_members(
        &self,
        account: AccountId,
        id: SegmentId,
        now: Timestamp,
    ) -> Result<Option<Vec<Transition>>, StoreError> {
        let computed = self
            .write(async |tx| {
                let Some((revision, definition)) =
                    claim_segment(tx, self.engine, account, id).await?
                else {
                    return Ok(None);
                };
                let filter = self.segment_filter(account, &definition, now)?;
                let mut leave = Statement::with_head(
                    "DELETE FROM segment_members WHERE contact_id NOT IN (SELECT c.id",
                    &filter,
                );
                leave
                    .and(") AND segment_id = ", id.0)
                    .push(" RETURNING contact_id");
                let left = returned_ids(leave.query().fetch_all(&mut *tx).await?)?;
                // The segment id and the time are integers of ours, written as literals so that
                // the filter's binds keep their numbers.
                let mut enter = Statement::with_head(
                    &format!(
                        "INSERT INTO segment_members (segment_id, contact_id, entered_at) \
                     SELECT {}, c.id, {}",
                        id.0, now.0
                    ),
                    &filter,
                );
                enter.push(&format!(
                    " AND NOT EXISTS (SELECT 1 FROM segment_members m WHERE m.segment_id = {} \
                 AND m.contact_id = c.id) ON CONFLICT (segment_id, contact_id) DO NOTHING \
                 RETURNING contact_id",
                    id.0
                ));
                let entered = returned_ids(enter.query().fetch_all(&mut *tx).await?)?;
                let transition = |contact: i64, entered: bool| Transition {
                    account,
                    segment: id,
                    contact: ContactId(contact),
                    entered,
                    at: now,
                };
                let transitions: Vec<Transition> = left
                    .into_iter()
                    .map(|c| transition(c, false))
                    .chain(entered.into_iter().map(|c| transition(c, true)))
                    .collect();
                record_transitions(tx, self.engine, &transitions).await?;
                fold_member_counts(tx, self.engine, &BTreeSet::from([id])).await?;
                let timed = definition.reads().meets(Reads::TIME).then_some(definition);
                if timed.is_none() {
                    mark_computed(tx, id, revision, now).await?;
                }
                Ok(Some((transitions, revision, timed)))
            })
            .await?;
        let Some((transitions, revision, timed)) = computed else {
            return Ok(None);
        };
        if let Some(definition) = timed {
            // Queue rows first, in contact order, then the segment's row: a round's order.
            self.write(async |tx| {
                queue_time_contacts(tx, self.engine, account, &definition, now).await?;
                mark_computed(tx, id, revision, now).await
            })
            .await?;
        }
        Ok(Some(transitions))
    }
}

/// The segment's revision and definition when it has one to compute and no other worker
/// holds it (its row is locked until the transaction ends; PostgreSQL skips a locked one).
async fn claim_segment(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    id: SegmentId,
) -> Result<Option<(i64, Definition)>, StoreError> {
    let claimed = sqlx::query(&format!(
        "SELECT revision, computed_revision, definition FROM segments \
         WHERE id = $1 AND account_id = $2{}",
        engine.skip_locked()
    ))
    .bind(id.0)
    .bind(account.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(claimed) = claimed else {
        return Ok(None);
    };
    let revision: i64 = claimed.try_get("revision")?;
    if claimed.try_get::<i64, _>("computed_revision")? >= revision {
        return Ok(None);
    }
    let definition = Definition::parse(&claimed.try_get::<String, _>("definition")?)
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
    Ok(Some((revision, definition)))
}

/// Records that the segment's members answer `revision`.
async fn mark_computed(
    tx: &mut AnyConnection,
    id: SegmentId,
    revision: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE segments SET computed_revision = $1, computed_at = $2 WHERE id = $3")
        .bind(revision)
        .bind(now.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// How a queued contact's row takes a new check: the kind of change is added, the version
/// moves on and the check is due at once (as the triggers queue a change).
pub(crate) const REQUEUE: &str = " ON CONFLICT (contact_id) DO UPDATE \
     SET reasons = segment_checks.reasons | excluded.reasons, \
     version = segment_checks.version + 1, due_at = 0";

/// Queues, in contact order, the contacts whose answer to `definition` time may move, for a
/// check that finds their next wake-up. A moving window (the last N days or hours) of a
/// behavioral condition moves only the answers of contacts with a row it counts from the
/// window's start on (inside it now, or dated after now); any other contact has none inside it
/// now or later, until a new row queues it anyway. A date field tested against a moving window
/// may move any contact's answer: then every contact is queued.
pub(crate) async fn queue_time_contacts(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    definition: &Definition,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut insert = Statement::new(
        engine,
        "INSERT INTO segment_checks (contact_id, account_id, reasons, due_at) \
         SELECT DISTINCT contact_id, ",
    );
    insert
        .push_bind(account.0)
        .push(", ")
        .push_bind(Reads::TIME.0)
        .push(", 0 FROM (");
    let mut selects = 0;
    for leaf in definition.leaves() {
        let Some(behavior) = Behavior::of(leaf) else {
            if Reads::of(leaf).meets(Reads::TIME) {
                return queue_every_contact(tx, account).await;
            }
            continue;
        };
        let Some(span) = behavior.window.and_then(Window::span_micros) else {
            continue;
        };
        if selects > 0 {
            insert.push(" UNION ALL ");
        }
        selects += 1;
        let alias = behavior.rows.alias();
        insert.push(&format!("SELECT {alias}.contact_id AS contact_id"));
        let time = behavior.push_rows(&mut insert, account);
        insert
            .push(&format!(
                " AND {alias}.contact_id IS NOT NULL AND {time} >= "
            ))
            .push_bind(now.0.saturating_sub(span));
    }
    if selects == 0 {
        return Ok(());
    }
    insert
        .push(") moving WHERE 1 = 1 ORDER BY contact_id")
        .push(REQUEUE);
    insert.query().execute(&mut *tx).await?;
    Ok(())
}

/// Queues every contact of the account for a check, in contact order.
async fn queue_every_contact(tx: &mut AnyConnection, account: AccountId) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO segment_checks (contact_id, account_id, reasons, due_at) \
         SELECT id, account_id, $1, 0 FROM contacts WHERE account_id = $2 ORDER BY id{REQUEUE}"
    ))
    .bind(Reads::TIME.0)
    .bind(account.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The ids a `RETURNING contact_id` answered.
fn returned_ids(rows: Vec<AnyRow>) -> Result<Vec<i64>, StoreError> {
    Ok(rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?)
}
