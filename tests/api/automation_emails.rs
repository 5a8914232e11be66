//! Automation emails: a `sendEmail` step mails the contact its message, personalised with the
//! triggering event's data, through a campaign of the step whose links track and keep their
//! destinations across edits of the message; a `notify` step mails a fixed address about the
//! contact; the unsubscribed get nothing.

use std::time::Duration;

use serde_json::{json, Value};
use tracklane_e2e::{both_engines, TestApp};

use crate::automation_runs::settle;
use crate::mail::{no_redirects, read, tracked_url, Mail};
use crate::sending::{outbox, subscribe};

/// The event whose data the email carries.
const DOWNLOAD: &str = "file download request";

/// A message of this subject, HTML and text; answers its id.
async fn message(app: &TestApp, subject: &str, html: &str, text: &str) -> String {
    app.create(
        "/api/3/messages",
        json!({"message": {"subject": subject, "fromemail": "team@example.com",
            "html": html, "text": text}}),
    )
    .await
}

/// An active automation; answers its id.
async fn automation(app: &TestApp, definition: Value) -> String {
    let body = json!({"automation": {"name": "Files", "status": "1", "definition": definition}});
    app.create("/api/3/automations", body).await
}

/// Records the event `name` for the contact through `/event`, with `data` (the name must be
/// known to the account's event tracking).
pub(crate) async fn track(app: &TestApp, email: &str, name: &str, data: &str) {
    let actid = app.account.0.to_string();
    let visit = json!({ "email": email }).to_string();
    let fields = [
        ("actid", actid.as_str()),
        ("key", app.event_key.as_str()),
        ("event", name),
        ("eventdata", data),
        ("visit", visit.as_str()),
    ];
    let answer = crate::events::spawn(app, &fields).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

/// The outbox's `count` messages, oldest first.
async fn mails(app: &TestApp, count: usize) -> Vec<Mail> {
    let mut raw = outbox(app, count).await;
    assert_eq!(raw.len(), count, "exactly {count} messages");
    raw.sort();
    raw.iter().map(|bytes| read(bytes)).collect()
}

/// Where a tracked link redirects, without the contact's `tl_cid`.
async fn destination(url: &str) -> String {
    let answer = no_redirects().get(url).send().await.unwrap();
    assert_eq!(answer.status(), 302, "{url}");
    let location = answer.headers()["location"].to_str().unwrap();
    location.split('?').next().unwrap().to_owned()
}

/// The account's campaigns of type automation.
async fn automation_campaigns(app: &TestApp) -> Vec<Value> {
    let answer = app.get("/api/3/campaigns").await;
    answer.body["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|campaign| campaign["type"] == "automation")
        .cloned()
        .collect()
}

async fn an_event_mails_its_data_and_edits_keep_the_sent_links(app: TestApp) {
    let ada = crate::events::enable(&app).await;
    let named = app
        .post(
            "/api/3/eventTrackingEvents",
            json!({"eventTrackingEvent": {"name": DOWNLOAD}}),
        )
        .await;
    assert_eq!(named.status, 201, "{}", named.text);
    let news = app.new_list("News").await;
    subscribe(&app, &news, &ada, 1).await;
    let letter = message(
        &app,
        "Your file, %EMAIL%",
        "<p><a href=\"https://files.example/guide\">Guide</a> %EVENT: file download request%</p>",
        "Download it at %EVENT: file download request%",
    )
    .await;
    let flow = automation(
        &app,
        json!({"entry": "multiple",
            "triggers": [{"behavior": {"event": {"name": DOWNLOAD}}}],
            "steps": [{"id": "mail", "sendEmail": {"message": letter}}]}),
    )
    .await;

    track(
        &app,
        "ada@example.com",
        DOWNLOAD,
        "https://files.example/guide.pdf",
    )
    .await;
    settle(&app).await;
    let first = mails(&app, 1).await.remove(0);
    assert_eq!(first.to, "ada@example.com");
    assert_eq!(first.subject, "Your file, ada@example.com");
    assert!(
        first
            .text
            .contains("Download it at https://files.example/guide.pdf"),
        "the event's data: {}",
        first.text
    );
    assert!(
        !first.unsubscribe.is_empty(),
        "a contact's email unsubscribes"
    );
    let sent_link = tracked_url(&app, &first.html, "l");
    assert_eq!(destination(&sent_link).await, "https://files.example/guide");
    let campaigns = automation_campaigns(&app).await;
    assert_eq!(campaigns.len(), 1, "{campaigns:?}");
    assert_eq!(campaigns[0]["seriesid"], flow.as_str());
    assert_eq!(
        campaigns[0]["status"], "2",
        "an automation's campaign never completes"
    );

    // The message is edited: the next email has the new link, the one sent keeps its own.
    app.update(
        &format!("/api/3/messages/{letter}"),
        json!({"message": {"html": "<p><a href=\"https://files.example/v2\">Guide v2</a></p>"}}),
    )
    .await;
    track(
        &app,
        "ada@example.com",
        DOWNLOAD,
        "https://files.example/v2.pdf",
    )
    .await;
    settle(&app).await;
    let both = mails(&app, 2).await;
    let second = both
        .iter()
        .find(|mail| mail.text.contains("v2.pdf"))
        .expect("the second email");
    let new_link = tracked_url(&app, &second.html, "l");
    assert_eq!(destination(&new_link).await, "https://files.example/v2");
    assert_eq!(destination(&sent_link).await, "https://files.example/guide");
    assert_eq!(automation_campaigns(&app).await.len(), 2);

    // Passes after it send nothing more: each visit of the step mails once.
    settle(&app).await;
    app.sender.run_once().await.unwrap();
    assert_eq!(outbox(&app, 2).await.len(), 2);
}

async fn a_notification_goes_to_its_address_and_the_unsubscribed_get_nothing(app: TestApp) {
    let news = app.new_list("News").await;
    let ann = app.new_contact("ann@example.com").await;
    let bob = app.new_contact("bob@example.com").await;
    subscribe(&app, &news, &bob, 1).await;
    subscribe(&app, &news, &ann, 1).await;
    subscribe(&app, &news, &ann, 2).await;
    let hello = message(&app, "Hello", "<p>Hello %UNSUBSCRIBELINK%</p>", "Hello").await;
    let alert = message(
        &app,
        "Lead: %EMAIL%",
        "<p><a href=\"https://crm.example/x\">Open</a> %UNSUBSCRIBELINK%</p>",
        "Call %EMAIL%",
    )
    .await;
    let flow = automation(
        &app,
        json!({"steps": [
            {"id": "hello", "sendEmail": {"message": hello}},
            {"id": "sales", "notify": {"to": "sales@example.com", "message": alert}}
        ]}),
    )
    .await;
    let mut runs = Vec::new();
    for contact in [&ann, &bob] {
        let entered = app
            .post(
                "/api/3/contactAutomations",
                json!({"contactAutomation": {"contact": contact, "automation": flow}}),
            )
            .await;
        assert_eq!(entered.status, 201, "{}", entered.text);
        runs.push(entered.body["contactAutomation"]["id"].clone());
    }
    settle(&app).await;
    let sent = mails(&app, 3).await;
    let to = |address: &str| sent.iter().filter(|mail| mail.to == address).count();
    assert_eq!(to("bob@example.com"), 1);
    assert_eq!(to("ann@example.com"), 0, "Ann unsubscribed");
    assert_eq!(to("sales@example.com"), 2, "sales hears of both");
    for notice in sent.iter().filter(|mail| mail.to == "sales@example.com") {
        assert!(notice.subject.starts_with("Lead: "), "{}", notice.subject);
        assert!(notice.unsubscribe.is_empty(), "no List-Unsubscribe");
        assert!(
            !notice.html.contains(&format!("{}/u/", app.address)),
            "no unsubscribe link: {}",
            notice.html
        );
        assert!(notice.html.contains("https://crm.example/x"), "not tracked");
    }
    let ann_run = app
        .get(&format!(
            "/api/3/contactAutomations/{}",
            runs[0].as_str().unwrap()
        ))
        .await;
    let run = &ann_run.body["contactAutomation"];
    assert_eq!(run["status"], "2", "Ann's run goes on: {run}");
    assert!(
        run["lastError"]
            .as_str()
            .is_some_and(|note| note.contains("step hello") && note.contains("no list")),
        "{run}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    app.sender.run_once().await.unwrap();
    assert_eq!(outbox(&app, 3).await.len(), 3);
}

async fn an_email_goes_by_the_lists_as_they_are_at_its_step(app: TestApp) {
    let news = app.new_list("News").await;
    let bob = app.new_contact("bob@example.com").await;
    subscribe(&app, &news, &bob, 1).await;
    let hello = message(&app, "Hello", "<p>Hello</p>", "Hello").await;
    let bye = message(&app, "Bye", "<p>Bye</p>", "Bye").await;
    let list: i64 = news.parse().unwrap();
    let flow = automation(
        &app,
        json!({"steps": [
            {"id": "hello", "sendEmail": {"message": hello}},
            {"id": "leave", "unsubscribe": list},
            {"id": "bye", "sendEmail": {"message": bye}}
        ]}),
    )
    .await;
    let entered = app
        .post(
            "/api/3/contactAutomations",
            json!({"contactAutomation": {"contact": bob, "automation": flow}}),
        )
        .await;
    assert_eq!(entered.status, 201, "{}", entered.text);
    settle(&app).await;
    let sent = mails(&app, 1).await;
    assert_eq!(sent[0].subject, "Hello", "sent while Bob was subscribed");
    let run = entered.body["contactAutomation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = app.get(&format!("/api/3/contactAutomations/{run}")).await;
    let run = &run.body["contactAutomation"];
    assert!(
        run["lastError"]
            .as_str()
            .is_some_and(|note| note.contains("step bye") && !note.contains("step hello")),
        "{run}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    app.sender.run_once().await.unwrap();
    assert_eq!(
        outbox(&app, 1).await.len(),
        1,
        "no goodbye after the unsubscribe"
    );
}

both_engines!(
    an_event_mails_its_data_and_edits_keep_the_sent_links,
    a_notification_goes_to_its_address_and_the_unsubscribed_get_nothing,
    an_email_goes_by_the_lists_as_they_are_at_its_step
);
