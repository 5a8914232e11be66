//! Scoring in the membership worker's rounds, through the same queue of checks as segments:
//! the rules held while true whose answer changed award or take back, and the contacts'
//! scores are settled, in the round's transaction. The first expiry of a contact's awards is
//! its next wake-up, like a segment window's. The rows added to contacts are awarded apart
//! from the rounds (see [`super::new_rows`]).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, ScoreModelId, ScoreRuleId};
use tracklane_core::score::rule::ScoreRule;
use tracklane_core::segment::Reads;
use tracklane_core::time::Timestamp;

use super::awarding::AWARD_INSERT;
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
                    "SELECT contact_id, rule_id, revision FROM score_awards",
                );
                select
                    .push(self.engine.held_awards_index())
                    .push(" WHERE cause = 0 AND rule_id IN ")
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

/// Does a round's scoring in its transaction (with `rules` as [`with_counted_revisions`]
/// answers them): the awards held while true given or taken back, and the contacts' scores
/// settled, with their next wake-ups queued (see [`settle_scores`]). Returns the score
/// changes.
pub(crate) async fn score_round(
    tx: &mut AnyConnection,
    engine: Engine,
    work: &[Work<'_>],
    round: &RoundRules,
    now: Timestamp,
) -> Result<Vec<ScoreChange>, StoreError> {
    let rules = &round.rules;
    // The contacts of accounts whose rules changed since the worker read them wait for the
    // next round: those this round took are queued again whole.
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
    pub(super) rules: BTreeMap<AccountId, Vec<ScoreRule>>,
    /// The accounts whose rules changed since the worker read them.
    pub(super) stale: BTreeSet<AccountId>,
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
