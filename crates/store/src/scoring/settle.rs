//! Settling contacts' scores: each one the sum of its live awards, kept incrementally in the
//! transaction that changes the awards (the awards made and taken back, and those expired
//! since the score was last settled), with a row of kind `score` on the contact's timeline for
//! each change, a check queued for the segments that read scores, and the contact's next
//! expiry queued as its wake-up.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, ScoreModelId};
use tracklane_core::segment::{Definition, Reads};
use tracklane_core::time::Timestamp;

use super::awards::Made;
use super::ledger::{ScoreChange, COUNTED};
use crate::automations::entries::enter_by_scores;
use crate::segments::compute::REQUEUE;
use crate::segments::membership::queue_wakeups;
use crate::sql::{Statement, Value};
use crate::{Engine, StoreError};

/// How many contacts one statement settles.
const CHUNK: usize = 500;

/// The awards a transaction made and took back, of their rules' counted revisions (manual
/// adjustments count always): what changes the scores.
#[derive(Debug, Default)]
pub(crate) struct LedgerChanges {
    /// Awards made: contact, model, points.
    pub(crate) made: Vec<Made>,
    /// Awards taken back: contact, model, points, expiry.
    pub(crate) taken_back: Vec<(ContactId, ScoreModelId, i64, Option<i64>)>,
}

/// A stored score: its total and the instant it was settled at.
#[derive(Debug, Clone, Copy)]
struct Stored {
    total: i64,
    settled_at: i64,
}

/// Brings the scores of `contacts` (every contact of `changes` among them) to `now`, without
/// summing their whole ledgers: the awards that expired since each score was last settled are
/// taken off, the awards made added, and those taken back (that the score still counted)
/// taken off. Each score touched is stored settled at `now` (so that an award's expiry is taken
/// off once; an award made must expire after the instant of [`settle_instant`]), and a row of kind `score` goes on the timeline of each contact whose scores
/// changed, with a check of the segments that read scores, and the contacts entered into the
/// automations whose score trigger a change crosses. Each contact's first expiry of an
/// award is queued as its wake-up. A chunk of contacts per statement. Returns the scores that
/// changed. The property test of the ledger checks that each score stays the sum of its live awards.
pub(crate) async fn settle_scores(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[(ContactId, AccountId)],
    changes: &LedgerChanges,
    now: Timestamp,
) -> Result<Vec<ScoreChange>, StoreError> {
    let mut settled = Vec::new();
    // Whether each account's segments read scores, read once per call.
    let mut reading: BTreeMap<AccountId, bool> = BTreeMap::new();
    let mut deltas: BTreeMap<(ContactId, ScoreModelId), i64> = BTreeMap::new();
    for &(contact, model, points) in &changes.made {
        *deltas.entry((contact, model)).or_default() += points;
    }
    for chunk in contacts.chunks(CHUNK) {
        let ids = || chunk.iter().map(|(contact, _)| Value::from(contact.0));
        let mut select = Statement::new(
            engine,
            "SELECT contact_id, model_id, total, settled_at FROM contact_scores \
             WHERE contact_id IN ",
        );
        select.push_row(ids());
        let mut stored: BTreeMap<(ContactId, ScoreModelId), Stored> = BTreeMap::new();
        for row in select.query().fetch_all(&mut *tx).await? {
            stored.insert(
                (
                    ContactId(row.try_get("contact_id")?),
                    ScoreModelId(row.try_get("model_id")?),
                ),
                Stored {
                    total: row.try_get("total")?,
                    settled_at: row.try_get("settled_at")?,
                },
            );
        }
        // Scores are settled at the latest of `now` and their own settled instants (another
        // transaction may have settled them later than this round's clock read), so that an
        // expiry is never taken off twice.
        let at = stored
            .values()
            .map(|score| score.settled_at)
            .fold(now.0, i64::max);
        let mut expired = Statement::new(
            engine,
            &format!(
                "SELECT a.contact_id, a.model_id, CAST(SUM(a.points) AS BIGINT) AS points \
                 FROM score_awards a JOIN contact_scores s ON s.contact_id = a.contact_id \
                 AND s.model_id = a.model_id WHERE a.expires_at IS NOT NULL \
                 AND a.expires_at > s.settled_at AND {COUNTED} AND a.expires_at <= "
            ),
        );
        expired
            .push_bind(at)
            .push(" AND a.contact_id IN ")
            .push_row(ids())
            .push(" GROUP BY a.contact_id, a.model_id");
        let mut touched: BTreeMap<(ContactId, ScoreModelId), i64> = BTreeMap::new();
        for row in expired.query().fetch_all(&mut *tx).await? {
            let points: i64 = row.try_get("points")?;
            touched.insert(
                (
                    ContactId(row.try_get("contact_id")?),
                    ScoreModelId(row.try_get("model_id")?),
                ),
                -points,
            );
        }
        let in_chunk: BTreeSet<ContactId> = chunk.iter().map(|(contact, _)| *contact).collect();
        for (&key, &delta) in &deltas {
            if in_chunk.contains(&key.0) {
                *touched.entry(key).or_default() += delta;
            }
        }
        for &(contact, model, points, expires_at) in &changes.taken_back {
            if !in_chunk.contains(&contact) {
                continue;
            }
            let counted_since = stored
                .get(&(contact, model))
                .map_or(i64::MIN, |s| s.settled_at);
            let counted = expires_at.is_none_or(|at| at > counted_since);
            *touched.entry((contact, model)).or_default() -= if counted { points } else { 0 };
        }
        let wakeups = next_expiries(tx, engine, chunk, now).await?;
        queue_wakeups(tx, engine, &wakeups).await?;
        if touched.is_empty() {
            continue;
        }
        let written: Vec<ScoreChange> = touched
            .iter()
            .map(|(&(contact, model), &delta)| {
                let from = stored.get(&(contact, model)).map_or(0, |s| s.total);
                ScoreChange {
                    contact,
                    model,
                    from,
                    to: from + delta,
                }
            })
            .collect();
        let account_of: BTreeMap<ContactId, AccountId> = chunk.iter().copied().collect();
        write_totals(tx, engine, &written, &account_of, (Timestamp(at), now)).await?;
        let changed: Vec<ScoreChange> = written
            .into_iter()
            .filter(|change| change.from != change.to)
            .collect();
        if changed.is_empty() {
            continue;
        }
        write_timeline(tx, engine, &changed, &account_of, now).await?;
        enter_by_scores(tx, engine, &changed, &account_of, now).await?;
        let mut by_account: BTreeMap<AccountId, Vec<ContactId>> = BTreeMap::new();
        for change in &changed {
            by_account
                .entry(account_of[&change.contact])
                .or_default()
                .push(change.contact);
        }
        for (account, contacts) in by_account {
            let reads = match reading.get(&account) {
                Some(&reads) => reads,
                None => {
                    let reads = reads_scores(tx, account).await?;
                    reading.insert(account, reads);
                    reads
                }
            };
            if reads {
                queue_score_checks(tx, engine, account, &contacts).await?;
            }
        }
        settled.extend(changed);
    }
    Ok(settled)
}

