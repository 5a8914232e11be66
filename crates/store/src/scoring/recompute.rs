//! Scoring past behavior again after a rule is added, edited or deleted, in the background and
//! in steps: each step awards the rule's current revision to the next range of contacts (their
//! past rows, or whether they meet it) and records its progress; the last one makes that
//! revision the counted one and settles the score of every contact the rule ever awarded, in
//! one transaction. Until then the previous revision's awards count, so the scores answered
//! meanwhile are the old, consistent ones. Rounds award new behavior by the current revision
//! meanwhile; awarding twice awards once.

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, ScoreRuleId};
use tracklane_core::score::rule::{ScoreRule, Scoring};
use tracklane_core::segment::Reads;
use tracklane_core::time::Timestamp;

use super::awarding::{award_rows, Scope, AWARD_INSERT};
use super::ledger::{settle_scores, DAY};
use super::rules::{rule, RULE_COLUMNS};
use crate::segments::compute::queue_time_contacts;
use crate::segments::membership::queue_wakeups;
use crate::sql::Statement;
use crate::{Store, StoreError};

/// How many contact ids one step covers.
pub const STEP: i64 = 20_000;

/// What one step of a recompute did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing: the rule's revision is counted already, or another worker holds it.
    Idle,
    /// Scored a range of contacts; more to go.
    Scored,
    /// Made the revision the counted one and settled this many scores that changed.
    Counted(usize),
}

impl Store {
    /// The rules whose current revision is not the counted one yet (added, edited or
    /// deleted), by id.
    pub async fn score_rules_to_count(&self) -> Result<Vec<(AccountId, ScoreRuleId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT account_id, id FROM score_rules WHERE counted_revision < revision ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| Ok((AccountId(row.try_get(0)?), ScoreRuleId(row.try_get(1)?))))
            .collect()
    }

    /// One step of a rule's recompute (see the module's documentation), in one transaction.
    pub async fn recompute_score_rule(
        &self,
        account: AccountId,
        id: ScoreRuleId,
        now: Timestamp,
    ) -> Result<Step, StoreError> {
        self.write(async |tx| {
            let claimed = sqlx::query(&format!(
                "SELECT {RULE_COLUMNS}, deleted_at FROM score_rules \
                 WHERE id = $1 AND account_id = $2{}",
                self.engine.skip_locked()
            ))
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = claimed else {
                return Ok(Step::Idle);
            };
            let deleted = row.try_get::<Option<i64>, _>("deleted_at")?.is_some();
            let rule = rule(&row)?;
            if rule.ready() {
                return Ok(Step::Idle);
            }
            let total = if rule.progress.total == 0 {
                let last: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(id) FROM contacts WHERE account_id = $1")
                        .bind(account.0)
                        .fetch_one(&mut *tx)
                        .await?;
                last.unwrap_or(0) + 1
            } else {
                rule.progress.total
            };
            let from = rule.progress.done;
            if deleted || from >= total {
                return self.count_revision(tx, account, &rule, deleted, now).await;
            }
            let until = (from + STEP).min(total);
            match Scoring::of(&rule.rule.definition) {
                Scoring::EachRow => {
                    award_rows(
                        tx,
                        self.engine,
                        account,
                        &rule,
                        Scope::Range(from, until),
                        now,
                    )
                    .await?;
                }
                Scoring::WhileTrue => {
                    self.award_met(tx, account, &rule, (from, until), now)
                        .await?
                }
            }
            sqlx::query(
                "UPDATE score_rules SET progress_done = $1, progress_total = $2 WHERE id = $3",
            )
            .bind(until)
            .bind(total)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            Ok(Step::Scored)
        })
        .await
    }

    /// Awards a rule held while true to the contacts in `from..until` that meet it now.
    async fn award_met(
        &self,
        tx: &mut AnyConnection,
        account: AccountId,
        rule: &ScoreRule,
        (from, until): (i64, i64),
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let filter = self.segment_filter(account, &rule.rule.definition, now)?;
        let expires = match rule.rule.expiry_days {
            Some(days) => (now.0 + days * DAY).to_string(),
            None => "NULL".to_owned(),
        };
        let mut insert = Statement::with_head(
            &format!(
                "{AWARD_INSERT}SELECT c.account_id, {model}, {id}, {revision}, c.id, 0, NULL, \
                 {points}, {now}, {expires}, {now}",
                model = rule.model.0,
                id = rule.id.0,
                revision = rule.revision,
                points = rule.rule.points,
                now = now.0,
            ),
            &filter,
        );
        insert
            .and(" AND c.id >= ", from)
            .and(" AND c.id < ", until)
            .push(" ON CONFLICT DO NOTHING");
        insert.query().execute(&mut *tx).await?;
        Ok(())
    }

    /// Makes the rule's current revision the counted one, and settles the scores of every
    /// contact the rule ever awarded (their next expiries queued). A rule held while true over
    /// a moving window queues the contacts whose answer time may move.
    async fn count_revision(
        &self,
        tx: &mut AnyConnection,
        account: AccountId,
        rule: &ScoreRule,
        deleted: bool,
        now: Timestamp,
    ) -> Result<Step, StoreError> {
        sqlx::query(
            "UPDATE score_rules SET counted_revision = revision, progress_done = progress_total \
             WHERE id = $1",
        )
        .bind(rule.id.0)
        .execute(&mut *tx)
        .await?;
        let contacts: Vec<(ContactId, AccountId)> = sqlx::query(
            "SELECT DISTINCT contact_id FROM score_awards WHERE rule_id = $1 ORDER BY contact_id",
        )
        .bind(rule.id.0)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| Ok((ContactId(row.try_get(0)?), account)))
        .collect::<Result<_, sqlx::Error>>()?;
        let settled = settle_scores(tx, self.engine, &contacts, now).await?;
        let wakeups: Vec<_> = settled
            .next_expiry
            .iter()
            .map(|(&contact, &at)| (contact, account, at))
            .collect();
        queue_wakeups(tx, self.engine, &wakeups).await?;
        let definition = &rule.rule.definition;
        if !deleted
            && Scoring::of(definition) == Scoring::WhileTrue
            && definition.reads().meets(Reads::TIME)
        {
            queue_time_contacts(tx, self.engine, account, definition, now).await?;
        }
        Ok(Step::Counted(settled.changes.len()))
    }
}
