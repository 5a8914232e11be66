//! Telling a mail scanner's clicks from a person's: the hidden trap link, every link clicked at
//! once, and the per-account email settings that switch rules and link tracking.

use std::time::Duration;

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

use crate::mail::{no_redirects, read, tracked_urls, TRAP_ATTRIBUTES};
use crate::sending::{completed, contact, outbox, subscribe};

const PERSON: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15";
pub const SHOES: &str = "https://shop.example/shoes";
const HATS: &str = "https://shop.example/hats";

/// A campaign with two links (clicking shoes tags the contact `shoes`) sent to one contact.
pub struct Campaign {
    /// The campaign's id.
    pub id: String,
    /// The recipient's id.
    pub contact: String,
    /// The HTML part the recipient got.
    pub html: String,
}

/// Sends [`Campaign`].
pub async fn send_two_links(app: &TestApp) -> Campaign {
    let contact = contact(app, "dana@example.com", "Dana").await;
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "Shop"}}))
        .await;
    subscribe(app, &list, &contact, 1).await;
    let html = format!(
        "<html><body><a href=\"{SHOES}\">Shoes</a> <a href=\"{HATS}\">Hats</a></body></html>"
    );
    let message = app.create("/api/3/messages",
            json!({"message": {"subject": "New in", "fromemail": "shop@example.com", "html": html}})).await;
    let id = app
        .create(
            "/api/3/campaigns",
            json!({"campaign": {"name": "New in", "message": message, "list": list}}),
        )
        .await;
    let tag = app
        .create("/api/3/tags", json!({"tag": {"tag": "shoes"}}))
        .await;
    let action = app
        .post(
            &format!("/api/3/campaigns/{id}/linkActions"),
            json!({"linkAction": {"link": SHOES, "action": "add_tag", "target": tag}}),
        )
        .await;
    assert_eq!(action.status, 201, "{}", action.text);
    let sent = app
        .post(&format!("/api/3/campaigns/{id}/send"), json!({}))
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let html = read(&outbox(app, 1).await[0]).html;
    completed(app, &id).await;
    Campaign { id, contact, html }
}

/// Follows `url` as a person's browser would; answers the status.
pub async fn follow(url: &str) -> u16 {
    let answer = no_redirects()
        .get(url)
        .header("user-agent", PERSON)
        .send()
        .await
        .unwrap();
    answer.status().as_u16()
}

async fn tags_of(app: &TestApp, contact: &str) -> usize {
    let tags = app
        .get(&format!("/api/3/contacts/{contact}/contactTags"))
        .await;
    tags.body["contactTags"].as_array().unwrap().len()
}

