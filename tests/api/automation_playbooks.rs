//! The product's playbooks, end to end through the HTTP API, the tracking endpoints and a real
//! SMTP server (aiosmtpd): (a) lead nurture, from a form through four emails whose opens and
//! clicks score, to the sales hand-off and the purchase goal; (e) the abandoned cart, an
//! event-triggered entry that waits for another event and mails the cart's data when it never
//! comes.

use std::time::Duration;

use serde_json::json;
use tracklane_e2e::{both_engines, SmtpSink, TestApp};
use tracklane_server::config::SettingsLayer;

use crate::automation_emails::track;
use crate::automation_runs::tags_of;
use crate::forms::post_form;
use crate::mail::{no_redirects, read, tracked_url, Mail};
use crate::scores::score;

const DAY: Duration = Duration::from_secs(86_400);
/// A person's browser, as far as the scanner rules can tell.
const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 \
                       (KHTML, like Gecko) Version/17.0 Safari/605.1.15";

/// An app that mails through a fresh SMTP sink.
async fn app_with_sink(engine: tracklane_e2e::Engine) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let settings = SettingsLayer {
        smtp_url: Some(sink.smtp_url()),
        ..Default::default()
    };
    (TestApp::spawn_with(engine, settings).await, sink)
}

async fn settle(app: &TestApp) {
    for _ in 0..3 {
        app.settle_segments().await;
        app.settle_automations().await;
    }
}

/// The sink's messages once there are `count` at least, parsed.
async fn received(sink: &SmtpSink, count: usize) -> Vec<Mail> {
    let raw = sink.messages(count, Duration::from_secs(20)).await;
    assert!(raw.len() >= count, "{} of {count} messages", raw.len());
    raw.iter().map(|bytes| read(bytes)).collect()
}

/// The message that went to `address` with this subject.
fn mail_to<'a>(mails: &'a [Mail], address: &str, subject: &str) -> &'a Mail {
    mails
        .iter()
        .find(|mail| mail.header("X-RcptTo") == address && mail.subject == subject)
        .unwrap_or_else(|| panic!("no '{subject}' to {address}"))
}

/// Opens the mail (its pixel) and clicks its link as a person would, a while after it came.
async fn open_and_click(app: &TestApp, mail: &Mail) {
    app.clock.advance(Duration::from_secs(120));
    for kind in ["o", "l"] {
        let url = tracked_url(app, &mail.html, kind);
        let answer = no_redirects()
            .get(&url)
            .header("user-agent", BROWSER)
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success() || answer.status() == 302,
            "{url}"
        );
    }
}

async fn message(app: &TestApp, subject: &str) -> String {
    let html = format!(
        "<p>{subject}: <a href=\"https://shop.example/{}\">read</a></p>",
        subject.len()
    );
    app.create(
        "/api/3/messages",
        json!({"message": {"subject": subject, "fromemail": "team@example.com",
            "html": html, "text": subject}}),
    )
    .await
}

async fn contact_by_email(app: &TestApp, email: &str) -> String {
    let found = app.get(&format!("/api/3/contacts?email={email}")).await;
    found.body["contacts"][0]["id"].as_str().unwrap().to_owned()
}

