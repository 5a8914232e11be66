//! A recompute's steps are bounded by timeline rows as well as by contacts: a step ends before
//! the contact whose rows would take it past the bound, and covers a contact with more rows
//! than the bound whole, alone; the scores come out the same.

use tracklane_core::event::{EventKind, NewEvent};
use tracklane_core::ids::{AccountId, ScoreRuleId};
use tracklane_core::time::Timestamp;
use tracklane_store::scoring::Step;
use tracklane_store::Store;

mod common;

use common::{demo_rule, fresh_store};

/// The contact id the rule's next step starts from.
async fn done(store: &Store, account: AccountId, rule: ScoreRuleId) -> i64 {
    let rules = store.account_score_rules(account).await.unwrap();
    rules.iter().find(|r| r.id == rule).unwrap().progress.done
}

#[tokio::test]
async fn a_step_ends_before_the_rows_past_its_bound_and_takes_a_busy_contact_whole() {
    let fresh = fresh_store().await;
    let store = fresh.store.clone().with_recompute_step_rows(3);
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    // Contact 7 has more rows than a step's bound; 8 and 9 two each, 10 one.
    let mut rows = Vec::new();
    for (id, count) in [(7, 5), (8, 2), (9, 2), (10, 1)] {
        let contact = fresh.contact(id, &format!("c{id}@example.com")).await;
        for n in 0..count {
            let at = Timestamp(now.0 - 1_000_000 * (n + 1));
            rows.push(NewEvent::of_contact(
                account,
                EventKind::Custom,
                "demo",
                contact,
                None,
                at,
            ));
        }
    }
    store.record_events(&rows, now).await.unwrap();
    let model = fresh.score_model(account, now).await;
    let rule = store
        .create_score_rule(account, model, demo_rule(1, None), now)
        .await
        .unwrap()
        .id;
    let mut ends = Vec::new();
    loop {
        match store
            .recompute_score_rule(account, rule, now)
            .await
            .unwrap()
        {
            Step::Scored => ends.push(done(&store, account, rule).await),
            Step::Counted(changes) => {
                assert_eq!(changes, 4, "every contact scores");
                break;
            }
            other => panic!("unexpected step {other:?}"),
        }
    }
    // Contact 7 alone (its rows are the first); then 8 alone, since 9's rows would pass the
    // bound; then the rest, three rows, up to one past the last contact.
    assert_eq!(ends, vec![8, 9, 11]);
    for (id, rows) in [(7, 5), (8, 2), (9, 2), (10, 1)] {
        let scores = store
            .contact_scores(account, tracklane_core::ids::ContactId(id))
            .await
            .unwrap();
        let total: i64 = scores.iter().map(|score| score.total).sum();
        assert_eq!(total, rows, "contact {id} scores each of its rows once");
    }
}
