//! A score settled by a transaction whose clock ran ahead (another node's) stays the sum of its
//! live awards when a scorer step with an earlier clock awards a past row that expires between
//! the two instants: the step settles at the later instant, where that award is dead already.

use std::collections::BTreeMap;

use sqlx::Connection;
use tracklane_core::event::{EventKind, NewEvent};
use tracklane_core::score::award::Adjustment;
use tracklane_core::time::Timestamp;
use tracklane_store::scoring::Step;

mod common;

use common::{demo_rule, fresh_store};

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

#[tokio::test]
async fn a_step_behind_a_score_settled_ahead_awards_no_row_dead_at_that_instant() {
    let fresh = fresh_store().await;
    let store = &fresh.store;
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    let contact = fresh.contact_7().await;
    let mut raw = sqlx::SqliteConnection::connect(&fresh.url).await.unwrap();
    let model = fresh.score_model(account, now).await;
    let rule = store
        .create_score_rule(account, model, demo_rule(5, Some(1)), now)
        .await
        .unwrap();
    while !matches!(
        store
            .recompute_score_rule(account, rule.id, now)
            .await
            .unwrap(),
        Step::Counted(_)
    ) {}
    // Another node, two hours ahead, settles the score.
    let ahead = Timestamp(now.0 + 2 * HOUR);
    let adjustment = Adjustment {
        model,
        points: 3,
        reason: "call".to_owned(),
        expiry_days: None,
    };
    store
        .adjust_score(account, contact, adjustment, ahead)
        .await
        .unwrap();
    // A row of the past whose award lives until one hour from now, dead at `ahead`.
    let occurred = Timestamp(now.0 + HOUR - DAY);
    let event = NewEvent::of_contact(account, EventKind::Custom, "demo", contact, None, occurred);
    store.record_events(&[event], now).await.unwrap();
    let rules = BTreeMap::from([(account, store.account_score_rules(account).await.unwrap())]);
    let scored = store
        .score_new_rows(&[(contact, account)], &rules, &BTreeMap::new(), now)
        .await
        .unwrap();
    assert_eq!(scored.taken, 1);
    let (total, live): (i64, i64) = sqlx::query_as(
        "SELECT s.total, (SELECT COALESCE(SUM(a.points), 0) FROM score_awards a \
         WHERE a.contact_id = s.contact_id AND a.model_id = s.model_id \
         AND (a.expires_at IS NULL OR a.expires_at > s.settled_at)) \
         FROM contact_scores s WHERE s.contact_id = 7",
    )
    .fetch_one(&mut raw)
    .await
    .unwrap();
    assert_eq!(
        (total, live),
        (3, 3),
        "the score is the sum of its live awards"
    );
    // Later steps and settles take nothing more off.
    let later = Timestamp(now.0 + 3 * HOUR);
    let adjustment = Adjustment {
        model,
        points: 1,
        reason: "reply".to_owned(),
        expiry_days: None,
    };
    store
        .adjust_score(account, contact, adjustment, later)
        .await
        .unwrap();
    let total: i64 = sqlx::query_scalar("SELECT total FROM contact_scores WHERE contact_id = 7")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!(total, 4);
}
