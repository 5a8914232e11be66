//! Scoring rules: kept with their revision, so that an edit scores past behavior again in the
//! background (see `recompute`) while the previous revision's awards still count; an edit of
//! the points alone copies the counted revision's awards at the new points. A deleted rule
//! keeps its row; its deletion is a last revision that awards nothing.

use sqlx::any::AnyRow;
use sqlx::Row;
use tracklane_core::ids::{AccountId, ScoreModelId, ScoreRuleId};
use tracklane_core::invalid::Invalid;
use tracklane_core::page::Page;
use tracklane_core::score::rule::{Cap, Frequency, Progress, RuleDraft, ScoreRule, Scoring};
use tracklane_core::segment::Definition;
use tracklane_core::time::Timestamp;

use crate::listing::{all_of, page_of, Listed};
use crate::segments::definition_text;
use crate::sql::Statement;
use crate::writes::Written;
use crate::{Model, Store, StoreError};

/// The most rules (not deleted) an account has: every round reads them, and the rules over one
/// behavior are one statement each.
pub const RULES_MAX: i64 = 500;

/// The columns [`rule`] reads.
pub(super) const RULE_COLUMNS: &str = "id, model_id, definition, points, expiry_days, once, \
     cap_points, cap_days, revision, counted_revision, progress_done, progress_total, \
     created_at, updated_at";