/// The instant a transaction that awards `contacts` rows of the past settles their scores at:
/// the latest of `now` and the instants they were last settled at (another transaction's
/// clock may have run ahead of this one's). [`settle_scores`] takes an award made off at its
/// expiry only when that comes after the instant it settles at, so an award of a past row must
/// be made only when it expires after this instant.
pub(crate) async fn settle_instant(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[ContactId],
    now: Timestamp,
) -> Result<Timestamp, StoreError> {
    let mut at = now.0;
    for chunk in contacts.chunks(CHUNK) {
        let mut select = Statement::new(
            engine,
            "SELECT MAX(settled_at) FROM contact_scores WHERE contact_id IN ",
        );
        select.push_row(chunk.iter().map(|contact| Value::from(contact.0)));
        let latest: Option<i64> = select.query().fetch_one(&mut *tx).await?.try_get(0)?;
        at = at.max(latest.unwrap_or(i64::MIN));
    }
    Ok(Timestamp(at))
}

/// When the first award of each of the contacts will expire (an award of a revision that
/// does not count yet may make it early: the wake-up then changes nothing), as wake-ups.
async fn next_expiries(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[(ContactId, AccountId)],
    now: Timestamp,
) -> Result<Vec<(ContactId, AccountId, Timestamp)>, StoreError> {
    let mut select = Statement::new(
        engine,
        "SELECT v.column1 AS contact_id, (SELECT MIN(a.expires_at) FROM score_awards a \
         WHERE a.contact_id = v.column1 AND a.expires_at IS NOT NULL AND a.expires_at > ",
    );
    select
        .push_bind(now.0)
        .push(") AS next_expiry FROM (VALUES ");
    select.push_rows(contacts.iter().map(|(contact, _)| [Value::from(contact.0)]));
    select.push(") v");
    let account_of: BTreeMap<ContactId, AccountId> = contacts.iter().copied().collect();
    let mut found = Vec::new();
    for row in select.query().fetch_all(&mut *tx).await? {
        if let Some(at) = row.try_get::<Option<i64>, _>("next_expiry")? {
            let contact = ContactId(row.try_get("contact_id")?);
            found.push((contact, account_of[&contact], Timestamp(at)));
        }
    }
    Ok(found)
}

