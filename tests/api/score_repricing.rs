//! Edits of a rule's points alone: the recompute copies the counted revision's awards at the
//! new points (the same causes, times and expiries) instead of reading past behavior again.
//! An edit of anything else, a rule with a cap (whose awards depend on the points), or a rule
//! whose first revision never counted, reads past behavior as before. Once a revision counts,
//! the awards of the ones before it are swept from the ledger.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::{Connection, Row};
use tracklane_e2e::{both_engines, TestApp};

use crate::scores::{assert_ledger, awards, event, model, rule, score, visit};
use crate::segments::contact;

const DAY: Duration = Duration::from_secs(86_400);

/// Replaces the rule with `draft`.
async fn edit(app: &TestApp, rule: &str, draft: Value) {
    app.update(
        &format!("/api/3/scoreRules/{rule}"),
        json!({ "scoreRule": draft }),
    )
    .await;
}

/// The contact's live awards in the model: their causes, times and expiries, and apart the
/// points of each.
async fn awarded(app: &TestApp, contact: &str, model: &str) -> (BTreeSet<String>, Vec<i64>) {
    let live: Vec<Value> = awards(app, contact)
        .await
        .into_iter()
        .filter(|award| award["score"] == model)
        .collect();
    let causes = live
        .iter()
        .map(|a| format!("{} {} {}", a["cause"], a["awardedAt"], a["expiresAt"]))
        .collect();
    (
        causes,
        live.iter().map(|a| a["points"].as_i64().unwrap()).collect(),
    )
}

async fn an_edit_of_points_alone_reprices_the_same_awards(app: TestApp) {
    let id = model(&app, "Engagement").await;
    let ann = contact(&app, "ann@example.com").await;
    let bob = contact(&app, "bob@example.com").await;
    for ago in [DAY, DAY * 2, DAY * 12] {
        visit(&app, &ann, "/pricing", ago).await;
    }
    visit(&app, &ann, "/plans", DAY).await;
    visit(&app, &bob, "/pricing", DAY).await;
    let pricing = json!({"visited": {"url": {"contains": "/pricing"}}});
    let priced = rule(
        &app,
        &id,
        json!({"condition": pricing, "points": 20, "expiryDays": 10}),
    )
    .await;
    app.settle_segments().await;
    assert_eq!(
        score(&app, &ann, &id).await,
        40,
        "the visit of 12 days ago expired"
    );
    let (causes, _) = awarded(&app, &ann, &id).await;

    edit(
        &app,
        &priced,
        json!({"condition": pricing, "points": 5, "expiryDays": 10}),
    )
    .await;
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 10);
    assert_eq!(score(&app, &bob, &id).await, 5);
    assert_eq!(
        awarded(&app, &ann, &id).await,
        (causes, vec![5, 5]),
        "the same causes, times and expiries, at the new points"
    );
    assert_ledger(&app, &ann, &id).await;

    // The repriced awards expire when the first ones would have.
    app.clock.advance(DAY * 8 + Duration::from_secs(1));
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 5);

    // A points edit, then at once an edit of the condition: past behavior is read again.
    edit(
        &app,
        &priced,
        json!({"condition": pricing, "points": 7, "expiryDays": 10}),
    )
    .await;
    let plans = json!({"visited": {"url": {"contains": "/plans"}}});
    edit(&app, &priced, json!({"condition": plans, "points": 7})).await;
    // And a points edit at once after that: the counted revision is still the old condition's.
    edit(&app, &priced, json!({"condition": plans, "points": 8})).await;
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 8, "the visit of /plans alone");
    assert_eq!(score(&app, &bob, &id).await, 0);
    assert_ledger(&app, &ann, &id).await;
}

async fn other_edits_score_past_behavior_again(app: TestApp) {
    let id = model(&app, "Engagement").await;
    let ann = contact(&app, "ann@example.com").await;
    for path in ["/a", "/b", "/c"] {
        visit(&app, &ann, path, DAY).await;
    }
    event(&app, &ann, "demo", DAY).await;

    // A cap's awards depend on the points: 2 awards of 5 under a cap of 10, then 1 of 10.
    let capped = |points: i64| {
        json!({"condition": {"visited": {}}, "points": points,
            "cap": {"points": 10, "days": 30}})
    };
    let visits = rule(&app, &id, capped(5)).await;
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 10);
    edit(&app, &visits, capped(10)).await;
    app.settle_segments().await;
    assert_eq!(awarded(&app, &ann, &id).await.1, vec![10]);

    // A rule edited before its first revision counted has no awards to copy.
    let demo = json!({"event": {"name": "demo"}});
    let demoed = rule(&app, &id, json!({"condition": demo, "points": 10})).await;
    edit(&app, &demoed, json!({"condition": demo, "points": 3})).await;
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 13);
    assert_ledger(&app, &ann, &id).await;
}

/// The revisions of the rule's awards in the ledger, counted or not, and how many of each.
async fn ledger_revisions(app: &TestApp, rule: &str) -> Vec<(i64, i64)> {
    let mut ledger = sqlx::AnyConnection::connect(&app.database_url())
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT revision, COUNT(*) FROM score_awards WHERE rule_id = $1 \
         GROUP BY revision ORDER BY revision",
    )
    .bind(rule.parse::<i64>().unwrap())
    .fetch_all(&mut ledger)
    .await
    .unwrap();
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

async fn the_revisions_before_the_counted_one_are_swept(app: TestApp) {
    let id = model(&app, "Engagement").await;
    let ann = contact(&app, "ann@example.com").await;
    visit(&app, &ann, "/pricing", DAY).await;
    visit(&app, &ann, "/plans", DAY).await;
    let draft = |path: &str, points: i64| {
        let condition = json!({"visited": {"url": {"contains": path}}});
        json!({"condition": condition, "points": points})
    };
    let priced = rule(&app, &id, draft("/pricing", 20)).await;
    app.settle_segments().await;
    edit(&app, &priced, draft("/pricing", 5)).await;
    app.settle_segments().await;
    assert_eq!(ledger_revisions(&app, &priced).await, vec![(2, 1)]);
    edit(&app, &priced, draft("/p", 3)).await;
    app.settle_segments().await;
    assert_eq!(ledger_revisions(&app, &priced).await, vec![(3, 2)]);
    assert_eq!(score(&app, &ann, &id).await, 6);
    app.delete(&format!("/api/3/scoreRules/{priced}")).await;
    app.settle_segments().await;
    assert_eq!(ledger_revisions(&app, &priced).await, vec![]);
    assert_eq!(score(&app, &ann, &id).await, 0);
}

both_engines!(
    the_revisions_before_the_counted_one_are_swept,
    an_edit_of_points_alone_reprices_the_same_awards,
    other_edits_score_past_behavior_again,
);