async fn a_lead_is_nurtured_to_sales_and_its_purchase_is_the_goal(app: TestApp) {
    let (app, sink) = app_with_sink(app.engine).await;
    crate::events::enable(&app).await;
    let named = app
        .post(
            "/api/3/eventTrackingEvents",
            json!({"eventTrackingEvent": {"name": "purchase"}}),
        )
        .await;
    assert_eq!(named.status, 201, "{}", named.text);
    let (form, _, _) = crate::forms::newsletter_form(&app).await;
    let form_id: i64 = form.parse().unwrap();
    let model = app
        .create("/api/3/scores", json!({"score": {"name": "Engagement"}}))
        .await;
    let model_id: i64 = model.parse().unwrap();
    for (condition, points) in [
        (json!({"submittedForm": {"form": form_id}}), 10),
        (json!({"opened": {}}), 5),
        (json!({"clicked": {}}), 10),
    ] {
        app.create(
            &format!("/api/3/scores/{model}/rules"),
            json!({"scoreRule": {"condition": condition, "points": points}}),
        )
        .await;
    }
    let ready = app.new_tag("sales-ready").await;
    let mut emails = Vec::new();
    for subject in ["Welcome", "Our story", "Case study", "A demo?"] {
        emails.push(message(&app, subject).await);
    }
    let alert = app
        .create(
            "/api/3/messages",
            json!({"message": {"subject": "Hot lead: %EMAIL%", "fromemail": "team@example.com",
                "html": "<p>Call %FIRSTNAME% (%EMAIL%)</p>", "text": "Call %EMAIL%"}}),
        )
        .await;
    let hot = json!({"score": {"model": model_id, "value": {"atLeast": 50}}});
    let body = json!({"automation": {"name": "Lead nurture", "status": "1", "definition": {
        "triggers": [{"behavior": {"submittedForm": {"form": form_id}}}],
        "steps": [
            {"id": "e1", "sendEmail": {"message": emails[0]}},
            {"id": "w1", "wait": {"days": 3}},
            {"id": "e2", "sendEmail": {"message": emails[1]}},
            {"id": "w2", "wait": {"days": 3}},
            {"id": "e3", "sendEmail": {"message": emails[2]}},
            {"id": "w3", "wait": {"days": 3}},
            {"id": "e4", "sendEmail": {"message": emails[3]}},
            {"id": "warm", "waitFor": hot, "timeout": {"days": 7}, "timeoutNext": "check"},
            {"id": "check", "if": hot, "then": "sales", "else": "cold"},
            {"id": "sales", "addTag": ready},
            {"id": "notify", "notify": {"to": "sales@example.com", "message": alert}, "next": "deal"},
            {"id": "cold", "end": true},
            {"id": "deal", "goal": {"event": {"name": "purchase"}}, "unmet": "wait"}
        ]
    }}});
    let flow = app.create("/api/3/automations", body).await;
    settle(&app).await;

    // Ann and Bob sign up through the form: each scores 10 and gets the first email.
    for who in ["ann", "bob"] {
        let (status, _) = post_form(
            &app,
            &form,
            &format!("email={who}%40example.com&firstName={who}"),
        )
        .await;
        assert_eq!(status, 303, "the thank-you page");
    }
    settle(&app).await;
    let ann = contact_by_email(&app, "ann@example.com").await;
    let bob = contact_by_email(&app, "bob@example.com").await;
    assert_eq!(score(&app, &ann, &model).await, 10);
    // Ann reads and clicks each email three days apart; Bob never does.
    let subjects = ["Welcome", "Our story", "Case study", "A demo?"];
    for (round, subject) in subjects.iter().enumerate() {
        let mails = received(&sink, 2 * (round + 1)).await;
        mail_to(&mails, "bob@example.com", subject);
        open_and_click(&app, mail_to(&mails, "ann@example.com", subject)).await;
        settle(&app).await;
        assert_eq!(
            score(&app, &ann, &model).await,
            10 + 15 * (round as i64 + 1)
        );
        app.clock.advance(3 * DAY);
        settle(&app).await;
    }
    // Ann was hot (55) when the last email went: tagged and handed to sales at once; she now
    // waits for her purchase.
    let mails = received(&sink, 9).await;
    let notice = mail_to(&mails, "sales@example.com", "Hot lead: ann@example.com");
    assert!(notice.text.contains("ann@example.com"), "{}", notice.text);
    assert!(
        tags_of(&app, &ann).await.contains(&ready),
        "Ann is sales-ready"
    );
    track(&app, "ann@example.com", "purchase", "order=7").await;
    settle(&app).await;
    // Bob never warms up: after the week's wait he leaves by the cold path.
    app.clock.advance(7 * DAY);
    settle(&app).await;
    let report = app.get(&format!("/api/3/automations/{flow}/report")).await;
    let report = &report.body["report"];
    assert_eq!(report["entered"], "2", "{report}");
    assert_eq!(
        report["completed"], "1",
        "Ann completed at her goal: {report}"
    );
    assert_eq!(report["exitedEarly"], "1", "Bob left cold: {report}");
    assert_eq!(report["goals"][0]["reached"], "1");
    assert_eq!(report["goals"][0]["rate"], "0.50");
    assert!(!tags_of(&app, &bob).await.contains(&ready), "Bob is not");
    let all = sink.messages(9, Duration::from_secs(20)).await;
    assert_eq!(
        all.len(),
        9,
        "four emails each, one notification, nothing twice"
    );
}

async fn an_abandoned_cart_gets_a_reminder_with_its_data(app: TestApp) {
    let (app, sink) = app_with_sink(app.engine).await;
    let ann = crate::events::enable(&app).await;
    let news = app.new_list("News").await;
    let bob = app.new_contact("bob@example.com").await;
    for contact in [&ann, &bob] {
        crate::sending::subscribe(&app, &news, contact, 1).await;
    }
    for name in ["cart_created", "purchase"] {
        let named = app
            .post(
                "/api/3/eventTrackingEvents",
                json!({"eventTrackingEvent": {"name": name}}),
            )
            .await;
        assert_eq!(named.status, 201, "{}", named.text);
    }
    let reminder = app
        .create(
            "/api/3/messages",
            json!({"message": {"subject": "Your cart", "fromemail": "shop@example.com",
                "html": "<p>Still want it? %EVENT: cart_created%</p>",
                "text": "Still want it? %EVENT: cart_created%"}}),
        )
        .await;
    let body = json!({"automation": {"name": "Cart", "status": "1", "definition": {
        "entry": "multiple",
        "triggers": [{"behavior": {"event": {"name": "cart_created"}}}],
        "steps": [
            {"id": "bought", "waitFor": {"event": {"name": "purchase"}},
             "timeout": {"days": 1}, "timeoutNext": "remind"},
            {"id": "done", "end": true},
            {"id": "remind", "sendEmail": {"message": reminder}}
        ]
    }}});
    app.create("/api/3/automations", body).await;
    track(&app, "ada@example.com", "cart_created", "cart=42 shoes").await;
    track(&app, "bob@example.com", "cart_created", "cart=43 hat").await;
    settle(&app).await;
    app.clock.advance(Duration::from_secs(3_600));
    track(&app, "ada@example.com", "purchase", "order=42").await;
    settle(&app).await;
    app.clock.advance(DAY);
    settle(&app).await;
    let mails = received(&sink, 1).await;
    assert_eq!(mails.len(), 1, "Ada bought: only Bob is reminded");
    let mail = mail_to(&mails, "bob@example.com", "Your cart");
    assert!(mail.text.contains("cart=43 hat"), "{}", mail.text);
}

both_engines!(
    a_lead_is_nurtured_to_sales_and_its_purchase_is_the_goal,
    an_abandoned_cart_gets_a_reminder_with_its_data
);