/// Whether a segment of the account reads scores.
pub(super) async fn reads_scores(
    tx: &mut AnyConnection,
    account: AccountId,
) -> Result<bool, StoreError> {
    let definitions: Vec<String> =
        sqlx::query_scalar("SELECT definition FROM segments WHERE account_id = $1")
            .bind(account.0)
            .fetch_all(&mut *tx)
            .await?;
    Ok(definitions.iter().any(|definition| {
        Definition::parse(definition).is_ok_and(|parsed| parsed.reads().meets(Reads::SCORE))
    }))
}

/// Queues the contacts (whose scores changed) for a check of the segments that read scores.
async fn queue_score_checks(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    contacts: &[ContactId],
) -> Result<(), StoreError> {
    let mut ordered = contacts.to_vec();
    ordered.sort();
    ordered.dedup();
    for chunk in ordered.chunks(CHUNK) {
        let mut upsert = Statement::new(
            engine,
            "INSERT INTO segment_checks (contact_id, account_id, reasons, due_at) VALUES ",
        );
        upsert
            .push_rows(
                chunk
                    .iter()
                    .map(|contact| [contact.0, account.0, Reads::SCORE.0, 0].map(Value::from)),
            )
            .push(REQUEUE);
        upsert.query().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Stores scores, settled at `settled_at`, changed at `now`.
async fn write_totals(
    tx: &mut AnyConnection,
    engine: Engine,
    changes: &[ScoreChange],
    account_of: &BTreeMap<ContactId, AccountId>,
    (settled_at, now): (Timestamp, Timestamp),
) -> Result<(), StoreError> {
    for chunk in changes.chunks(CHUNK) {
        let mut upsert = Statement::new(
            engine,
            "INSERT INTO contact_scores (account_id, contact_id, model_id, total, settled_at, \
             created_at, updated_at) VALUES ",
        );
        upsert.push_rows(chunk.iter().map(|change| {
            [
                account_of[&change.contact].0,
                change.contact.0,
                change.model.0,
                change.to,
                settled_at.0,
                now.0,
                now.0,
            ]
            .map(Value::from)
        }));
        upsert.push(SCORE_UPSERT);
        upsert.query().execute(&mut *tx).await?;
    }
    Ok(())
}

/// How a stored score takes a new total: settled at the new instant, and changed then only
/// when the total differs.
pub(super) const SCORE_UPSERT: &str = " ON CONFLICT (contact_id, model_id) DO UPDATE SET \
     total = excluded.total, settled_at = excluded.settled_at, updated_at = CASE \
     WHEN contact_scores.total = excluded.total THEN contact_scores.updated_at \
     ELSE excluded.updated_at END";

/// Puts one `score` row per contact on the timeline: its data lists the changes
/// (`[{"score": 1, "from": 0, "to": 20}]`).
async fn write_timeline(
    tx: &mut AnyConnection,
    engine: Engine,
    changes: &[ScoreChange],
    account_of: &BTreeMap<ContactId, AccountId>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut by_contact: BTreeMap<ContactId, Vec<serde_json::Value>> = BTreeMap::new();
    for change in changes {
        by_contact.entry(change.contact).or_default().push(
            serde_json::json!({"score": change.model.0, "from": change.from, "to": change.to}),
        );
    }
    let mut insert = Statement::new(
        engine,
        "INSERT INTO events (account_id, kind, name, contact_id, data, occurred_at, received_at) \
         VALUES ",
    );
    insert.push_rows(by_contact.into_iter().map(|(contact, changes)| {
        [
            Value::from(account_of[&contact].0),
            "score".into(),
            tracklane_core::event::SCORE_CHANGE_NAME.into(),
            contact.0.into(),
            serde_json::Value::Array(changes).to_string().into(),
            now.0.into(),
            now.0.into(),
        ]
    }));
    insert.query().execute(&mut *tx).await?;
    Ok(())
}
