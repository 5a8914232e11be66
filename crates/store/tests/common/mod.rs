//! A migrated store on a fresh SQLite file, for the store's own tests.

use sqlx::Connection;
use tempfile::TempDir;
use tracklane_core::ids::{AccountId, ContactId, ScoreModelId};
use tracklane_core::score::model::ModelDraft;
use tracklane_core::score::rule::{RuleDraft, RuleInput};
use tracklane_core::time::Timestamp;
use tracklane_store::{PoolSize, Store};

/// The store, its database URL (for a second, raw connection) and its folder, deleted on drop.
pub struct Fresh {
    pub store: Store,
    // Each test file is its own crate, and not every one opens a raw connection.
    #[allow(dead_code)]
    pub url: String,
    _dir: TempDir,
}

/// A store on a new SQLite file, migrated.
pub async fn fresh_store() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url, PoolSize::default()).await.unwrap();
    store.migrate().await.unwrap();
    Fresh {
        store,
        url,
        _dir: dir,
    }
}

impl Fresh {
    /// Inserts contact 7 (a@example.com) of the first account straight into the database.
    #[allow(dead_code)]
    pub async fn contact_7(&self) -> ContactId {
        self.contact(7, "a@example.com").await
    }

    /// Inserts contact `id` with `email` into the first account, straight into the database.
    #[allow(dead_code)]
    pub async fn contact(&self, id: i64, email: &str) -> ContactId {
        let mut raw = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
        sqlx::query(
            "INSERT INTO contacts (id, account_id, email, hash, created_at, updated_at) \
             VALUES ($1, 1, $2, $2, 0, 0)",
        )
        .bind(id)
        .bind(email)
        .execute(&mut raw)
        .await
        .unwrap();
        ContactId(id)
    }

    /// Creates a scoring model named "m" in `account`.
    #[allow(dead_code)]
    pub async fn score_model(&self, account: AccountId, now: Timestamp) -> ScoreModelId {
        let draft = ModelDraft {
            name: "m".to_owned(),
            description: String::new(),
        };
        let model = self.store.create_score_model(account, draft, now).await;
        ScoreModelId(model.unwrap().id.0)
    }
}

/// A rule awarding `points` for each event named `demo`, its awards expiring after
/// `expiry_days` when given.
// Each test file is its own crate, and not every one makes rules.
#[allow(dead_code)]
pub fn demo_rule(points: i64, expiry_days: Option<i64>) -> RuleDraft {
    RuleInput {
        condition: Some(serde_json::json!({"event": {"name": "demo"}})),
        points: Some(points),
        expiry_days,
        ..RuleInput::default()
    }
    .into_draft()
    .unwrap()
}
