//! Scoring models: their names and descriptions. Deleting one takes its rules, its ledger and
//! its scores with it; it is refused while a segment's definition reads its scores.

use sqlx::any::AnyRow;
use sqlx::Row;
use tracklane_core::ids::{AccountId, ScoreModelId};
use tracklane_core::invalid::Invalid;
use tracklane_core::page::Page;
use tracklane_core::score::model::{ModelDraft, ModelPatch, ScoreModel};
use tracklane_core::score::rule::Progress;
use tracklane_core::time::Timestamp;

use crate::listing::{owned_row, page_of, Listed};
use crate::sql::Statement;
use crate::writes::Written;
use crate::{Model, Store, StoreError};

/// The columns [`model`] reads.
const MODEL_COLUMNS: &str = "id, name, description, created_at, updated_at, \
     (SELECT COUNT(*) FROM score_rules r WHERE r.model_id = score_models.id \
     AND r.counted_revision < r.revision) AS recomputing, \
     (SELECT CAST(COALESCE(SUM(r.progress_done), 0) AS BIGINT) FROM score_rules r \
     WHERE r.model_id = score_models.id AND r.counted_revision < r.revision) AS progress_done, \
     (SELECT CAST(COALESCE(SUM(r.progress_total), 0) AS BIGINT) FROM score_rules r \
     WHERE r.model_id = score_models.id AND r.counted_revision < r.revision) AS progress_total";

/// A stored model row.
fn model(row: &AnyRow) -> Result<ScoreModel, sqlx::Error> {
    Ok(ScoreModel {
        id: ScoreModelId(row.try_get("id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        recomputing: row.try_get("recomputing")?,
        progress: Progress {
            done: row.try_get("progress_done")?,
            total: row.try_get("progress_total")?,
        },
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

impl Store {
    /// Saves a new scoring model (with no rules yet).
    pub async fn create_score_model(
        &self,
        account: AccountId,
        draft: ModelDraft,
        now: Timestamp,
    ) -> Result<ScoreModel, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO score_models (account_id, name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(account.0)
        .bind(draft.name)
        .bind(draft.description)
        .bind(now.0)
        .fetch_one(&self.writer)
        .written(self)
        .await?;
        self.existing_score_model(account, ScoreModelId(id)).await
    }

    /// The model with this id, or [`StoreError::NotFound`].
    pub async fn existing_score_model(
        &self,
        account: AccountId,
        id: ScoreModelId,
    ) -> Result<ScoreModel, StoreError> {
        let key = (Model::ScoreModel, account, id.0);
        owned_row(&self.reader, "score_models", MODEL_COLUMNS, key, model).await
    }

    /// One page of the account's models, oldest first.
    pub async fn score_models(
        &self,
        account: AccountId,
        page: Page,
    ) -> Result<Listed<ScoreModel>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM score_models WHERE account_id = ");
        filter.push_bind(account.0);
        page_of(&self.reader, MODEL_COLUMNS, &filter, "id ASC", page, model).await
    }

    /// Changes the name and the description present in `patch`.
    pub async fn update_score_model(
        &self,
        account: AccountId,
        id: ScoreModelId,
        patch: ModelPatch,
        now: Timestamp,
    ) -> Result<ScoreModel, StoreError> {
        self.existing_score_model(account, id).await?;
        let mut update = Statement::new(self.engine, "UPDATE score_models SET updated_at = ");
        update.push_bind(now.0).push_present([
            (", name = ", patch.name),
            (", description = ", patch.description),
        ]);
        update
            .and(" WHERE account_id = ", account.0)
            .and(" AND id = ", id.0);
        update.query().execute(&self.writer).written(self).await?;
        self.existing_score_model(account, id).await
    }

    /// Deletes a model with its rules, its ledger and its scores (the score changes already on
    /// contacts' timelines stay). Refused while a segment reads its scores, naming the
    /// segments.
    pub async fn delete_score_model(
        &self,
        account: AccountId,
        id: ScoreModelId,
    ) -> Result<(), StoreError> {
        self.existing_score_model(account, id).await?;
        let readers: Vec<String> = self
            .account_segments(account)
            .await?
            .into_iter()
            .filter(|segment| segment.definition.references().score_models.contains(&id))
            .map(|segment| format!("{} ('{}')", segment.id, segment.name))
            .collect();
        if !readers.is_empty() {
            return Err(Invalid::bad_value(
                "score",
                format!(
                    "segments read this model's scores: {}; change or delete them first",
                    readers.join(", ")
                ),
            )
            .into());
        }
        // Its awards name it without a foreign key: they go in the same transaction, after its
        // rules' rows are locked in the order rounds lock them.
        self.write(async |tx| {
            sqlx::query(&format!(
                "SELECT id FROM score_rules WHERE account_id = $1 AND model_id = $2 \
                 ORDER BY id{}",
                self.engine.lock_for_update()
            ))
            .bind(account.0)
            .bind(id.0)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM score_awards WHERE account_id = $1 AND model_id = $2")
                .bind(account.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM score_models WHERE account_id = $1 AND id = $2")
                .bind(account.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            Ok(())
        })
        .await
    }
}
