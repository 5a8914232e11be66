//! A flood of events scored while it is recorded: the server's own scorer awards a contact's
//! rows while more arrive for it (on PostgreSQL, during the step's unlocked awarding too), and
//! every row is awarded once.

use std::time::Duration;

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

use crate::scores::{assert_ledger, event, model, rule, score};
use crate::segments::contact;

/// Contacts of the flood.
const CONTACTS: usize = 12;
/// Events recorded, one per write, for the contacts in turn.
const EVENTS: usize = 1200;

async fn every_event_of_a_flood_scores_once(app: TestApp) {
    let model = model(&app, "flood").await;
    rule(
        &app,
        &model,
        json!({"condition": {"event": {"name": "flood"}}, "points": 5}),
    )
    .await;
    let mut contacts = Vec::new();
    for i in 0..CONTACTS {
        contacts.push(contact(&app, &format!("flood-{i}@example.com")).await);
    }
    for n in 0..EVENTS {
        event(&app, &contacts[n % CONTACTS], "flood", Duration::ZERO).await;
    }
    app.settle_segments().await;
    let per_contact = (EVENTS / CONTACTS) as i64;
    for who in &contacts {
        assert_eq!(
            score(&app, who, &model).await,
            5 * per_contact,
            "contact {who}"
        );
        assert_ledger(&app, who, &model).await;
    }
}

both_engines!(every_event_of_a_flood_scores_once);
