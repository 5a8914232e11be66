//! Stored members, kept live: the queue of contacts to check (`segment_checks`, filled by
//! triggers in the same transaction as each change), and settling a round of checks: the
//! checks taken, the membership changes written (see [`super::members`]), and the round's
//! scoring done, in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, SegmentId};
use tracklane_core::segment::Reads;
use tracklane_core::time::Timestamp;

use tracklane_core::score::rule::ScoreRule;

use crate::automations::moves::wake_watching;
use crate::scoring::holds::{hold_scores, Hold};
use crate::scoring::ledger::ScoreChange;
use crate::scoring::live::{score_round, with_counted_revisions, ScoreWork, Work};
use crate::sql::{Statement, Value};
use crate::{Engine, Store, StoreError};

use super::members::{change_memberships, fold_member_counts, record_transitions, Transition};

/// A contact whose answers may have changed, as queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// The contact.
    pub contact: ContactId,
    /// Its account.
    pub account: AccountId,
    /// What changed since the contact was last checked.
    pub reasons: Reads,
    /// When a time window moves one of the contact's answers, as last found; `None`: never.
    pub wake_at: Option<Timestamp>,
    /// The queue row's version: it moves on with every change, so that a check settled after
    /// a newer change stays queued.
    pub version: i64,
}

/// When a contact is to be checked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextCheck {
    /// On its next change only.
    OnChange,
    /// At this instant, when a window moves its answer (or on its next change, if sooner).
    At(Timestamp),
}

impl NextCheck {
    /// The earlier of this and a check at `at`.
    pub fn earliest(self, at: Timestamp) -> Self {
        match self {
            Self::OnChange => Self::At(at),
            Self::At(known) => Self::At(known.min(at)),
        }
    }
}

/// A segment whose answer for a contact changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The segment.
    pub segment: SegmentId,
    /// The revision of its definition that was evaluated: an edit since makes the answer
    /// stale, and the segment's computation after the edit decides instead.
    pub revision: i64,
    /// Entered (true) or left.
    pub entered: bool,
}

/// The outcome of one check: which segments the contact enters and leaves, and when to check
/// it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The check.
    pub check: Check,
    /// Each segment whose answer changed.
    pub changes: Vec<Change>,
    /// When to check the contact again.
    pub next: NextCheck,
    /// What scoring has to do for the contact.
    pub scoring: ScoreWork,
}

/// The `due_at` of a contact checked and waiting for its next change. A contact's queue row
/// is kept while the contact lives (only a gone contact's is deleted), so that its version only
/// ever grows: a worker holding an old version can never mistake a newer change for the one it
/// evaluated.
pub(crate) const IDLE: i64 = i64::MAX;

/// How many transitions one statement writes.
const CHUNK: usize = 500;

