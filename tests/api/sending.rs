//! Sending a campaign: one personalized message per subscribed contact in the outbox, tracked
//! links, the open pixel and one-click unsubscribe headers; nobody twice, unsubscribed nobody.

use std::time::{Duration, Instant};

use serde_json::json;
use tracklane_e2e::{both_engines, wait_for_files, TestApp};

use crate::mail::{no_redirects, one_click_unsubscribe, read, tracked_url, tracked_urls, Mail};

pub(crate) async fn contact(app: &TestApp, email: &str, first: &str) -> String {
    let answer = app
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": email, "firstName": first}}),
        )
        .await;
    answer.body["contact"]["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn subscribe(app: &TestApp, list: &str, contact: &str, status: i64) {
    let answer = app
        .post(
            "/api/3/contactLists",
            json!({"contactList": {"list": list, "contact": contact, "status": status}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

/// The outbox's messages once there are `count` of them (waiting up to 20 s).
pub(crate) async fn outbox(app: &TestApp, count: usize) -> Vec<Vec<u8>> {
    let dir = app.data_dir().join("outbox");
    wait_for_files(&dir, count, Duration::from_secs(20), |path| {
        path.extension().is_some_and(|e| e == "eml")
    })
    .await
    .unwrap_or_else(|found| panic!("{found} of {count} messages in the outbox"))
}

/// Waits (up to 20 s) until the campaign is complete: every send recorded with its time, which
/// the sender writes after the message is in the outbox. Tests that move the clock after
/// sending must not move it before the sends' times are written.
pub(crate) async fn completed(app: &TestApp, campaign: &str) {
    for _ in 0..400 {
        let shown = app.get(&format!("/api/3/campaigns/{campaign}")).await;
        if shown.body["campaign"]["status"] == "5" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("campaign {campaign} did not complete in 20 s");
}

/// A sent campaign: the two messages in the outbox and the ids involved.
pub(crate) struct Sent {
    pub(crate) mails: Vec<Mail>,
    pub(crate) ada: String,
    pub(crate) campaign: String,
    pub(crate) list: String,
}

impl Sent {
    /// The message sent to `email`.
    pub(crate) fn to(&self, email: &str) -> &Mail {
        self.mails
            .iter()
            .find(|mail| mail.to.contains(email))
            .unwrap_or_else(|| panic!("no message to {email}"))
    }
}

pub(crate) async fn send_a_campaign(app: &TestApp) -> Sent {
    let ada = contact(app, "ada@example.com", "Ada").await;
    let bob = contact(app, "bob@example.com", "").await;
    let carol = contact(app, "carol@example.com", "Carol").await;
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    subscribe(app, &list, &ada, 1).await;
    subscribe(app, &list, &bob, 1).await;
    subscribe(app, &list, &carol, 1).await;
    subscribe(app, &list, &carol, 2).await;
    let field = app
        .create(
            "/api/3/fields",
            json!({"field": {"title": "Colour", "type": "text"}}),
        )
        .await;
    app.post(
        "/api/3/fieldValues",
        json!({"fieldValue": {"contact": ada, "field": field, "value": "blue <b>"}}),
    )
    .await;
    let html = "<p>Hi %FIRSTNAME|friend%, you like %COLOUR|nothing%.</p>\
                <a href=\"https://example.com/pricing?plan=pro&amp;x=1\">Pricing</a> \
                <a href=\"mailto:hi@example.com\">Write</a> <a href=\"%UNSUBSCRIBELINK%\">Leave</a>";
    let message = app.create("/api/3/messages",
            json!({"message": {"subject": "Hello %FIRSTNAME|friend%", "fromname": "News", "fromemail": "news@example.com",
                "html": html, "text": "Hi %FIRSTNAME|friend%\nLeave: %UNSUBSCRIBELINK%"}})).await;
    let campaign = app
        .create(
            "/api/3/campaigns",
            json!({"campaign": {"name": "Launch", "message": message, "list": list}}),
        )
        .await;
    let tag = app
        .create("/api/3/tags", json!({"tag": {"tag": "clicked-pricing"}}))
        .await;
    let interested = app
        .create("/api/3/lists", json!({"list": {"name": "Interested"}}))
        .await;
    let actions = format!("/api/3/campaigns/{campaign}/linkActions");
    let pricing = "https://example.com/pricing?plan=pro&x=1";
    for (action, target) in [("add_tag", &tag), ("subscribe", &interested)] {
        let added = app
            .post(
                &actions,
                json!({"linkAction": {"link": pricing, "action": action, "target": target}}),
            )
            .await;
        assert_eq!(added.status, 201, "{}", added.text);
    }
    let refusals = [
        (
            json!({"linkAction": {"link": pricing, "action": "delete_contact", "target": tag}}),
            422,
        ),
        (
            json!({"linkAction": {"link": pricing, "action": "add_tag", "target": 999999}}),
            404,
        ),
        (
            json!({"linkAction": {"link": "not a link", "action": "add_tag", "target": tag}}),
            422,
        ),
        (
            json!({"linkAction": {"link": pricing, "action": "add_tag"}}),
            422,
        ),
    ];
    for (body, status) in refusals {
        assert_eq!(
            app.post(&actions, body.clone()).await.status,
            status,
            "{body}"
        );
    }
    assert_eq!(
        app.get(&actions).await.body["linkActions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.post(
            "/api/3/campaigns/999999/linkActions",
            json!({"linkAction": {"link": pricing, "action": "add_tag", "target": tag}})
        )
        .await
        .status,
        404
    );
    let started = app
        .post(&format!("/api/3/campaigns/{campaign}/send"), json!({}))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    assert_eq!(started.body["queued"], 2, "carol unsubscribed");
    let again = app
        .post(&format!("/api/3/campaigns/{campaign}/send"), json!({}))
        .await;
    assert_eq!(again.status, 422, "a campaign is sent once");

    let mails: Vec<Mail> = outbox(app, 2).await.iter().map(|raw| read(raw)).collect();
    assert_eq!(mails.len(), 2);
    completed(app, &campaign).await;
    Sent {
        mails,
        ada,
        campaign,
        list,
    }
}

async fn a_campaign_reaches_each_subscribed_contact_once(app: TestApp) {
    let sent = send_a_campaign(&app).await;
    let (to_ada, to_bob) = (sent.to("ada@example.com"), sent.to("bob@example.com"));
    assert_eq!(to_ada.subject, "Hello Ada");
    assert_eq!(to_bob.subject, "Hello friend");
    assert!(
        to_ada.html.contains("you like blue &lt;b&gt;."),
        "{}",
        to_ada.html
    );
    assert!(to_bob.html.contains("you like nothing."));
    assert!(
        !to_ada.html.contains("example.com/pricing"),
        "the link is tracked"
    );
    assert!(to_ada.html.contains(&format!("{}/l/", app.address)));
    assert!(
        to_ada.html.contains(&format!("{}/o/", app.address)),
        "the open pixel"
    );
    assert!(
        to_ada.html.contains("mailto:hi@example.com"),
        "mailto stays"
    );
    assert!(to_ada.unsubscribe.contains(&format!("{}/u/", app.address)));
    assert!(to_ada.html.contains(&format!("{}/u/", app.address)));
    assert!(to_ada.text.contains("Leave: ") && to_ada.text.contains("/u/"));
    assert_ne!(
        to_ada.unsubscribe, to_bob.unsubscribe,
        "each recipient has their own link"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = app
            .get(&format!("/api/3/campaigns/{}", sent.campaign))
            .await;
        if shown.body["campaign"]["status"] == "5" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the campaign completes: {}",
            shown.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(outbox(&app, 2).await.len(), 2, "nobody twice");
}

async fn clicks_opens_and_unsubscribes_are_recorded(app: TestApp) {
    let sent = send_a_campaign(&app).await;
    let to_ada = sent.to("ada@example.com");
    let client = no_redirects();
    app.clock.advance(Duration::from_secs(120));

    let link = tracked_url(&app, &to_ada.html, "l");
    let clicked = client
        .get(&link)
        .header("user-agent", "Mozilla/5.0 (Macintosh) Safari/605")
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), 302);
    let location = clicked.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://example.com/pricing?plan=pro&x=1&tl_cid="),
        "{location}"
    );
    // One character of the token changed (never to itself: replacing the last one by a fixed
    // letter left the token as it was whenever it already ended in that letter).
    let at = link.len() - 5;
    let changed = if &link[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{changed}{}", &link[..at], &link[at + 1..]);
    assert_ne!(forged, link);
    let refused = client.get(&forged).send().await.unwrap();
    assert_eq!(refused.status(), 404);
    assert!(
        refused.headers().get("location").is_none(),
        "never an open redirect"
    );
    let scanner = client
        .get(&link)
        .header("user-agent", "Mozilla/5.0 (compatible; BingPreview/1.0b)")
        .send()
        .await
        .unwrap();
    assert_eq!(scanner.status(), 302);

    let tags = app
        .get(&format!("/api/3/contacts/{}/contactTags", sent.ada))
        .await;
    assert_eq!(
        tags.body["contactTags"].as_array().unwrap().len(),
        1,
        "the link's action ran"
    );
    let to_bob = sent.to("bob@example.com");
    let bob_link = tracked_url(&app, &to_bob.html, "l");
    let bots = client
        .get(&bob_link)
        .header("user-agent", "Mozilla/5.0 (compatible; BingPreview/1.0b)")
        .send()
        .await
        .unwrap();
    assert_eq!(bots.status(), 302);
    let bob = app
        .get("/api/3/contacts?email=bob%40example.com")
        .await
        .body["contacts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_tags = app.get(&format!("/api/3/contacts/{bob}/contactTags")).await;
    assert_eq!(
        bob_tags.body["contactTags"],
        json!([]),
        "a machine's click runs no action"
    );

    let pixel = tracked_url(&app, &to_ada.html, "o");
    let opened = client.get(&pixel).send().await.unwrap();
    assert_eq!(opened.headers()["content-type"], "image/gif");

    let unsubscribe = tracked_url(&app, &to_ada.html, "u");
    let page = client.get(&unsubscribe).send().await.unwrap();
    assert_eq!(
        page.status(),
        200,
        "a page with a button: following the link changes nothing"
    );
    let lists = app
        .get(&format!("/api/3/contacts/{}/contactLists", sent.ada))
        .await;
    assert_eq!(lists.body["contactLists"][0]["status"], "1");
    assert_eq!(one_click_unsubscribe(&unsubscribe).await, 200);
    let lists = app
        .get(&format!("/api/3/contacts/{}/contactLists", sent.ada))
        .await;
    assert_eq!(
        lists.body["contactLists"][0]["status"], "2",
        "unsubscribed at once"
    );
    assert_eq!(lists.body["contactLists"][0]["list"], sent.list.as_str());

    let timeline = app
        .get(&format!("/api/3/contacts/{}/trackingLogs", sent.ada))
        .await;
    let entries: Vec<(String, String)> = timeline.body["trackingLogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["type"].as_str().unwrap().to_owned(),
                l["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let kinds: Vec<&str> = entries.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["__unsubscribe", "__open", "__click", "__click"],
        "newest first"
    );
    assert_eq!(
        entries[3].1, "https://example.com/pricing?plan=pro&x=1",
        "a person's click"
    );
    assert!(
        entries[2].1.ends_with("machine:known_agent"),
        "the scanner's click: {}",
        entries[2].1
    );
    assert!(entries[0]
        .1
        .contains(&format!("campaign:{}", sent.campaign)));

    let again = client
        .get(&link)
        .header("user-agent", "Mozilla/5.0 (Macintosh) Safari/605")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 302);
    let stats = app
        .get(&format!("/api/3/campaigns/{}/links", sent.campaign))
        .await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    let links = stats.body["links"].as_array().unwrap();
    let pricing = links
        .iter()
        .find(|l| l["link"] == "https://example.com/pricing?plan=pro&x=1")
        .unwrap();
    assert_eq!(pricing["name"], "Pricing");
    assert_eq!(pricing["clicks"], 2, "a replayed click counts as a click");
    assert_eq!(pricing["uniqueClicks"], 1, "but not as another person");
    assert_eq!(
        pricing["machineClicks"], 2,
        "two scanner clicks stay out of both"
    );
    let open = links.iter().find(|l| l["link"] == "open").unwrap();
    assert_eq!(open["name"], "Read Tracker");
    let opens = open["clicks"].as_i64().unwrap() + open["machineClicks"].as_i64().unwrap();
    assert_eq!(opens, 1);
    assert_eq!(app.get("/api/3/campaigns/999999/links").await.status, 404);

    let shown = app
        .get(&format!("/api/3/campaigns/{}", sent.campaign))
        .await;
    let counters = &shown.body["campaign"];
    let count = |name: &str| counters[name].as_str().unwrap_or_default().to_owned();
    assert_eq!(count("send_amt"), "2");
    assert_eq!(count("total_amt"), "2");
    assert_eq!(count("linkclicks"), "2", "people's clicks");
    assert_eq!(count("uniquelinkclicks"), "1");
    assert_eq!(count("subscriberclicks"), "1");
    assert_eq!(
        count("opens"),
        "0",
        "the pixel was fetched with no user agent"
    );
    assert_eq!(count("unsubscribes"), "1");
    assert_eq!(count("machineHits"), "3", "two scanner clicks and the open");
    let listed = app.get("/api/3/campaigns").await;
    assert_eq!(listed.body["campaigns"][0]["linkclicks"], "2");
}

async fn odd_links_and_broken_html_are_sent_as_written(app: TestApp) {
    let ada = contact(&app, "ada@example.com", "Ada").await;
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    subscribe(&app, &list, &ada, 1).await;
    let html = "<p>Hi %FIRSTNAME%, %NOPE% <a href=\"javascript:alert(1)\">js</a> \
                <a href=\"mailto:a@example.com\">mail</a> <a href=\"/relative\">rel</a> \
                <a href=\"https://ok.example/x\">ok</a><div><b>unclosed \
                <a href='https://two.example/y'>two";
    let message = json!({"subject": "Odd", "fromemail": "news@example.com", "html": html});
    let campaign = app.draft_campaign(&list, message).await;
    app.send_campaign(&campaign).await;
    let mail = read(&outbox(&app, 1).await[0]);
    for kept in [
        "href=\"javascript:alert(1)\"",
        "href=\"mailto:a@example.com\"",
        "href=\"/relative\"",
        "Hi Ada, %NOPE% ",
        "<div><b>unclosed",
    ] {
        assert!(mail.html.contains(kept), "{kept} in {}", mail.html);
    }
    assert!(!mail.html.contains("ok.example") && !mail.html.contains("two.example"));
    assert_eq!(
        tracked_urls(&app, &mail.html, "l").len(),
        2,
        "{}",
        mail.html
    );
    let links = app.get(&format!("/api/3/campaigns/{campaign}/links")).await;
    let destinations: Vec<&str> = links.body["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["link"].as_str().unwrap())
        .collect();
    assert_eq!(
        destinations,
        ["https://ok.example/x", "https://two.example/y", "open"]
    );
}

both_engines!(
    odd_links_and_broken_html_are_sent_as_written,
    a_campaign_reaches_each_subscribed_contact_once,
    clicks_opens_and_unsubscribes_are_recorded,
);
