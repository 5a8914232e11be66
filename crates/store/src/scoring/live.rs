//! Scoring in the membership worker's rounds, through the same queue of checks as segments:
//! the timeline rows added to a round's contacts are awarded by the rules over single
//! behaviors that read those kinds of change, the rules held while true whose answer changed
//! award or take back, and the contacts' scores are settled, in the round's transaction. The
//! first expiry of a contact's awards is its next wake-up, like a segment window's.
//!
//! New rows are found from the time of the earliest row added since the contact's last check
//! (`since_at`), read under the row lock of its queued check, so that rows another transaction
//! adds meanwhile note their time after this round commits and are scored by the next one.
//! Rows are scored even when the contact changed again since the round evaluated it (its
//! segments then wait for the newer evaluation): awarding reads the rows themselves, so a
//! contact with a steady flow of events is scored all the same.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, ScoreModelId, ScoreRuleId};
use tracklane_core::score::rule::{ScoreRule, Scoring};
use tracklane_core::segment::Reads;
use tracklane_core::time::Timestamp;

use super::awarding::{award_rows, Scope, AWARD_INSERT};
use super::awards::Awards;
use super::ledger::{ScoreChange, DAY};
use super::settle::{settle_scores, LedgerChanges};
use crate::sql::{Statement, Value};
use crate::{Engine, Store, StoreError};

/// What a round's evaluation asks of scoring for one checked contact (its new rows are
/// looked for in any case, see the module's documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoreWork {
    /// Rules held while true whose answer changed: award (true) or take back (false).
    pub while_true: Vec<(ScoreRuleId, bool)>,
    /// Whether to settle the contact's scores even without new awards (at a wake-up, when
    /// awards may have expired).
    pub settle: bool,
}

/// One checked contact's scoring.
pub(crate) struct Work<'a> {
    /// The contact.
    pub(crate) contact: ContactId,
    /// Its account.
    pub(crate) account: AccountId,
    /// What its evaluation asks; `None` when the contact changed since it was evaluated.
    pub(crate) work: Option<&'a ScoreWork>,
}

/// The rows added to a contact since its last check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewRows {
    /// The kinds of change queued.
    reasons: Reads,
    /// The time of the earliest one.
    since: Timestamp,
}

impl Store {
    /// Which contacts hold an award of which of `rules` (held while true), at each rule's
    /// current revision.
    pub async fn held_score_awards(
        &self,
        contacts: &[ContactId],
        rules: &[&ScoreRule],
    ) -> Result<BTreeSet<(ContactId, ScoreRuleId)>, StoreError> {
        let mut held = BTreeSet::new();
        if rules.is_empty() || contacts.is_empty() {
            return Ok(held);
        }
        let revisions: BTreeMap<ScoreRuleId, i64> =
            rules.iter().map(|rule| (rule.id, rule.revision)).collect();
        let ids: Vec<i64> = revisions.keys().map(|id| id.0).collect();
        for some_rules in ids.chunks(250) {
            for some_contacts in contacts.chunks(250) {
                let mut select = Statement::new(
                    self.engine,
                    "SELECT contact_id, rule_id, revision FROM score_awards WHERE cause = 0 \
                     AND rule_id IN ",
                );
                select
                    .push_row(some_rules.iter().map(|&id| id.into()))
                    .push(" AND contact_id IN ")
                    .push_row(some_contacts.iter().map(|contact| contact.0.into()));
                for row in select.query().fetch_all(&self.reader).await? {
                    let rule = ScoreRuleId(row.try_get("rule_id")?);
                    if revisions.get(&rule) == Some(&row.try_get("revision")?) {
                        held.insert((ContactId(row.try_get("contact_id")?), rule));
                    }
                }
            }
        }
        Ok(held)
    }
}

/// Locks the queued checks of `contacts` that note new rows (in contact order; on PostgreSQL
/// those another transaction holds are left for the next round) and reads what they note.
pub(crate) async fn lock_new_rows(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[ContactId],
) -> Result<BTreeMap<ContactId, NewRows>, StoreError> {
    let mut found = BTreeMap::new();
    for chunk in contacts.chunks(500) {
        let mut select = Statement::new(
            engine,
            "SELECT contact_id, reasons, since_at FROM segment_checks \
             WHERE since_at IS NOT NULL AND contact_id IN ",
        );
        select
            .push_row(chunk.iter().map(|contact| contact.0.into()))
            .push(" ORDER BY contact_id")
            .push(engine.skip_locked());
        for row in select.query().fetch_all(&mut *tx).await? {
            found.insert(
                ContactId(row.try_get("contact_id")?),
                NewRows {
                    reasons: Reads(row.try_get("reasons")?),
                    since: Timestamp(row.try_get("since_at")?),
                },
            );
        }
    }
    Ok(found)
}

