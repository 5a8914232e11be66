//! Scoring past behavior again after a rule is added, edited or deleted, in the background and
//! in steps: each step awards the rule's current revision to the next range of contacts (their
//! past rows, or whether they meet it) and records its progress; the last one makes that
//! revision the counted one and settles the score of every contact the rule ever awarded, in
//! one transaction. Until then the previous revision's awards count, so the scores answered
//! meanwhile are the old, consistent ones. The scorer awards new behavior by the current
//! revision meanwhile; awarding twice awards once.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};
use tracklane_core::automation::trigger::SCORE_REACHED;
use tracklane_core::event::SCORE_CHANGE_NAME;
use tracklane_core::ids::{AccountId, ContactId, ScoreRuleId};
use tracklane_core::score::rule::{ScoreRule, Scoring};
use tracklane_core::segment::Reads;
use tracklane_core::time::Timestamp;

use super::awarding::{award_rows, Scope, AWARD_INSERT};
use super::awards::Awards;
use super::ledger::{ScoreChange, COUNTED, DAY};
use super::rules::{rule, RULE_COLUMNS};
use super::settle::{reads_scores, SCORE_UPSERT};
use crate::automations::entries::enter_by_scores;
use crate::segments::compute::queue_time_contacts;
use crate::segments::compute::REQUEUE;
use crate::sql::Statement;
use crate::{Engine, Store, StoreError};

/// How many contact ids one step covers at most.
const STEP: i64 = 20_000;

/// How many timeline rows one step covers at most (but a contact's own, which one step covers
/// whole), so that a range of very active contacts does not hold the writer for long: at 1M
/// contacts and 20M rows, the first 20,000 contacts of the bench's data set hold 5.5M rows,
/// and their step held SQLite's writer (and so the ingest) 14 to 21 s.
pub const RECOMPUTE_STEP_ROWS: i64 = 400_000;

/// What one step of a recompute did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing: the rule's revision is counted and the ones before swept already, or another
    /// worker holds it.
    Idle,
    /// Scored a range of contacts; more to go.
    Scored,
    /// Made the revision the counted one and settled this many scores that changed.
    Counted(usize),
    /// Deleted the awards of the revisions before the counted one of a range of contacts.
    Swept,
}

/// The key space of the advisory locks that claim a rule's recompute (PostgreSQL).
const RECOMPUTE_LOCKS: i32 = 1;

/// Claims the recompute of rule `id` for this transaction: on PostgreSQL, a tried advisory
/// lock keyed by the rule, so that two workers never queue behind each other on the rule's
/// row (one of them steps, the other passes); SQLite has one writer.
async fn claim_recompute(
    tx: &mut AnyConnection,
    engine: Engine,
    id: ScoreRuleId,
) -> Result<bool, StoreError> {
    if engine == Engine::Sqlite {
        return Ok(true);
    }
    Ok(
        sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock($1, CAST($2 % 2147483647 AS INTEGER))",
        )
        .bind(RECOMPUTE_LOCKS)
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?,
    )
}

