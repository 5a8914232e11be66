//! Scoring in the membership worker's rounds, through the same queue of checks as segments: a
//! checked contact's new timeline rows are awarded by the rules over single behaviors that
//! read that kind of change, the rules held while true whose answer changed award or take
//! back, and its scores are settled, in the round's transaction. The first expiry of a
//! contact's awards is its next wake-up, like a segment window's.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, ScoreRuleId};
use tracklane_core::score::rule::ScoreRule;
use tracklane_core::time::Timestamp;

use super::awarding::{award_rows, Scope, AWARD_INSERT};
use super::ledger::{settle_scores, ScoreChange, DAY};
use crate::segments::membership::queue_wakeups;
use crate::sql::{Statement, Value};
use crate::{Engine, Store, StoreError};

/// What a round asks of scoring for one checked contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoreWork {
    /// Rules over single behaviors to award the contact's new rows by.
    pub each_row: Vec<ScoreRuleId>,
    /// Rules held while true whose answer changed: award (true) or take back (false).
    pub while_true: Vec<(ScoreRuleId, bool)>,
    /// Whether to settle the contact's scores (after any work above, or at a wake-up, when
    /// awards may have expired).
    pub settle: bool,
}

/// One taken check's scoring work.
pub(crate) struct Work<'a> {
    /// The contact.
    pub(crate) contact: ContactId,
    /// Its account.
    pub(crate) account: AccountId,
    /// The time of its earliest timeline row added since its last check.
    pub(crate) since: Option<Timestamp>,
    /// What to do.
    pub(crate) work: &'a ScoreWork,
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
        let mut select = Statement::new(
            self.engine,
            "SELECT contact_id, rule_id, revision FROM score_awards WHERE cause = 0 \
             AND rule_id IN ",
        );
        select
            .push_row(revisions.keys().map(|id| id.0.into()))
            .push(" AND contact_id IN ")
            .push_row(contacts.iter().map(|contact| contact.0.into()));
        for row in select.query().fetch_all(&self.reader).await? {
            let rule = ScoreRuleId(row.try_get("rule_id")?);
            if revisions.get(&rule) == Some(&row.try_get("revision")?) {
                held.insert((ContactId(row.try_get("contact_id")?), rule));
            }
        }
        Ok(held)
    }
}

/// Does a round's scoring work in its transaction: awards, awards taken back, and the
/// contacts' scores settled, with their next wake-ups queued. Returns the score changes.
pub(crate) async fn score_round(
    tx: &mut AnyConnection,
    engine: Engine,
    work: &[Work<'_>],
    rules: &BTreeMap<ScoreRuleId, ScoreRule>,
    now: Timestamp,
) -> Result<Vec<ScoreChange>, StoreError> {
    // Rules over single behaviors: one statement per rule over its contacts' new rows.
    let mut each_row: BTreeMap<(AccountId, ScoreRuleId), (Vec<ContactId>, Timestamp)> =
        BTreeMap::new();
    for one in work {
        let Some(since) = one.since else { continue };
        for &rule in &one.work.each_row {
            let (contacts, earliest) = each_row
                .entry((one.account, rule))
                .or_insert((Vec::new(), since));
            contacts.push(one.contact);
            *earliest = (*earliest).min(since);
        }
    }
    for ((account, id), (contacts, since)) in &each_row {
        if let Some(rule) = rules.get(id) {
            let scope = Scope::Round(contacts, *since);
            award_rows(tx, engine, *account, rule, scope, now).await?;
        }
    }
    // Rules held while true.
    let mut awards = Vec::new();
    let mut taken_back = Vec::new();
    for one in work {
        for &(id, holds) in &one.work.while_true {
            let Some(rule) = rules.get(&id) else { continue };
            if holds {
                let expires = rule.rule.expiry_days.map(|days| now.0 + days * DAY);
                awards.push([
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
    for chunk in awards.chunks(500) {
        let mut insert = Statement::new(engine, &format!("{AWARD_INSERT}VALUES "));
        insert
            .push_rows(chunk.iter().cloned())
            .push(" ON CONFLICT DO NOTHING");
        insert.query().execute(&mut *tx).await?;
    }
    for chunk in taken_back.chunks(500) {
        let mut delete = Statement::new(
            engine,
            "DELETE FROM score_awards WHERE cause = 0 AND (rule_id, revision, contact_id) \
             IN (VALUES ",
        );
        delete.push_rows(chunk.iter().cloned()).push(")");
        delete.query().execute(&mut *tx).await?;
    }
    let settling: Vec<(ContactId, AccountId)> = work
        .iter()
        .filter(|one| one.work.settle)
        .map(|one| (one.contact, one.account))
        .collect();
    let settled = settle_scores(tx, engine, &settling, now).await?;
    let account_of: BTreeMap<ContactId, AccountId> = settling.into_iter().collect();
    let wakeups: Vec<_> = settled
        .next_expiry
        .iter()
        .map(|(&contact, &at)| (contact, account_of[&contact], at))
        .collect();
    queue_wakeups(tx, engine, &wakeups).await?;
    Ok(settled.changes)
}