impl Store {
    /// Up to `limit` queued checks due at `now`: contacts that changed, and a quarter of the
    /// round at least for wake-ups (the earliest first), so that a steady flow of changes never
    /// starves a window's exit.
    pub async fn due_segment_checks(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<Check>, StoreError> {
        let wakeups = (limit / 4).max(1);
        let rows = sqlx::query(
            "SELECT contact_id, account_id, reasons, version, wake_at FROM (\
             SELECT * FROM (SELECT contact_id, account_id, reasons, version, wake_at \
             FROM segment_checks WHERE due_at > 0 AND due_at <= $1 ORDER BY due_at LIMIT $2) \
             wakeups UNION ALL \
             SELECT * FROM (SELECT contact_id, account_id, reasons, version, wake_at \
             FROM segment_checks WHERE due_at = 0 LIMIT $3) changed) due",
        )
        .bind(now.0)
        .bind(wakeups)
        .bind(limit - wakeups)
        .fetch_all(&self.writer)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Check {
                    contact: ContactId(row.try_get("contact_id")?),
                    account: AccountId(row.try_get("account_id")?),
                    reasons: Reads(row.try_get("reasons")?),
                    version: row.try_get("version")?,
                    wake_at: Some(Timestamp(row.try_get("wake_at")?)).filter(|at| at.0 != IDLE),
                })
            })
            .collect()
    }

    /// When the earliest queued check is due; `None` when the queue is empty.
    pub async fn next_segment_check(&self) -> Result<Option<Timestamp>, StoreError> {
        let due: Option<i64> =
            sqlx::query_scalar("SELECT MIN(due_at) FROM segment_checks WHERE due_at < $1")
                .bind(IDLE)
                .fetch_one(&self.reader)
                .await?;
        Ok(due.map(Timestamp))
    }

    /// The segments each of the contacts is a stored member of (a contact in none is left
    /// out).
    pub async fn contacts_segments(
        &self,
        contacts: &[ContactId],
    ) -> Result<BTreeMap<ContactId, BTreeSet<SegmentId>>, StoreError> {
        let mut members: BTreeMap<ContactId, BTreeSet<SegmentId>> = BTreeMap::new();
        for chunk in contacts.chunks(CHUNK) {
            let mut select = Statement::new(
                self.engine,
                "SELECT contact_id, segment_id FROM segment_members WHERE contact_id IN ",
            );
            select.push_row(chunk.iter().map(|contact| contact.0.into()));
            for row in select.query().fetch_all(&self.reader).await? {
                members
                    .entry(ContactId(row.try_get("contact_id")?))
                    .or_default()
                    .insert(SegmentId(row.try_get("segment_id")?));
            }
        }
        Ok(members)
    }

    /// Applies a round of checks in one transaction: each check still at the version evaluated
    /// is marked done (see [`NextCheck`]), its membership changes are stored with their
    /// transitions, and its scoring work is done with `rules` (see [`crate::scoring::live`]);
    /// a check whose contact changed again meanwhile is left for its newer evaluation.
    /// Returns the transitions recorded and the score changes.
    pub async fn settle_segment_checks(
        &self,
        settled: &[Settled],
        rules: &BTreeMap<AccountId, Vec<ScoreRule>>,
        now: Timestamp,
    ) -> Result<(Vec<Transition>, Vec<ScoreChange>), StoreError> {
        // Locks are taken in one order (scores held by contact, check rows by contact, then
        // segments by id) so that two workers never wait on each other; two rounds take
        // different contacts. Entries are written before exits: a computation of the same
        // segment on another node may meet a round in another order, and PostgreSQL then
        // aborts one of them, which its next round or computation makes again.
        let mut ordered: Vec<&Settled> = settled.iter().collect();
        ordered.sort_by_key(|one| one.check.contact);
        self.write(async |tx| {
            let rules = with_counted_revisions(tx, self.engine, rules).await?;
            let current = revisions(tx, self.engine, settled).await?;
            let contacts: Vec<ContactId> = ordered.iter().map(|one| one.check.contact).collect();
            let held = hold_scores(tx, self.engine, &contacts, Hold::Skip).await?;
            let holding: Vec<&Settled> = ordered
                .iter()
                .copied()
                .filter(|one| held.contains(&one.check.contact))
                .collect();
            let taken = take_checks(tx, self.engine, &holding).await?;
            let checked: Vec<ContactId> = taken.iter().copied().collect();
            wake_watching(tx, self.engine, &checked, now).await?;
            let mut changes = Vec::new();
            let mut scoring = Vec::new();
            for one in ordered {
                let is_taken = taken.contains(&one.check.contact);
                scoring.push(Work {
                    contact: one.check.contact,
                    account: one.check.account,
                    work: is_taken.then_some(&one.scoring),
                });
                if !is_taken {
                    // The contact changed again, or another worker settled it first: the
                    // newer evaluation decides.
                    continue;
                }
                for change in &one.changes {
                    // An answer to an edited (or deleted) definition is dropped: the
                    // computation after the edit answers for every contact.
                    if current.get(&change.segment) == Some(&change.revision) {
                        let (segment, entered) = (change.segment, change.entered);
                        changes.push((segment, one.check.contact, entered, one.check.account));
                    }
                }
            }
            changes.sort_by_key(|&(segment, contact, _, _)| (segment, contact));
            let transitions = change_memberships(tx, self.engine, &changes, now).await?;
            record_transitions(tx, self.engine, &transitions).await?;
            let changed: BTreeSet<SegmentId> = transitions.iter().map(|t| t.segment).collect();
            fold_member_counts(tx, self.engine, &changed).await?;
            let scores = score_round(tx, self.engine, &scoring, &rules, now).await?;
            Ok((transitions, scores))
        })
        .await
    }
}