/// A stored rule row.
pub(super) fn rule(row: &AnyRow) -> Result<ScoreRule, sqlx::Error> {
    let definition: String = row.try_get("definition")?;
    let cap_points: Option<i64> = row.try_get("cap_points")?;
    let cap_days: Option<i64> = row.try_get("cap_days")?;
    Ok(ScoreRule {
        id: ScoreRuleId(row.try_get("id")?),
        model: ScoreModelId(row.try_get("model_id")?),
        rule: RuleDraft {
            definition: Definition::parse(&definition)
                .map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
            points: row.try_get("points")?,
            expiry_days: row.try_get("expiry_days")?,
            frequency: if row.try_get::<i64, _>("once")? != 0 {
                Frequency::Once
            } else {
                Frequency::EveryTime
            },
            cap: cap_points
                .zip(cap_days)
                .map(|(points, days)| Cap { points, days }),
        },
        revision: row.try_get("revision")?,
        counted_revision: row.try_get("counted_revision")?,
        progress: Progress {
            done: row.try_get("progress_done")?,
            total: row.try_get("progress_total")?,
        },
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

/// The columns a rule's draft is written to, with their values.
fn draft_values(draft: &RuleDraft) -> [(&'static str, crate::sql::Value); 6] {
    [
        ("definition", definition_text(&draft.definition).into()),
        ("points", draft.points.into()),
        ("expiry_days", draft.expiry_days.into()),
        ("once", i64::from(draft.frequency == Frequency::Once).into()),
        ("cap_points", draft.cap.map(|cap| cap.points).into()),
        ("cap_days", draft.cap.map(|cap| cap.days).into()),
    ]
}

/// Appends `, repriced_from = ...` to an update of a rule to `draft`: the counted revision,
/// whose awards the recompute then copies at the new points, when the edit changes the points
/// alone of a rule over single behaviors without a cap, and the counted revision was awarded
/// by the same condition (it is the current one, or the recompute in progress copies it too);
/// NULL otherwise. The row's values before the update are compared, in the statement itself,
/// so that concurrent edits compare with each other's outcome.
fn push_repriced_from(update: &mut Statement, draft: &RuleDraft) {
    if draft.cap.is_some() || Scoring::of(&draft.definition) != Scoring::EachRow {
        update.push(", repriced_from = NULL");
        return;
    }
    update
        .and(
            ", repriced_from = CASE WHEN cap_points IS NULL \
             AND (counted_revision = revision OR repriced_from IS NOT NULL) AND definition = ",
            definition_text(&draft.definition),
        )
        .and(
            " AND COALESCE(expiry_days, 0) = ",
            draft.expiry_days.unwrap_or(0),
        )
        .and(
            " AND once = ",
            i64::from(draft.frequency == Frequency::Once),
        )
        .push(" THEN counted_revision END");
}

impl Store {
    /// Adds a rule to a model; past behavior is scored by it in the background (the rule is
    /// not [`ready`](ScoreRule::ready) until then). Refuses a condition that names what the
    /// account does not have.
    pub async fn create_score_rule(
        &self,
        account: AccountId,
        model: ScoreModelId,
        draft: RuleDraft,
        now: Timestamp,
    ) -> Result<ScoreRule, StoreError> {
        self.existing_score_model(account, model).await?;
        self.admit_definition(account, &draft.definition, now)
            .await?;
        let rules: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM score_rules WHERE account_id = $1 AND deleted_at IS NULL",
        )
        .bind(account.0)
        .fetch_one(&self.reader)
        .await?;
        if rules >= RULES_MAX {
            return Err(Invalid::bad_value(
                "scoreRule",
                format!("an account has at most {RULES_MAX} scoring rules"),
            )
            .into());
        }
        let values = draft_values(&draft);
        let columns: Vec<&str> = values.iter().map(|(column, _)| *column).collect();
        let mut insert = Statement::new(
            self.engine,
            &format!(
                "INSERT INTO score_rules (account_id, model_id, created_at, updated_at, {}) \
                 VALUES ",
                columns.join(", ")
            ),
        );
        insert.push_row(
            [account.0, model.0, now.0, now.0]
                .map(Into::into)
                .into_iter()
                .chain(values.into_iter().map(|(_, value)| value)),
        );
        insert.push(" RETURNING id");
        let id: i64 = insert
            .query()
            .fetch_one(&self.writer)
            .written(self)
            .await?
            .try_get(0)?;
        self.existing_score_rule(account, ScoreRuleId(id)).await
    }

    /// The rule with this id (not deleted), or [`StoreError::NotFound`].
    pub async fn existing_score_rule(
        &self,
        account: AccountId,
        id: ScoreRuleId,
    ) -> Result<ScoreRule, StoreError> {
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {RULE_COLUMNS} FROM score_rules WHERE account_id = "),
        );
        select
            .push_bind(account.0)
            .and(" AND id = ", id.0)
            .push(" AND deleted_at IS NULL");
        all_of(&self.reader, &select, rule)
            .await?
            .pop()
            .ok_or(StoreError::NotFound {
                model: Model::ScoreRule,
                id: id.0,
            })
    }

    /// One page of a model's rules, oldest first.
    pub async fn score_rules(
        &self,
        account: AccountId,
        model: ScoreModelId,
        page: Page,
    ) -> Result<Listed<ScoreRule>, StoreError> {
        self.existing_score_model(account, model).await?;
        let mut filter = Statement::new(self.engine, " FROM score_rules WHERE account_id = ");
        filter
            .push_bind(account.0)
            .and(" AND model_id = ", model.0)
            .push(" AND deleted_at IS NULL");
        page_of(&self.reader, RULE_COLUMNS, &filter, "id ASC", page, rule).await
    }

    /// Every rule of the account that is not deleted, by id (for the membership worker).
    pub async fn account_score_rules(
        &self,
        account: AccountId,
    ) -> Result<Vec<ScoreRule>, StoreError> {
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {RULE_COLUMNS} FROM score_rules WHERE account_id = "),
        );
        select
            .push_bind(account.0)
            .push(" AND deleted_at IS NULL ORDER BY id");
        all_of(&self.reader, &select, rule).await
    }

    /// Replaces a rule with `draft`: a new revision, whose awards are recomputed over past
    /// behavior in the background while the previous revision's still count.
    pub async fn replace_score_rule(
        &self,
        account: AccountId,
        id: ScoreRuleId,
        draft: RuleDraft,
        now: Timestamp,
    ) -> Result<ScoreRule, StoreError> {
        self.existing_score_rule(account, id).await?;
        self.admit_definition(account, &draft.definition, now)
            .await?;
        let mut update = Statement::new(self.engine, "UPDATE score_rules SET updated_at = ");
        update.push_bind(now.0);
        push_repriced_from(&mut update, &draft);
        for (column, value) in draft_values(&draft) {
            update.and(&format!(", {column} = "), value);
        }
        self.new_revision(update, account, id).await?;
        self.existing_score_rule(account, id).await
    }

    /// Deletes a rule: its awards stop counting once the scores are recomputed in the
    /// background, and are swept from the ledger after that.
    pub async fn delete_score_rule(
        &self,
        account: AccountId,
        id: ScoreRuleId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.existing_score_rule(account, id).await?;
        let mut update = Statement::new(self.engine, "UPDATE score_rules SET deleted_at = ");
        update.push_bind(now.0).and(", updated_at = ", now.0);
        self.new_revision(update, account, id).await
    }

    /// Runs `update` (`UPDATE score_rules SET ...`) as the rule's next revision, whose
    /// recompute starts from nothing.
    async fn new_revision(
        &self,
        mut update: Statement,
        account: AccountId,
        id: ScoreRuleId,
    ) -> Result<(), StoreError> {
        update
            .push(", revision = revision + 1, progress_done = 0, progress_total = 0")
            .and(" WHERE account_id = ", account.0)
            .and(" AND id = ", id.0);
        update.query().execute(&self.writer).written(self).await?;
        Ok(())
    }
}
