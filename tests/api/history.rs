//! Campaign statistics are history: deleting a contact keeps what its campaigns counted, the
//! links in mail already sent keep working, and a send whose contact went is dropped.

use std::time::Duration;

use serde_json::json;
use tracklane_core::ids::CampaignId;
use tracklane_core::time::Timestamp;
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::state::Clock;
use tracklane_store::sends::SendOutcome;

use crate::mail::{no_redirects, one_click_unsubscribe, tracked_url};
use crate::sending::{contact, send_a_campaign, subscribe};

/// The campaign's counters that deleting a contact must not change.
async fn campaign_counters(app: &TestApp, campaign: &str) -> Vec<(String, String)> {
    let shown = app.get(&format!("/api/3/campaigns/{campaign}")).await;
    [
        "send_amt",
        "total_amt",
        "opens",
        "uniqueopens",
        "linkclicks",
        "uniquelinkclicks",
        "subscriberclicks",
        "unsubscribes",
    ]
    .into_iter()
    .map(|name| {
        let value = shown.body["campaign"][name].as_str().unwrap_or_default();
        (name.to_owned(), value.to_owned())
    })
    .collect()
}

async fn deleting_a_contact_keeps_the_statistics_and_its_links_still_work(app: TestApp) {
    let sent = send_a_campaign(&app).await;
    let to_ada = sent.to("ada@example.com");
    let client = no_redirects();
    app.clock.advance(Duration::from_secs(120));
    let person = "Mozilla/5.0 (Macintosh) Safari/605";
    let link = tracked_url(&app, &to_ada.html, "l");
    let pixel = tracked_url(&app, &to_ada.html, "o");
    for url in [&link, &pixel] {
        let hit = client.get(url).header("user-agent", person).send().await;
        assert!(hit.unwrap().status().as_u16() < 400);
    }
    let before = campaign_counters(&app, &sent.campaign).await;
    assert!(before.contains(&("uniquelinkclicks".to_owned(), "1".to_owned())));
    assert!(before.contains(&("uniqueopens".to_owned(), "1".to_owned())));
    let links = format!("/api/3/campaigns/{}/links", sent.campaign);
    let links_before = app.get(&links).await.body;

    assert_eq!(
        app.delete(&format!("/api/3/contacts/{}", sent.ada))
            .await
            .status,
        200
    );
    assert_eq!(
        campaign_counters(&app, &sent.campaign).await,
        before,
        "statistics are history"
    );
    assert_eq!(app.get(&links).await.body, links_before);

    app.clock.advance(Duration::from_secs(120));
    let clicked = client.get(&link).header("user-agent", person).send().await;
    let clicked = clicked.unwrap();
    assert_eq!(clicked.status(), 302, "a link in mail outlives its contact");
    assert_eq!(
        clicked.headers()["location"],
        "https://example.com/pricing?plan=pro&x=1",
        "nobody to identify: no tl_cid"
    );
    let opened = client.get(&pixel).header("user-agent", person).send().await;
    assert_eq!(opened.unwrap().headers()["content-type"], "image/gif");
    let after = campaign_counters(&app, &sent.campaign).await;
    let count = |counters: &[(String, String)], name: &str| {
        counters.iter().find(|(n, _)| n == name).unwrap().1.clone()
    };
    assert_eq!(count(&after, "linkclicks"), "2", "the click is counted");
    assert_eq!(count(&after, "uniquelinkclicks"), "1");

    let unsubscribe = tracked_url(&app, &to_ada.html, "u");
    let page = client.get(&unsubscribe).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        one_click_unsubscribe(&unsubscribe).await,
        200,
        "unsubscribing nobody is done"
    );
}

async fn a_send_whose_contact_was_deleted_after_its_claim_is_dropped_not_bounced(app: TestApp) {
    let ada = contact(&app, "ada@example.com", "Ada").await;
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    subscribe(&app, &list, &ada, 1).await;
    let message = json!({"subject": "Hi", "fromemail": "news@example.com", "text": "Hi"});
    let campaign = app.draft_campaign(&list, message).await;
    let campaign = CampaignId(campaign.parse().unwrap());
    // Due in an hour of the server's clock, so that only this test claims it.
    let later = Timestamp(app.clock.now().0 + 3_600_000_000);
    let queued = app.store.start_campaign(app.account, campaign, &[], later);
    assert_eq!(queued.await.unwrap(), 1);
    let claimed = app.store.claim_sends(10, later).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        app.delete(&format!("/api/3/contacts/{ada}")).await.status,
        200
    );
    let gone = [claimed[0].contact];
    let recipients = app.store.recipients(app.account, &gone).await.unwrap();
    assert!(recipients.is_empty(), "the sender finds nobody");
    app.store
        .finish_sends(&[(claimed[0].clone(), SendOutcome::Dropped)], later)
        .await
        .expect("a dropped send needs no contact, unlike a bounce's timeline event");
    assert_eq!(app.store.complete_campaigns(later).await.unwrap(), 1);
    let shown = app.get(&format!("/api/3/campaigns/{campaign}")).await;
    assert_eq!(shown.body["campaign"]["total_amt"], "0", "nothing was sent");
    assert_eq!(shown.body["campaign"]["hardbounces"], "0");
}

both_engines!(
    deleting_a_contact_keeps_the_statistics_and_its_links_still_work,
    a_send_whose_contact_was_deleted_after_its_claim_is_dropped_not_bounced,
);