/// The link statistics: `(clicks, uniqueClicks, machineClicks)` of `url`.
pub async fn stats_of(app: &TestApp, campaign: &str, url: &str) -> (i64, i64, i64) {
    let stats = app.get(&format!("/api/3/campaigns/{campaign}/links")).await;
    let link = stats.body["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["link"] == url)
        .cloned()
        .unwrap();
    let count = |name: &str| link[name].as_i64().unwrap();
    (
        count("clicks"),
        count("uniqueClicks"),
        count("machineClicks"),
    )
}

/// The values of the contact's `__click` entries, oldest first.
async fn clicks_on_timeline(app: &TestApp, contact: &str) -> Vec<String> {
    let timeline = app
        .get(&format!("/api/3/contacts/{contact}/trackingLogs"))
        .await;
    let mut clicks: Vec<String> = timeline.body["trackingLogs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["type"] == "__click")
        .map(|l| l["value"].as_str().unwrap_or_default().to_owned())
        .collect();
    clicks.reverse();
    clicks
}

/// The hidden trap link in `html`.
fn trap_url(html: &str) -> String {
    let end = html.find(TRAP_ATTRIBUTES).expect("a trap link");
    let start = html[..end].rfind('"').unwrap() + 1;
    html[start..end].to_owned()
}

async fn the_trap_link_unmasks_a_scanner(app: TestApp) {
    let campaign = send_two_links(&app).await;
    let trap = trap_url(&campaign.html);
    let body = campaign.html.find("<body>").unwrap();
    assert!(
        campaign.html[body..].starts_with(&format!("<body><a href=\"{trap}\"")),
        "the trap opens the body, before every other link: {}",
        campaign.html
    );
    let links = tracked_urls(&app, &campaign.html, "l");
    assert_eq!(links.len(), 2, "the trap is not one of the message's links");
    app.clock.advance(Duration::from_secs(120));

    assert_eq!(follow(&trap).await, 200, "the trap answers an empty page");
    assert_eq!(
        follow(&links[0]).await,
        302,
        "a scanner is still redirected"
    );
    assert_eq!(
        tags_of(&app, &campaign.contact).await,
        0,
        "but runs no action"
    );
    assert_eq!(stats_of(&app, &campaign.id, SHOES).await, (0, 0, 1));

    app.clock.advance(Duration::from_secs(61));
    assert_eq!(follow(&links[0]).await, 302);
    assert_eq!(
        tags_of(&app, &campaign.contact).await,
        1,
        "the person's click acts"
    );
    assert_eq!(stats_of(&app, &campaign.id, SHOES).await, (1, 1, 1));
    assert_eq!(
        clicks_on_timeline(&app, &campaign.contact).await,
        [
            format!("campaign:{} trap machine:trap_link", campaign.id),
            format!("{SHOES} machine:trap_link"),
            SHOES.to_owned(),
        ],
        "each decision is on the timeline"
    );
}

async fn every_link_clicked_at_once_is_a_machine(app: TestApp) {
    app.update(
        "/api/3/emailSettings",
        json!({"emailSettings": {"scannerRules": {"trapLink": false}}}),
    )
    .await;
    let campaign = send_two_links(&app).await;
    assert!(
        !campaign.html.contains(TRAP_ATTRIBUTES),
        "no trap link when its rule is off"
    );
    let links = tracked_urls(&app, &campaign.html, "l");
    app.clock.advance(Duration::from_secs(120));

    assert_eq!(follow(&links[0]).await, 302);
    assert_eq!(stats_of(&app, &campaign.id, SHOES).await, (1, 1, 0));
    app.clock.advance(Duration::from_millis(400));
    assert_eq!(follow(&links[1]).await, 302);
    assert_eq!(
        stats_of(&app, &campaign.id, HATS).await,
        (0, 0, 1),
        "the last link of the burst"
    );
    assert_eq!(
        stats_of(&app, &campaign.id, SHOES).await,
        (0, 0, 1),
        "the burst's first click is a machine's too"
    );
    let shown = app.get(&format!("/api/3/campaigns/{}", campaign.id)).await;
    assert_eq!(shown.body["campaign"]["uniquelinkclicks"], "0");
    assert_eq!(shown.body["campaign"]["machineHits"], "2");
    let timeline = clicks_on_timeline(&app, &campaign.contact).await;
    assert_eq!(timeline[1], format!("{HATS} machine:every_link_at_once"));

    app.clock.advance(Duration::from_secs(5));
    assert_eq!(follow(&links[1]).await, 302);
    assert_eq!(
        stats_of(&app, &campaign.id, HATS).await,
        (1, 1, 1),
        "a later click is a person's"
    );
}

async fn email_settings_are_checked_and_kept_per_account(app: TestApp) {
    let defaults = app.get("/api/3/emailSettings").await;
    assert_eq!(defaults.status, 200, "{}", defaults.text);
    let settings = &defaults.body["emailSettings"];
    assert_eq!(settings["trackLinks"], true);
    assert_eq!(settings["scannerRules"]["secondsAfterDelivery"], 10);
    assert_eq!(settings["scannerRules"]["trapLink"], true);

    let changed = app
        .update(
            "/api/3/emailSettings",
            json!({"emailSettings": {"scannerRules": {"allLinksWithinMs": null, "networks": ["203.0.113.0/24"]}}}),
        )
        .await;
    let rules = &changed["emailSettings"]["scannerRules"];
    assert_eq!(rules["allLinksWithinMs"], json!(null));
    assert_eq!(rules["networks"], json!(["203.0.113.0/24"]));
    assert_eq!(rules["knownAgents"], true, "the rules not named are kept");

    let refused = [
        json!({"emailSettings": {"scannerRules": {"trap": true}}}),
        json!({"emailSettings": {"scannerRules": {"knownAgents": "yes"}}}),
        json!({"emailSettings": {"scannerRules": {"networks": ["not a network"]}}}),
        json!({"emailSettings": {"scannerRules": {"secondsAfterDelivery": -1}}}),
        json!({"emailSettings": {"trackLinks": 1}}),
        json!({"emailSettings": {"tracklinks": false}}),
        json!({}),
    ];
    for body in refused {
        let answer = app.put("/api/3/emailSettings", body.clone()).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
        assert!(answer.body["errors"].is_array(), "{}", answer.text);
    }
    let kept = app.get("/api/3/emailSettings").await;
    assert_eq!(kept.body, changed, "refusals change nothing");

    let other_key = app.other_account_key().await;
    let theirs = app
        .send("GET", "/api/3/emailSettings", Some(&other_key), None)
        .await;
    assert_eq!(
        theirs.body["emailSettings"]["scannerRules"]["networks"],
        json!([]),
        "another account keeps its own"
    );

    app.update(
        "/api/3/emailSettings",
        json!({"emailSettings": {"trackLinks": false}}),
    )
    .await;
    let campaign = send_two_links(&app).await;
    assert!(campaign.html.contains(SHOES) && campaign.html.contains(HATS));
    assert!(
        !campaign.html.contains(&format!("{}/l/", app.address))
            && !campaign.html.contains(&format!("{}/o/", app.address)),
        "no tracking when the account switches it off: {}",
        campaign.html
    );
}

async fn clicks_from_the_accounts_scanner_networks_are_machines(app: TestApp) {
    app.update(
        "/api/3/emailSettings",
        json!({"emailSettings": {"scannerRules": {"networks": ["127.0.0.0/8"]}}}),
    )
    .await;
    let campaign = send_two_links(&app).await;
    let links = tracked_urls(&app, &campaign.html, "l");
    app.clock.advance(Duration::from_secs(120));
    assert_eq!(follow(&links[0]).await, 302);
    assert_eq!(stats_of(&app, &campaign.id, SHOES).await, (0, 0, 1));
    assert_eq!(tags_of(&app, &campaign.contact).await, 0);
    assert_eq!(
        clicks_on_timeline(&app, &campaign.contact).await,
        [format!("{SHOES} machine:known_network")]
    );
}

async fn early_clicks_head_requests_and_prefetches_are_machines(app: TestApp) {
    let campaign = send_two_links(&app).await;
    let links = tracked_urls(&app, &campaign.html, "l");
    assert_eq!(follow(&links[0]).await, 302, "right after delivery");
    app.clock.advance(Duration::from_secs(120));
    let client = no_redirects();
    let head = client
        .head(&links[1])
        .header("user-agent", PERSON)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 302);
    let prefetch = client
        .get(&links[1])
        .header("user-agent", PERSON)
        .header("sec-purpose", "prefetch")
        .send()
        .await
        .unwrap();
    assert_eq!(prefetch.status(), 302);
    assert_eq!(
        clicks_on_timeline(&app, &campaign.contact).await,
        [
            format!("{SHOES} machine:too_soon_after_delivery"),
            format!("{HATS} machine:head_request"),
            format!("{HATS} machine:prefetch"),
        ]
    );
    assert_eq!(tags_of(&app, &campaign.contact).await, 0, "no action ran");
    assert_eq!(stats_of(&app, &campaign.id, HATS).await, (0, 0, 2));
}

both_engines!(
    the_trap_link_unmasks_a_scanner,
    early_clicks_head_requests_and_prefetches_are_machines,
    clicks_from_the_accounts_scanner_networks_are_machines,
    every_link_clicked_at_once_is_a_machine,
    email_settings_are_checked_and_kept_per_account,
);
