//! An account has at most `RULES_MAX` scoring rules (deleted ones aside): one more is refused
//! and nothing is written.

use sqlx::Connection;
use tracklane_core::ids::ScoreModelId;
use tracklane_core::score::model::ModelDraft;
use tracklane_core::score::rule::RuleInput;
use tracklane_core::time::Timestamp;
use tracklane_store::scoring::RULES_MAX;
use tracklane_store::StoreError;

mod common;

use common::fresh_store;

#[tokio::test]
async fn a_rule_past_the_accounts_bound_is_refused() {
    let fresh = fresh_store().await;
    let (store, url) = (&fresh.store, &fresh.url);
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    let draft = ModelDraft {
        name: "m".to_owned(),
        description: String::new(),
    };
    let model: ScoreModelId = store
        .create_score_model(account, draft, now)
        .await
        .unwrap()
        .id;
    let mut raw = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query(
        "INSERT INTO score_rules (account_id, model_id, definition, points, created_at, \
         updated_at) WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
         WHERE i < $2) SELECT 1, $1, '{\"hasTag\":1}', 1, 0, 0 FROM n",
    )
    .bind(model.0)
    .bind(RULES_MAX)
    .execute(&mut raw)
    .await
    .unwrap();
    let rule = RuleInput {
        condition: Some(serde_json::json!({"opened": {}})),
        points: Some(5),
        ..RuleInput::default()
    }
    .into_draft()
    .unwrap();
    let refused = store.create_score_rule(account, model, rule, now).await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(ref invalid)) if invalid.attribute == "scoreRule"),
        "{refused:?}"
    );
    let rules: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM score_rules")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!(rules, RULES_MAX);
}