/// The current revision of each segment the round changes.
async fn revisions(
    tx: &mut AnyConnection,
    engine: Engine,
    settled: &[Settled],
) -> Result<BTreeMap<SegmentId, i64>, StoreError> {
    let segments: BTreeSet<i64> = settled
        .iter()
        .flat_map(|one| one.changes.iter().map(|change| change.segment.0))
        .collect();
    if segments.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut select = Statement::new(engine, "SELECT id, revision FROM segments WHERE id IN ");
    select.push_row(segments.into_iter().map(Into::into));
    let rows = select.query().fetch_all(&mut *tx).await?;
    rows.iter()
        .map(|row| Ok((SegmentId(row.try_get("id")?), row.try_get("revision")?)))
        .collect()
}

/// Takes the checks still at the versions evaluated that no one else holds, and marks them
/// done (idle until the contact's next change, or due at its wake-up; a gone contact's row
/// went with the contact, so there is none to take), a chunk of checks per statement. Taking
/// moves the version on, so a second worker holding the same evaluation (made at another
/// instant) cannot apply it after this one. Returns the contacts taken.
async fn take_checks(
    tx: &mut AnyConnection,
    engine: Engine,
    settled: &[&Settled],
) -> Result<BTreeSet<ContactId>, StoreError> {
    let mut taken = BTreeSet::new();
    for chunk in settled.chunks(CHUNK) {
        let mut update = Statement::new(
            engine,
            "WITH done (contact_id, version, due_at) AS (VALUES ",
        );
        update.push_rows(chunk.iter().map(|one| {
            let due_at = match one.next {
                NextCheck::At(at) => at.0,
                NextCheck::OnChange => IDLE,
            };
            [one.check.contact.0, one.check.version, due_at].map(Value::from)
        }));
        update.push(
            ") UPDATE segment_checks SET due_at = done.due_at, wake_at = done.due_at, \
                 reasons = 0, version = segment_checks.version + 1 FROM done \
                 WHERE segment_checks.contact_id = done.contact_id \
                 AND segment_checks.version = done.version",
        );
        // Rows another worker (or a change) holds on PostgreSQL are left to it; the others are
        // locked in contact order.
        update
            .push(
                " AND segment_checks.contact_id IN (SELECT held.contact_id \
                 FROM segment_checks held WHERE held.contact_id IN ",
            )
            .push_row(chunk.iter().map(|one| one.check.contact.0.into()))
            .push(" ORDER BY held.contact_id")
            .push(engine.skip_locked())
            .push(") RETURNING segment_checks.contact_id");
        for row in update.query().fetch_all(&mut *tx).await? {
            taken.insert(ContactId(row.try_get(0)?));
        }
    }
    Ok(taken)
}

/// Queues wake-ups of contacts (a contact's check becomes due at the earliest of its due time
/// and the wake-up), in contact order; the version moves on, so that an evaluation made before
/// is not settled over it.
pub(crate) async fn queue_wakeups(
    tx: &mut AnyConnection,
    engine: Engine,
    wakeups: &[(ContactId, AccountId, Timestamp)],
) -> Result<(), StoreError> {
    let mut ordered = wakeups.to_vec();
    ordered.sort_by_key(|&(contact, _, _)| contact);
    let least = engine.least();
    for chunk in ordered.chunks(CHUNK) {
        let mut upsert = Statement::new(
            engine,
            "INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, wake_at) \
             VALUES ",
        );
        upsert.push_rows(
            chunk.iter().map(|&(contact, account, at)| {
                [contact.0, account.0, 0, at.0, at.0].map(Value::from)
            }),
        );
        upsert.push(&format!(
            " ON CONFLICT (contact_id) DO UPDATE SET \
             due_at = {least}(segment_checks.due_at, excluded.due_at), \
             wake_at = {least}(segment_checks.wake_at, excluded.wake_at), \
             version = segment_checks.version + 1"
        ));
        upsert.query().execute(&mut *tx).await?;
    }
    Ok(())
}
