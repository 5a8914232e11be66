//! Sending a campaign: one personalized message per subscribed contact in the outbox, tracked
//! links, the open pixel and one-click unsubscribe headers; nobody twice, unsubscribed nobody.

use std::time::{Duration, Instant};

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

async fn contact(app: &TestApp, email: &str, first: &str) -> String {
    let answer = app
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": email, "firstName": first}}),
        )
        .await;
    answer.body["contact"]["id"].as_str().unwrap().to_owned()
}

async fn subscribe(app: &TestApp, list: &str, contact: &str, status: i64) {
    let answer = app
        .post(
            "/api/3/contactLists",
            json!({"contactList": {"list": list, "contact": contact, "status": status}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

/// The outbox's messages once there are `count` of them (waiting up to 20 s).
async fn outbox(app: &TestApp, count: usize) -> Vec<Vec<u8>> {
    let dir = app.data_dir().join("outbox");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let files: Vec<_> = std::fs::read_dir(&dir)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        let mails: Vec<_> = files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        if mails.len() >= count {
            return mails.iter().map(|p| std::fs::read(p).unwrap()).collect();
        }
        assert!(
            Instant::now() < deadline,
            "{} of {count} messages in the outbox",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Mail {
    to: String,
    subject: String,
    unsubscribe: String,
    html: String,
    text: String,
}

fn read(raw: &[u8]) -> Mail {
    use mailparse::MailHeaderMap;
    let parsed = mailparse::parse_mail(raw).unwrap();
    let header = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
    let part = |kind: &str| {
        parsed
            .subparts
            .iter()
            .find(|p| p.ctype.mimetype == kind)
            .map(|p| p.get_body().unwrap())
            .unwrap_or_default()
    };
    Mail {
        to: header("To"),
        subject: header("Subject"),
        unsubscribe: header("List-Unsubscribe"),
        html: part("text/html"),
        text: part("text/plain"),
    }
}

/// A sent campaign: the two messages in the outbox and the ids involved.
struct Sent {
    mails: Vec<Mail>,
    ada: String,
    campaign: String,
    list: String,
}

async fn send_a_campaign(app: &TestApp) -> Sent {
    let ada = contact(app, "ada@example.com", "Ada").await;
    let bob = contact(app, "bob@example.com", "").await;
    let carol = contact(app, "carol@example.com", "Carol").await;
    let list = app
        .post("/api/3/lists", json!({"list": {"name": "News"}}))
        .await
        .body["list"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    subscribe(app, &list, &ada, 1).await;
    subscribe(app, &list, &bob, 1).await;
    subscribe(app, &list, &carol, 1).await;
    subscribe(app, &list, &carol, 2).await;
    let field = app
        .post(
            "/api/3/fields",
            json!({"field": {"title": "Colour", "type": "text"}}),
        )
        .await
        .body["field"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        "/api/3/fieldValues",
        json!({"fieldValue": {"contact": ada, "field": field, "value": "blue <b>"}}),
    )
    .await;
    let html = "<p>Hi %FIRSTNAME|friend%, you like %COLOUR|nothing%.</p>\
                <a href=\"https://example.com/pricing?plan=pro&amp;x=1\">Pricing</a> \
                <a href=\"mailto:hi@example.com\">Write</a> <a href=\"%UNSUBSCRIBELINK%\">Leave</a>";
    let message = app
        .post(
            "/api/3/messages",
            json!({"message": {"subject": "Hello %FIRSTNAME|friend%", "fromname": "News", "fromemail": "news@example.com",
                "html": html, "text": "Hi %FIRSTNAME|friend%\nLeave: %UNSUBSCRIBELINK%"}}),
        )
        .await
        .body["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let campaign = app
        .post(
            "/api/3/campaigns",
            json!({"campaign": {"name": "Launch", "message": message, "list": list}}),
        )
        .await
        .body["campaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tag = app
        .post("/api/3/tags", json!({"tag": {"tag": "clicked-pricing"}}))
        .await
        .body["tag"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let interested = app
        .post("/api/3/lists", json!({"list": {"name": "Interested"}}))
        .await
        .body["list"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
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
    Sent {
        mails,
        ada,
        campaign,
        list,
    }
}

async fn a_campaign_reaches_each_subscribed_contact_once(app: TestApp) {
    let Sent {
        mails, campaign, ..
    } = send_a_campaign(&app).await;
    let to_ada = mails
        .iter()
        .find(|m| m.to.contains("ada@example.com"))
        .unwrap();
    let to_bob = mails
        .iter()
        .find(|m| m.to.contains("bob@example.com"))
        .unwrap();
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
        let shown = app.get(&format!("/api/3/campaigns/{campaign}")).await;
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

/// The first `{address}/{kind}/...` URL in `html`.
fn tracked_url(app: &TestApp, html: &str, kind: &str) -> String {
    let start = html
        .find(&format!("{}/{kind}/", app.address))
        .expect("a tracked URL");
    let rest = &html[start..];
    rest[..rest.find('"').unwrap()].to_owned()
}

pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn clicks_opens_and_unsubscribes_are_recorded(app: TestApp) {
    let sent = send_a_campaign(&app).await;
    let to_ada = sent
        .mails
        .iter()
        .find(|m| m.to.contains("ada@example.com"))
        .unwrap();
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
    let forged = format!("{}x", &link[..link.len() - 1]);
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
    let to_bob = sent
        .mails
        .iter()
        .find(|m| m.to.contains("bob@example.com"))
        .unwrap();
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
    let one_click = client
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status(), 200);
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
}

both_engines!(
    a_campaign_reaches_each_subscribed_contact_once,
    clicks_opens_and_unsubscribes_are_recorded,
);
