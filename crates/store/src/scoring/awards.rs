//! The awards written in one transaction, and the score changes they make: those of their
//! rules' counted revisions, summed by contact and model.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{ContactId, ScoreModelId};
use tracklane_core::score::rule::ScoreRule;

use crate::sql::Statement;
use crate::{Engine, StoreError};

/// An award just made of a rule's counted revision: it adds its points to the contact's
/// score in the model.
pub(crate) type Made = (ContactId, ScoreModelId, i64);

/// The awards written in one transaction, and which of them change scores: those of their
/// rules' counted revisions, summed by contact and model. On SQLite they are summed once at
/// the end, from the rows after the largest id before the first (its one writer makes ids in
/// order); on PostgreSQL each insert sums what it returns in the same statement.
pub(crate) struct Awards {
    /// The engine they are written on.
    pub(super) engine: Engine,
    /// Whether to sum them (a recompute's awards change no score until it ends).
    summed: bool,
    /// SQLite: the largest award id before the first insert.
    before: i64,
    /// PostgreSQL: the sums so far, with their rules and revisions.
    sums: Vec<(ContactId, ScoreModelId, i64, i64, i64)>,
}

const SUMS: &str = "SELECT contact_id, model_id, rule_id, revision, \
     CAST(SUM(points) AS BIGINT) AS points";
const GROUPS: &str = " GROUP BY contact_id, model_id, rule_id, revision";

impl Awards {
    /// Awards that are not summed.
    pub(crate) fn unsummed(engine: Engine) -> Self {
        Self {
            engine,
            summed: false,
            before: 0,
            sums: Vec::new(),
        }
    }

    /// Awards summed at the end ([`Awards::made`]).
    pub(crate) async fn summed(tx: &mut AnyConnection, engine: Engine) -> Result<Self, StoreError> {
        let before = match engine {
            Engine::Sqlite => {
                sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM score_awards")
                    .fetch_one(&mut *tx)
                    .await?
            }
            Engine::Postgres => 0,
        };
        Ok(Self {
            engine,
            summed: true,
            before,
            sums: Vec::new(),
        })
    }

    /// Runs `insert` (an `INSERT INTO score_awards ... ON CONFLICT DO NOTHING`).
    pub(crate) async fn insert(
        &mut self,
        tx: &mut AnyConnection,
        insert: &Statement,
    ) -> Result<(), StoreError> {
        if !self.summed || self.engine == Engine::Sqlite {
            insert.query().execute(&mut *tx).await?;
            return Ok(());
        }
        let mut summed = Statement::with_head("WITH made AS (", insert);
        summed.push(&format!(
            " RETURNING contact_id, model_id, rule_id, revision, points) {SUMS} FROM made{GROUPS}"
        ));
        for row in summed.query().fetch_all(&mut *tx).await? {
            self.sums.push(sum_of(&row)?);
        }
        Ok(())
    }

    /// The awards made of `rules`' counted revisions.
    pub(crate) async fn made(
        mut self,
        tx: &mut AnyConnection,
        rules: &[&ScoreRule],
    ) -> Result<Vec<Made>, StoreError> {
        if self.summed && self.engine == Engine::Sqlite {
            let rows = sqlx::query(&format!("{SUMS} FROM score_awards WHERE id > $1{GROUPS}"))
                .bind(self.before)
                .fetch_all(&mut *tx)
                .await?;
            for row in rows {
                self.sums.push(sum_of(&row)?);
            }
        }
        Ok(self
            .sums
            .into_iter()
            .filter(|&(_, _, rule, revision, _)| {
                rules
                    .iter()
                    .any(|r| r.id.0 == rule && r.counted_revision == revision)
            })
            .map(|(contact, model, _, _, points)| (contact, model, points))
            .collect())
    }
}

/// A row of [`SUMS`].
fn sum_of(row: &AnyRow) -> Result<(ContactId, ScoreModelId, i64, i64, i64), sqlx::Error> {
    Ok((
        ContactId(row.try_get("contact_id")?),
        ScoreModelId(row.try_get("model_id")?),
        row.try_get("rule_id")?,
        row.try_get("revision")?,
        row.try_get("points")?,
    ))
}