/// Does a round's scoring in its transaction (with `rules` as [`with_counted_revisions`]
/// answers them): the new rows awarded (and noted as scored),
/// the awards held while true given or taken back, and the contacts' scores settled, with
/// their next wake-ups queued (see [`settle_scores`]). Returns the score changes.
pub(crate) async fn score_round(
    tx: &mut AnyConnection,
    engine: Engine,
    work: &[Work<'_>],
    new_rows: &BTreeMap<ContactId, NewRows>,
    round: &RoundRules,
    now: Timestamp,
) -> Result<Vec<ScoreChange>, StoreError> {
    let rules = &round.rules;
    // The contacts of accounts whose rules changed since the worker read them wait for the
    // next round, their new rows still noted; those this round took are queued again whole.
    let waiting: Vec<ContactId> = work
        .iter()
        .filter(|one| one.work.is_some() && round.stale.contains(&one.account))
        .map(|one| one.contact)
        .collect();
    requeue(tx, engine, &waiting).await?;
    let work: Vec<&Work<'_>> = work
        .iter()
        .filter(|one| !round.stale.contains(&one.account))
        .collect();
    let mut settling: BTreeMap<ContactId, AccountId> = BTreeMap::new();
    let mut awards = Awards::summed(tx, engine).await?;
    // Rules over single behaviors: each account's contacts with new rows, by the rules that
    // read the kinds of change they note.
    let mut accounts: BTreeMap<AccountId, (Vec<(ContactId, Timestamp)>, Reads)> = BTreeMap::new();
    for one in &work {
        if let Some(rows) = new_rows.get(&one.contact) {
            let (contacts, reasons) = accounts.entry(one.account).or_default();
            contacts.push((one.contact, rows.since));
            *reasons = *reasons | rows.reasons;
        }
    }
    for (account, (contacts, reasons)) in &accounts {
        let each_row: Vec<&ScoreRule> = rules
            .get(account)
            .into_iter()
            .flatten()
            .filter(|rule| {
                Scoring::of(&rule.rule.definition) == Scoring::EachRow
                    && rule.rule.definition.reads().meets(*reasons)
            })
            .collect();
        if !each_row.is_empty() {
            let scope = Scope::Round(contacts);
            award_rows(tx, &mut awards, *account, &each_row, scope, now).await?;
            settling.extend(contacts.iter().map(|&(contact, _)| (contact, *account)));
        }
    }
    let scored: Vec<ContactId> = work
        .iter()
        .map(|one| one.contact)
        .filter(|contact| new_rows.contains_key(contact))
        .collect();
    note_scored(tx, engine, scored).await?;
    // Rules held while true.
    let by_id: BTreeMap<ScoreRuleId, &ScoreRule> = rules
        .values()
        .flatten()
        .map(|rule| (rule.id, rule))
        .collect();
    let mut held = Vec::new();
    let mut taken_back = Vec::new();
    for one in &work {
        let Some(asked) = one.work else { continue };
        if asked.settle || !asked.while_true.is_empty() {
            settling.insert(one.contact, one.account);
        }
        for &(id, holds) in &asked.while_true {
            let Some(rule) = by_id.get(&id) else { continue };
            if holds {
                let expires = rule.rule.expiry_days.map(|days| now.0 + days * DAY);
                held.push([
                    Value::from(one.account.0),
                    rule.model.0.into(),
                    id.0.into(),
                    rule.revision.into(),
                    one.contact.0.into(),
                    0.into(),
                    Value::MaybeInt(None),
                    rule.rule.points.into(),
                    now.0.into(),
                    expires.into(),
                    now.0.into(),
                ]);
            } else {
                taken_back.push([id.0, rule.revision, one.contact.0].map(Value::from));
            }
        }
    }
    for chunk in held.chunks(500) {
        let mut insert = Statement::new(engine, &format!("{AWARD_INSERT}VALUES "));
        insert
            .push_rows(chunk.iter().cloned())
            .push(" ON CONFLICT DO NOTHING");
        awards.insert(tx, &insert).await?;
    }
    let all: Vec<&ScoreRule> = by_id.values().copied().collect();
    let mut changes = LedgerChanges {
        made: awards.made(tx, &all).await?,
        taken_back: Vec::new(),
    };
    for chunk in taken_back.chunks(500) {
        let mut delete = Statement::new(
            engine,
            "DELETE FROM score_awards WHERE cause = 0 AND (rule_id, revision, contact_id) \
             IN (VALUES ",
        );
        delete
            .push_rows(chunk.iter().cloned())
            .push(") RETURNING contact_id, model_id, points, rule_id, revision, expires_at");
        for row in delete.query().fetch_all(&mut *tx).await? {
            let rule = by_id.get(&ScoreRuleId(row.try_get("rule_id")?));
            let revision: i64 = row.try_get("revision")?;
            if rule.is_some_and(|rule| rule.counted_revision == revision) {
                changes.taken_back.push((
                    ContactId(row.try_get("contact_id")?),
                    ScoreModelId(row.try_get("model_id")?),
                    row.try_get("points")?,
                    row.try_get("expires_at")?,
                ));
            }
        }
    }
    let settling: Vec<(ContactId, AccountId)> = settling.into_iter().collect();
    settle_scores(tx, engine, &settling, &changes, now).await
}

/// The rules the worker read before this transaction, with their counted revisions as stored
/// now. Their rows are share-locked until the transaction ends (PostgreSQL): a recompute that
/// makes a revision count then waits for this round, and sums the awards it made; a round
/// after it sees the revision counted. An account whose rules are no longer the stored ones
/// (added, edited, deleted, or a model deleted) is marked stale and scores nothing: its
/// contacts are scored by the next round, with the rules read again. A round takes these
/// locks first, as a recompute takes its rule's, so that neither waits on the other in a
/// cycle.
pub(crate) async fn with_counted_revisions(
    tx: &mut AnyConnection,
    engine: Engine,
    rules: &BTreeMap<AccountId, Vec<ScoreRule>>,
) -> Result<RoundRules, StoreError> {
    let accounts: Vec<i64> = rules.keys().map(|account| account.0).collect();
    let mut stored: BTreeMap<AccountId, BTreeMap<ScoreRuleId, (i64, i64)>> = BTreeMap::new();
    for chunk in accounts.chunks(500) {
        let mut select = Statement::new(
            engine,
            "SELECT id, account_id, revision, counted_revision FROM score_rules \
             WHERE deleted_at IS NULL AND account_id IN ",
        );
        select
            .push_row(chunk.iter().map(|&id| id.into()))
            .push(" ORDER BY id")
            .push(engine.share_lock());
        for row in select.query().fetch_all(&mut *tx).await? {
            stored
                .entry(AccountId(row.try_get("account_id")?))
                .or_default()
                .insert(
                    ScoreRuleId(row.try_get("id")?),
                    (row.try_get("revision")?, row.try_get("counted_revision")?),
                );
        }
    }
    let mut current = RoundRules::default();
    for (&account, read) in rules {
        let now = stored.remove(&account).unwrap_or_default();
        let same = now.len() == read.len()
            && read.iter().all(|rule| {
                now.get(&rule.id)
                    .is_some_and(|&(rev, _)| rev == rule.revision)
            });
        if !same {
            current.stale.insert(account);
            continue;
        }
        let counted = read
            .iter()
            .map(|rule| ScoreRule {
                counted_revision: now[&rule.id].1,
                ..rule.clone()
            })
            .collect();
        current.rules.insert(account, counted);
    }
    Ok(current)
}

/// The rules a round scores by.
#[derive(Debug, Default)]
pub(crate) struct RoundRules {
    /// Each account's rules, with their counted revisions as stored now.
    rules: BTreeMap<AccountId, Vec<ScoreRule>>,
    /// The accounts whose rules changed since the worker read them.
    stale: BTreeSet<AccountId>,
}

/// Queues the contacts (whose checks this round took) for a check of every kind of change.
async fn requeue(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[ContactId],
) -> Result<(), StoreError> {
    for chunk in contacts.chunks(500) {
        let mut update = Statement::new(engine, "UPDATE segment_checks SET reasons = ");
        update
            .push_bind(Reads::EVERYTHING.0)
            .push(", due_at = 0, version = version + 1 WHERE contact_id IN ")
            .push_row(chunk.iter().map(|contact| contact.0.into()));
        update.query().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Notes the contacts' new rows as scored (their checks are locked by this transaction).
async fn note_scored(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: Vec<ContactId>,
) -> Result<(), StoreError> {
    for chunk in contacts.chunks(500) {
        let mut update = Statement::new(
            engine,
            "UPDATE segment_checks SET since_at = NULL WHERE contact_id IN ",
        );
        update.push_row(chunk.iter().map(|contact| contact.0.into()));
        update.query().execute(&mut *tx).await?;
    }
    Ok(())
}
