//! Campaigns that target a saved segment: within a list, or alone, when they reach the
//! segment's members subscribed to at least one list, once each, and their unsubscribe link and
//! bounces apply to every list the contact is subscribed to.

use std::time::Duration;

use serde_json::json;
use tracklane_core::list::ListStatus;
use tracklane_e2e::{both_engines, ScriptedSmtp, TestApp};

use crate::mail::{one_click_unsubscribe, read, Mail};
use crate::mail_failures::{bounced, campaign_in_status, over};
use crate::segments::{contact, members, save, tag, tag_contact};
use crate::sending::{outbox, subscribe};

/// A message from `news@example.com`.
pub(crate) async fn message(app: &TestApp) -> String {
    app.create(
        "/api/3/messages",
        json!({"message": {"subject": "Hi", "fromemail": "news@example.com",
            "html": "<p>Hi</p>", "text": "Hi"}}),
    )
    .await
}

/// The contact's status on each list, by list id.
async fn statuses(app: &TestApp, contact: &str) -> Vec<(String, String)> {
    let lists = app
        .get(&format!("/api/3/contacts/{contact}/contactLists"))
        .await;
    let mut statuses: Vec<(String, String)> = lists.body["contactLists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["list"].as_str().unwrap().into(),
                m["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    statuses.sort();
    statuses
}

async fn a_campaign_sends_to_its_segments_members_within_its_list(app: TestApp) {
    let vip = tag(&app, "VIP").await;
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    let mut people = Vec::new();
    for (email, status, tagged) in [
        ("ann@example.com", 1, true),
        ("bob@example.com", 1, false),
        ("cy@example.com", 2, true),
    ] {
        let id = contact(&app, email).await;
        let subscribed = app
            .post(
                "/api/3/contactLists",
                json!({"contactList": {"list": list, "contact": id, "status": status}}),
            )
            .await;
        assert_eq!(subscribed.status, 200, "{}", subscribed.text);
        if tagged {
            tag_contact(&app, &id, &vip).await;
        }
        people.push(id);
    }
    let segment = save(&app, "VIPs", json!({"hasTag": vip.parse::<i64>().unwrap()})).await;
    app.settle_segments().await;
    let message = app
        .create(
            "/api/3/messages",
            json!({"message": {"subject": "Hi", "fromemail": "news@example.com", "text": "Hi"}}),
        )
        .await;
    let unknown = app
        .post(
            "/api/3/campaigns",
            json!({"campaign": {"name": "x", "message": message, "list": list, "segmentid": 999999}}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let campaign = app
        .create(
            "/api/3/campaigns",
            json!({"campaign": {"name": "VIP news", "message": message, "list": list,
                "segmentid": segment}}),
        )
        .await;
    let shown = app.get(&format!("/api/3/campaigns/{campaign}")).await;
    assert_eq!(shown.body["campaign"]["segmentid"], segment.as_str());

    // The segment cannot go while the campaign that targets it has not finished.
    let refused = app.delete(&format!("/api/3/segments/{segment}")).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(
        app.get(&format!("/api/3/segments/{segment}")).await.status,
        200
    );

    // Segments of who was sent the campaign, saved before it starts, follow the sender.
    let sent = save(
        &app,
        "Sent VIP news",
        json!({"sent": {"campaign": campaign.parse::<i64>().unwrap()}}),
    )
    .await;
    let not_sent = save(&app, "Not sent", json!({"not": {"sent": {}}})).await;
    app.settle_segments().await;
    assert_eq!(members(&app, &sent).await, Vec::<String>::new());
    assert_eq!(members(&app, &not_sent).await.len(), 3);
    let started = app
        .post(&format!("/api/3/campaigns/{campaign}/send"), json!({}))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    // Only Ann: Bob is not a member, Cy is a member but unsubscribed from the list.
    assert_eq!(started.body["queued"], 1);

    // The server's own sender may hold the send: wait for it to be recorded.
    for _ in 0..100 {
        app.sender.run_once().await.unwrap();
        app.settle_segments().await;
        if !members(&app, &sent).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(members(&app, &sent).await, vec![people[0].clone()]);
    assert_eq!(members(&app, &not_sent).await.len(), 2);
}

async fn a_campaign_to_a_segment_alone_reaches_its_subscribed_members_once(app: TestApp) {
    let vip = tag(&app, "VIP").await;
    let news = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    let offers = app
        .create("/api/3/lists", json!({"list": {"name": "Offers"}}))
        .await;
    // (address, tagged VIP, status on News, on Offers; 0: not on it)
    let people = [
        ("ann@example.com", true, 1, 0),
        ("bob@example.com", true, 1, 1),
        ("cy@example.com", true, 2, 0),
        ("dee@example.com", true, 0, 0),
        ("eve@example.com", false, 1, 1),
    ];
    let mut ids = Vec::new();
    for (address, tagged, on_news, on_offers) in people {
        let id = contact(&app, address).await;
        for (list, status) in [(&news, on_news), (&offers, on_offers)] {
            if status > 0 {
                subscribe(&app, list, &id, status).await;
            }
        }
        if tagged {
            tag_contact(&app, &id, &vip).await;
        }
        ids.push(id);
    }
    let segment = save(&app, "VIPs", json!({"hasTag": vip.parse::<i64>().unwrap()})).await;
    app.settle_segments().await;
    let message = message(&app).await;
    let nobody = app
        .post(
            "/api/3/campaigns",
            json!({"campaign": {"name": "x", "message": message, "segmentid": 0}}),
        )
        .await;
    assert_eq!(
        nobody.status, 422,
        "neither a list nor a segment: {}",
        nobody.text
    );
    let campaign = app
        .create(
            "/api/3/campaigns",
            json!({"campaign": {"name": "VIP news", "message": message, "segmentid": segment}}),
        )
        .await;
    let shown = app.get(&format!("/api/3/campaigns/{campaign}")).await;
    assert_eq!(shown.body["campaign"]["listid"], "0");
    assert_eq!(shown.body["campaign"]["segmentid"], segment.as_str());

    let started = app
        .post(&format!("/api/3/campaigns/{campaign}/send"), json!({}))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    // Ann and Bob (once, though on two lists); Cy unsubscribed, Dee on no list, Eve no VIP.
    assert_eq!(started.body["queued"], 2);
    let mails: Vec<Mail> = outbox(&app, 2).await.iter().map(|raw| read(raw)).collect();
    let mut to: Vec<&str> = mails.iter().map(|mail| mail.to.as_str()).collect();
    to.sort_unstable();
    assert!(to[0].contains("ann@") && to[1].contains("bob@"), "{to:?}");

    // Bob's unsubscribe link takes him off both lists; Ann stays.
    let to_bob = mails.iter().find(|mail| mail.to.contains("bob@")).unwrap();
    let unsubscribe = to_bob.unsubscribe.trim_matches(['<', '>']);
    assert_eq!(
        one_click_unsubscribe(unsubscribe).await,
        200,
        "{unsubscribe}"
    );
    let unsubscribed = [
        (news.clone(), "2".to_owned()),
        (offers.clone(), "2".to_owned()),
    ];
    let mut unsubscribed = unsubscribed.to_vec();
    unsubscribed.sort();
    assert_eq!(statuses(&app, &ids[1]).await, unsubscribed);
    assert_eq!(statuses(&app, &ids[0]).await, vec![(news, "1".to_owned())]);
}

async fn a_campaign_to_a_segment_alone_bounces_on_every_list(app: TestApp) {
    let smtp = ScriptedSmtp::start().await;
    smtp.refuse_recipient(
        "bob@example.com",
        "550 5.1.1 <bob@example.com>: no such user",
    );
    let app = over(app, &smtp).await;
    let mut lists = Vec::new();
    for name in ["News", "Offers"] {
        lists.push(
            app.create("/api/3/lists", json!({"list": {"name": name}}))
                .await,
        );
    }
    let ann = contact(&app, "ann@example.com").await;
    let bob = contact(&app, "bob@example.com").await;
    subscribe(&app, &lists[0], &ann, 1).await;
    for list in &lists {
        subscribe(&app, list, &bob, 1).await;
    }
    let everyone = json!({"field": {"name": "email", "value": {"contains": "@example.com"}}});
    let segment = save(&app, "Everyone", everyone).await;
    app.settle_segments().await;
    assert_eq!(members(&app, &segment).await.len(), 2);
    let message = message(&app).await;
    let campaign = app
        .create(
            "/api/3/campaigns",
            json!({"campaign": {"name": "All", "message": message, "segmentid": segment}}),
        )
        .await;
    app.send_campaign(&campaign).await;

    let completed = campaign_in_status(&app, &campaign, "5").await;
    assert_eq!(completed["hardbounces"], "1", "{completed}");
    assert_eq!(smtp.accepted().len(), 1);
    for list in &lists {
        assert_eq!(bounced(&app, list, &bob).await, (ListStatus::Bounced, true));
    }
    assert_eq!(
        bounced(&app, &lists[0], &ann).await,
        (ListStatus::Active, false)
    );
}

both_engines!(
    a_campaign_sends_to_its_segments_members_within_its_list,
    a_campaign_to_a_segment_alone_reaches_its_subscribed_members_once,
    a_campaign_to_a_segment_alone_bounces_on_every_list,
);
