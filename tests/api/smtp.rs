//! The real mail path: a campaign sent over SMTP to a server on localhost (aiosmtpd, see
//! [`SmtpSink`]), read back from its Maildir, and its tracked link followed over HTTP as the
//! recipient's browser would, landing the visitor on the site identified.

use std::time::Duration;

use serde_json::json;
use tracklane_e2e::{both_engines, SmtpSink, TestApp};
use tracklane_server::config::SettingsLayer;

use crate::mail::{no_redirects, read, tracked_url};
use crate::sending::{contact, subscribe};
use crate::tracking::{enable, hit, logs, page};

/// The link in the message, on a subdomain of the domain that [`enable`] whitelists.
const DESTINATION: &str = "https://shop.example.com/spring?x=1";
/// A person's browser, as far as the scanner rules can tell.
const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 \
                       (KHTML, like Gecko) Version/17.0 Safari/605.1.15";

/// The `id` of the `kind` created by posting `body` to `path` (201, or 200 as AC answers for
/// lists).
async fn create(app: &TestApp, path: &str, kind: &str, body: serde_json::Value) -> String {
    let created = app.post(path, body).await;
    assert!(
        matches!(created.status, 200 | 201),
        "{path}: {} {}",
        created.status,
        created.text
    );
    created.body[kind]["id"].as_str().unwrap().to_owned()
}

async fn a_campaign_sent_over_smtp_is_clicked_and_identifies_the_visitor(app: TestApp) {
    let engine = app.engine;
    drop(app);
    let sink = SmtpSink::start().await;
    let settings = SettingsLayer {
        smtp_url: Some(sink.smtp_url()),
        ..Default::default()
    };
    let app = TestApp::spawn_with(engine, settings).await;
    enable(&app).await;

    let tag = create(
        &app,
        "/api/3/tags",
        "tag",
        json!({"tag": {"tag": "spring-shopper"}}),
    )
    .await;
    let list = create(
        &app,
        "/api/3/lists",
        "list",
        json!({"list": {"name": "Spring"}}),
    )
    .await;
    let ada = contact(&app, "ada@example.com", "Ada").await;
    subscribe(&app, &list, &ada, 1).await;
    let html = format!(
        "<p>Hi %FIRSTNAME%,</p><p><a href=\"{DESTINATION}\">The spring collection</a></p>\
         <p><a href=\"%UNSUBSCRIBELINK%\">Unsubscribe</a></p>"
    );
    let message = create(
        &app,
        "/api/3/messages",
        "message",
        json!({"message": {"subject": "Spring is here, %FIRSTNAME%", "fromname": "Shop",
            "fromemail": "news@example.com", "html": html, "text": "Hi %FIRSTNAME%"}}),
    )
    .await;
    let campaign = create(
        &app,
        "/api/3/campaigns",
        "campaign",
        json!({"campaign": {"name": "Spring", "message": message, "list": list}}),
    )
    .await;
    create(
        &app,
        &format!("/api/3/campaigns/{campaign}/linkActions"),
        "linkAction",
        json!({"linkAction": {"link": DESTINATION, "action": "add_tag", "target": tag}}),
    )
    .await;
    let started = app
        .post(&format!("/api/3/campaigns/{campaign}/send"), json!({}))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    assert_eq!(started.body["queued"], 1);

    let received = sink.messages(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1, "one message for one subscriber");
    let mail = read(&received[0]);
    assert_eq!(
        mail.header("X-MailFrom"),
        "news@example.com",
        "the envelope"
    );
    assert_eq!(mail.header("X-RcptTo"), "ada@example.com", "the envelope");
    assert!(mail.to.contains("ada@example.com"), "To: {}", mail.to);
    assert_eq!(mail.subject, "Spring is here, Ada");
    assert!(
        mail.unsubscribe.contains(&format!("<{}/u/", app.address)),
        "List-Unsubscribe: {}",
        mail.unsubscribe
    );
    assert_eq!(
        mail.header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    assert!(
        !mail.html.contains(DESTINATION),
        "the link is tracked: {}",
        mail.html
    );

    // A person clicks a while after delivery: a click within seconds is a scanner's.
    app.clock.advance(Duration::from_secs(120));
    let link = tracked_url(&app, &mail.html, "l");
    let clicked = no_redirects()
        .get(&link)
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), 302, "{link}");
    let location = clicked.headers()["location"].to_str().unwrap().to_owned();
    let landing = reqwest::Url::parse(&location).unwrap();
    assert_eq!(
        location.split_once("&tl_cid=").map(|(kept, _)| kept),
        Some(DESTINATION),
        "the destination, its query kept, then the contact token: {location}"
    );
    let token = landing
        .query_pairs()
        .find(|(name, _)| name == "tl_cid")
        .map(|(_, value)| value.into_owned())
        .expect("a tl_cid");

    let tags = app.get(&format!("/api/3/contacts/{ada}/contactTags")).await;
    let tags = tags.body["contactTags"].as_array().unwrap();
    assert_eq!(tags.len(), 1, "the link's action ran: {tags:?}");
    assert_eq!(tags[0]["tag"], tag.as_str());

    let timeline = logs(&app, &format!("/api/3/contacts/{ada}/trackingLogs")).await;
    assert_eq!(timeline.len(), 1, "{timeline:?}");
    assert_eq!(timeline[0]["type"], "__click");
    assert_eq!(timeline[0]["value"], DESTINATION, "a person's click");

    // The snippet on the landing page: a visitor the site has never seen, with the token.
    let mut landed = page(&app, "visitor-from-mail", &location);
    landed["c"] = json!(token);
    let recorded = hit(&app, landed).await;
    assert_eq!(recorded.status, 200, "{}", recorded.text);

    let timeline = logs(&app, &format!("/api/3/contacts/{ada}/trackingLogs")).await;
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["__pagevisit", "__click"], "newest first");
    let visit = &timeline[0];
    assert_eq!(
        visit["visitor"], "visitor-from-mail",
        "the visitor identified"
    );
    assert_eq!(visit["subscriberid"], ada.as_str());
    assert!(location.contains("tl_cid="), "{location}");
    assert_eq!(
        visit["value"], DESTINATION,
        "the page is stored without the contact token its address carried"
    );
}

both_engines!(a_campaign_sent_over_smtp_is_clicked_and_identifies_the_visitor);