impl Store {
    /// The rules with steps to take, by id: their current revision is not the counted one yet
    /// (added, edited or deleted), or the awards of the revisions before it are to be swept.
    pub async fn score_rules_to_step(&self) -> Result<Vec<(AccountId, ScoreRuleId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT account_id, id FROM score_rules \
             WHERE counted_revision < revision OR sweep_from IS NOT NULL ORDER BY id",
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
            if !claim_recompute(tx, self.engine, id).await? {
                return Ok(Step::Idle);
            }
            // Waits for the rounds and scorer steps that read the rule (they hold its row
            // shared, and take nothing before it), and holds the rounds that come after: a
            // recompute that skipped a locked row would starve under a flood of events.
            let claimed = sqlx::query(&format!(
                "SELECT {RULE_COLUMNS}, deleted_at, repriced_from, sweep_from FROM score_rules \
                 WHERE id = $1 AND account_id = $2{}",
                self.engine.lock_for_change()
            ))
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = claimed else {
                return Ok(Step::Idle);
            };
            let deleted = row.try_get::<Option<i64>, _>("deleted_at")?.is_some();
            let repriced_from: Option<i64> = row.try_get("repriced_from")?;
            let rule = rule(&row)?;
            if rule.ready() {
                return match row.try_get::<Option<i64>, _>("sweep_from")? {
                    Some(from) => {
                        let until = self.step_end(tx, account, from, from + STEP).await?;
                        sweep(tx, &rule, (from, until)).await
                    }
                    None => Ok(Step::Idle),
                };
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
                return self
                    .count_revision(tx, account, &rule, deleted, total, now)
                    .await;
            }
            let until = self
                .step_end(tx, account, from, (from + STEP).min(total))
                .await?;
            match (Scoring::of(&rule.rule.definition), repriced_from) {
                (Scoring::EachRow, Some(basis)) => {
                    reprice(tx, &rule, basis, (from, until), now).await?;
                }
                (Scoring::EachRow, None) => {
                    let mut awards = Awards::unsummed(self.engine);
                    let scope = Scope::Range(from, until);
                    award_rows(tx, &mut awards, account, &[&rule], scope, now).await?;
                }
                (Scoring::WhileTrue, _) => {
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

    /// Where a step from contact id `from` ends: at `most`, or before the contact whose rows
    /// would take it past the store's bound on timeline rows ([`RECOMPUTE_STEP_ROWS`]), or
    /// after that contact when its rows are the first of the step. Read through the
    /// timeline's index by contact, up to the bound.
    async fn step_end(
        &self,
        tx: &mut AnyConnection,
        account: AccountId,
        from: i64,
        most: i64,
    ) -> Result<i64, StoreError> {
        const ROWS: &str = "FROM events WHERE account_id = $1 AND contact_id >= $2 \
             AND contact_id < $3 ORDER BY contact_id LIMIT 1";
        let row = sqlx::query(&format!(
            "SELECT (SELECT contact_id {ROWS}) AS first, \
             (SELECT contact_id {ROWS} OFFSET $4) AS past_bound"
        ))
        .bind(account.0)
        .bind(from)
        .bind(most)
        .bind(self.recompute_step_rows)
        .fetch_one(&mut *tx)
        .await?;
        let first: Option<i64> = row.try_get("first")?;
        Ok(match row.try_get::<Option<i64>, _>("past_bound")? {
            None => most,
            Some(contact) if Some(contact) == first => contact + 1,
            Some(contact) => contact,
        })
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

    /// Makes the rule's current revision the counted one, and settles, set-wise, the score in
    /// its model of every contact the rule ever awarded: a timeline row for each change, the
    /// new score, the first expiry of the new awards as a wake-up, and a check of the segments
    /// that read scores. A rule held while true over a moving window queues the contacts whose
    /// answer time may move. The awards of the revisions before, which count no more, are
    /// swept from the ledger by the steps that follow, over the contacts below `total`.
    async fn count_revision(
        &self,
        tx: &mut AnyConnection,
        account: AccountId,
        rule: &ScoreRule,
        deleted: bool,
        total: i64,
        now: Timestamp,
    ) -> Result<Step, StoreError> {
        sqlx::query(
            "UPDATE score_rules SET counted_revision = revision, progress_done = $1, \
             progress_total = $1, repriced_from = NULL, \
             sweep_from = CASE WHEN revision > 1 THEN 0 END WHERE id = $2",
        )
        .bind(total)
        .bind(rule.id.0)
        .execute(&mut *tx)
        .await?;
        let (id, model, revision, now) = (rule.id.0, rule.model.0, rule.revision, now.0);
        let account = account.0;
        // The contacts the rule ever awarded, with their scores before and after, kept in a
        // temporary table: the awards are read once. Every number here is an integer of
        // ours, written as a literal.
        sqlx::query(
            "CREATE TEMP TABLE rescored (contact_id BIGINT PRIMARY KEY, before BIGINT NOT NULL, \
             after BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO rescored (contact_id, before, after) \
             SELECT DISTINCT contact_id, 0, 0 FROM score_awards WHERE rule_id = {id}"
        ))
        .execute(&mut *tx)
        .await?;
        if self.engine == Engine::Postgres {
            // The scores of the contacts the rule ever awarded are held (see `holds`), locked
            // in contact order, after the rule's row, as every writer of scores takes them:
            // set-wise, as there may be a million of them.
            sqlx::query(
                "SELECT COUNT(*) FROM (SELECT h.contact_id FROM score_holds h \
                 WHERE h.contact_id IN (SELECT contact_id FROM rescored) \
                 ORDER BY h.contact_id FOR NO KEY UPDATE) held",
            )
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(&format!(
            "UPDATE rescored SET before = COALESCE((SELECT s.total FROM contact_scores s \
             WHERE s.contact_id = rescored.contact_id AND s.model_id = {model}), 0), \
             after = COALESCE((SELECT CAST(SUM(a.points) AS BIGINT) FROM score_awards a \
             WHERE a.contact_id = rescored.contact_id AND a.model_id = {model} AND {COUNTED} \
             AND (a.expires_at IS NULL OR a.expires_at > {now})), 0)"
        ))
        .execute(&mut *tx)
        .await?;
        let changes: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM rescored WHERE before <> after")
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(&format!(
            "INSERT INTO events (account_id, kind, name, contact_id, data, occurred_at, \
             received_at) SELECT {account}, 'score', '{SCORE_CHANGE_NAME}', c.contact_id, \
             '[{{\"score\":{model},\"from\":' || c.before || ',\"to\":' || c.after || '}}]', \
             {now}, {now} FROM rescored c WHERE c.before <> c.after"
        ))
        .execute(&mut *tx)
        .await?;
        // Every score the rule touches is stored settled now, changed or not, so that no expiry
        // is taken off twice.
        sqlx::query(&format!(
            "INSERT INTO contact_scores (account_id, contact_id, model_id, total, settled_at, \
             created_at, updated_at) SELECT {account}, c.contact_id, {model}, c.after, {now}, \
             {now}, {now} FROM rescored c WHERE 1 = 1{SCORE_UPSERT}"
        ))
        .execute(&mut *tx)
        .await?;
        scores_reached(tx, self.engine, AccountId(account), rule, now).await?;
        sqlx::query("DROP TABLE rescored").execute(&mut *tx).await?;
        if rule.rule.expiry_days.is_some() {
            let least = self.engine.least();
            sqlx::query(&format!(
                "INSERT INTO segment_checks (contact_id, account_id, reasons, due_at, wake_at) \
                 SELECT a.contact_id, {account}, 0, MIN(a.expires_at), MIN(a.expires_at) \
                 FROM score_awards a WHERE a.rule_id = {id} AND a.revision = {revision} \
                 AND a.expires_at > {now} GROUP BY a.contact_id ORDER BY a.contact_id \
                 ON CONFLICT (contact_id) DO UPDATE SET \
                 due_at = {least}(segment_checks.due_at, excluded.due_at), \
                 wake_at = {least}(segment_checks.wake_at, excluded.wake_at), \
                 version = segment_checks.version + 1"
            ))
            .execute(&mut *tx)
            .await?;
        }
        let account = AccountId(account);
        if reads_scores(tx, account).await? {
            sqlx::query(&format!(
                "INSERT INTO segment_checks (contact_id, account_id, reasons, due_at) \
                 SELECT contact_id, account_id, {reasons}, 0 FROM contact_scores \
                 WHERE model_id = {model} AND updated_at = {now} ORDER BY contact_id{REQUEUE}",
                reasons = Reads::SCORE.0,
            ))
            .execute(&mut *tx)
            .await?;
        }
        let definition = &rule.rule.definition;
        if !deleted
            && Scoring::of(definition) == Scoring::WhileTrue
            && definition.reads().meets(Reads::TIME)
        {
            queue_time_contacts(tx, self.engine, account, definition, Timestamp(now)).await?;
        }
        Ok(Step::Counted(
            usize::try_from(changes).unwrap_or(usize::MAX),
        ))
    }
}

/// Awards the rule's current revision to the contacts in `from..until` by copying revision
/// `basis`'s awards at the current points (see `rules::push_repriced_from`): the same causes,
/// times and expiries, without reading past behavior again. Awards expired already are left
/// out, as a recompute from the timeline leaves them out.
async fn reprice(
    tx: &mut AnyConnection,
    rule: &ScoreRule,
    basis: i64,
    (from, until): (i64, i64),
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "{AWARD_INSERT}SELECT account_id, model_id, rule_id, $1, contact_id, cause, event_id, \
         $2, awarded_at, expires_at, $3 FROM score_awards WHERE contact_id >= $4 \
         AND contact_id < $5 AND rule_id = $6 AND revision = $7 \
         AND (expires_at IS NULL OR expires_at > $3) ON CONFLICT DO NOTHING"
    ))
    .bind(rule.revision)
    .bind(rule.rule.points)
    .bind(now.0)
    .bind(from)
    .bind(until)
    .bind(rule.id.0)
    .bind(basis)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Deletes the awards of the rule's revisions before the counted one (which count no more) of
/// the contacts in `from..until`, and records how far the sweep has gone: to the end when it
/// reaches the contacts the recompute went over.
async fn sweep(
    tx: &mut AnyConnection,
    rule: &ScoreRule,
    (from, until): (i64, i64),
) -> Result<Step, StoreError> {
    sqlx::query(
        "DELETE FROM score_awards WHERE contact_id >= $1 AND contact_id < $2 AND rule_id = $3 \
         AND revision < $4",
    )
    .bind(from)
    .bind(until)
    .bind(rule.id.0)
    .bind(rule.counted_revision)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE score_rules SET sweep_from = CASE WHEN $1 < progress_total THEN $1 END \
         WHERE id = $2",
    )
    .bind(until)
    .bind(rule.id.0)
    .execute(&mut *tx)
    .await?;
    Ok(Step::Swept)
}

/// Enters the contacts whose scores in the rule's model rose across a `scoreReached` trigger's
/// threshold (the recompute's `rescored` table) into its automation, as a scorer step's
/// settling does. Nothing is read when no trigger watches the model.
async fn scores_reached(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    rule: &ScoreRule,
    now: i64,
) -> Result<(), StoreError> {
    let watched: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM automation_triggers WHERE account_id = $1 AND kind = $2 AND target = $3 \
         LIMIT 1",
    )
    .bind(account.0)
    .bind(SCORE_REACHED)
    .bind(rule.model.0)
    .fetch_optional(&mut *tx)
    .await?;
    if watched.is_none() {
        return Ok(());
    }
    let rows = sqlx::query(
        "SELECT contact_id, before, after FROM rescored WHERE after > before ORDER BY contact_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut changes = Vec::with_capacity(rows.len());
    let mut account_of = BTreeMap::new();
    for row in rows {
        let contact = ContactId(row.try_get("contact_id")?);
        account_of.insert(contact, account);
        changes.push(ScoreChange {
            contact,
            model: rule.model,
            from: row.try_get("before")?,
            to: row.try_get("after")?,
        });
    }
    enter_by_scores(tx, engine, &changes, &account_of, Timestamp(now)).await
}
