//! On PostgreSQL, the lock every writer of a contact's scores takes first (the contact's row in
//! `score_holds`) is one the ingest never waits for: while a transaction holds a contact's
//! scores, its events are still recorded, the scorer leaves its rows noted and scores the
//! others', and once the scores are let go, its rows score.

use std::time::Duration;

use sqlx::Connection;
use tracklane_e2e::{Engine, TestApp};

use crate::scores::{demo_model_with_ann_and_bob, event, score, until_scored};

#[tokio::test]
async fn events_of_a_contact_whose_scores_are_held_are_recorded_and_score_once_let_go() {
    let app = TestApp::spawn(Engine::Postgres).await;
    let (id, ann, bob) = demo_model_with_ann_and_bob(&app).await;
    let mut holder = sqlx::PgConnection::connect(&app.database_url())
        .await
        .unwrap();
    let mut held = holder.begin().await.unwrap();
    // The row was made with the contact (migration 0041): holding only locks it. Before, a
    // writer made it when missing, and a transaction that had just made it, like this one,
    // kept every writer of its contact's scores waiting, the skipping ones too.
    let locked = sqlx::query(&format!(
        "SELECT contact_id FROM score_holds WHERE contact_id = {ann} FOR NO KEY UPDATE"
    ))
    .fetch_all(&mut *held)
    .await
    .unwrap();
    assert_eq!(
        locked.len(),
        1,
        "the contact's hold row exists from its creation"
    );
    let recorded = tokio::time::timeout(Duration::from_secs(10), async {
        event(&app, &ann, "demo", Duration::ZERO).await;
        event(&app, &bob, "demo", Duration::ZERO).await;
    })
    .await;
    assert!(recorded.is_ok(), "the events wait for no scores held");
    let waited = tokio::time::timeout(Duration::from_secs(30), until_scored(&app, &bob, &id, 5));
    assert!(
        waited.await.is_ok(),
        "the scorer and the rounds wait for no scores held"
    );
    assert_eq!(score(&app, &bob, &id).await, 5, "the other contact scores");
    assert_eq!(score(&app, &ann, &id).await, 0, "held scores do not move");
    let mut reader = sqlx::PgConnection::connect(&app.database_url())
        .await
        .unwrap();
    let noted: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM new_rows WHERE contact_id = {ann}"
    ))
    .fetch_one(&mut reader)
    .await
    .unwrap();
    assert!(noted > 0, "the held contact's rows stay noted");
    held.rollback().await.unwrap();
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 5, "scored once let go");
    assert_eq!(score(&app, &bob, &id).await, 5);
}
