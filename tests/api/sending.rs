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

async fn a_campaign_reaches_each_subscribed_contact_once(app: TestApp) {
    let ada = contact(&app, "ada@example.com", "Ada").await;
    let bob = contact(&app, "bob@example.com", "").await;
    let carol = contact(&app, "carol@example.com", "Carol").await;
    let list = app
        .post("/api/3/lists", json!({"list": {"name": "News"}}))
        .await
        .body["list"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    subscribe(&app, &list, &ada, 1).await;
    subscribe(&app, &list, &bob, 1).await;
    subscribe(&app, &list, &carol, 1).await;
    subscribe(&app, &list, &carol, 2).await;
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
    let started = app
        .post(&format!("/api/3/campaigns/{campaign}/send"), json!({}))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    assert_eq!(started.body["queued"], 2, "carol unsubscribed");
    let again = app
        .post(&format!("/api/3/campaigns/{campaign}/send"), json!({}))
        .await;
    assert_eq!(again.status, 422, "a campaign is sent once");

    let mails: Vec<Mail> = outbox(&app, 2).await.iter().map(|raw| read(raw)).collect();
    assert_eq!(mails.len(), 2);
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

both_engines!(a_campaign_reaches_each_subscribed_contact_once);
