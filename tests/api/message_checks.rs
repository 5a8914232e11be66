//! What a marketer checks before and in every send: a preview as a contact, a test send to an
//! address, the account's unsubscribe footer on messages without a link of their own, a text
//! part generated from the HTML with the tracked links in it, a `Message-ID` on the sender's
//! domain, and link actions that name tags by name and only links the message has.

use std::time::Duration;

use serde_json::{json, Value};
use tracklane_e2e::{both_engines, ScriptedSmtp, TestApp};

use crate::automation_runs::tags_of;
use crate::mail::{read, tracked_url, Mail};
use crate::mail_failures::over;
use crate::scanner::follow;
use crate::sending::{completed, contact, outbox, subscribe};

const FOOTER: &str = "<p>Tired of us? <a href=\"%UNSUBSCRIBELINK%\">Leave</a></p>";

/// A message with no text part and no unsubscribe link, and Ada subscribed to a list.
async fn message_and_ada(app: &TestApp) -> (String, String, String) {
    let list = app.new_list("News").await;
    let ada = contact(app, "ada@example.com", "Ada").await;
    subscribe(app, &list, &ada, 1).await;
    let message = app
        .create(
            "/api/3/messages",
            json!({"message": {"subject": "Hello %FIRSTNAME%", "fromname": "Shop",
                "fromemail": "news@shop.example",
                "html": "<html><body><h1>Sale</h1><p>Hi %FIRSTNAME%, see \
                         <a href=\"https://shop.example\">the shop</a>.</p></body></html>"}}),
        )
        .await;
    (list, ada, message)
}

async fn set_footer(app: &TestApp, footer: Value) -> tracklane_e2e::Answer {
    app.put(
        "/api/3/emailSettings",
        json!({"emailSettings": {"unsubscribeFooter": footer}}),
    )
    .await
}

/// Sends `message` to `list` and reads the one mail.
async fn sent(app: &TestApp, list: &str, message: &str) -> (String, Mail) {
    let campaign = app
        .create(
            "/api/3/campaigns",
            json!({"campaign": {"name": "Sale", "message": message, "list": list}}),
        )
        .await;
    app.send_campaign(&campaign).await;
    let mail = read(&outbox(app, 1).await[0]);
    completed(app, &campaign).await;
    (campaign, mail)
}

async fn a_message_gets_the_footer_a_text_part_and_a_message_id_on_the_senders_domain(
    app: TestApp,
) {
    let (list, _, message) = message_and_ada(&app).await;
    let changed = set_footer(&app, json!(FOOTER)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["emailSettings"]["unsubscribeFooter"], FOOTER);
    let (_, mail) = sent(&app, &list, &message).await;

    let unsubscribe = mail.unsubscribe.trim_matches(['<', '>']).to_owned();
    assert!(unsubscribe.contains("/u/"), "{}", mail.unsubscribe);
    assert!(mail.html.contains("Tired of us?"), "{}", mail.html);
    assert!(
        mail.html.find("Tired of us?") < mail.html.find("</body>"),
        "the footer is inside the body: {}",
        mail.html
    );
    assert!(
        mail.html.contains(&format!("href=\"{unsubscribe}\"")),
        "{}",
        mail.html
    );

    let text = &mail.text;
    assert!(text.contains("Hi Ada, see"), "{text}");
    assert!(text.contains("Tired of us?"), "{text}");
    let tracked = tracked_url(&app, &mail.html, "l");
    assert!(
        text.contains(&tracked),
        "the text part has the tracked link: {text}"
    );
    assert!(text.contains(&unsubscribe), "{text}");
    assert!(!text.contains("/o/"), "no open pixel in the text: {text}");
    assert_eq!(
        text.matches(&format!("{}/l/", app.address)).count(),
        1,
        "no trap link: {text}"
    );

    let id = mail.header("Message-ID");
    assert!(id.ends_with("@shop.example>"), "{id}");
}

async fn the_footer_is_checked_and_a_message_with_its_own_link_gets_none(app: TestApp) {
    for bad in [
        json!("<p>no link</p>"),
        json!(5),
        json!("x".repeat(5_000) + "%UNSUBSCRIBELINK%"),
    ] {
        let refused = set_footer(&app, bad.clone()).await;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.text);
    }
    let default = app.get("/api/3/emailSettings").await;
    let default = default.body["emailSettings"]["unsubscribeFooter"].clone();
    assert!(default.as_str().unwrap().contains("%UNSUBSCRIBELINK%"));
    assert_eq!(set_footer(&app, json!(FOOTER)).await.status, 200);
    let back = set_footer(&app, Value::Null).await;
    assert_eq!(
        back.body["emailSettings"]["unsubscribeFooter"], default,
        "null is the default"
    );

    let list = app.new_list("News").await;
    let ada = contact(&app, "ada@example.com", "Ada").await;
    subscribe(&app, &list, &ada, 1).await;
    let message = app
        .create(
            "/api/3/messages",
            json!({"message": {"subject": "Hi", "fromemail": "news@shop.example",
                "html": "<p>Hi. <a href=\"%UNSUBSCRIBELINK%\">Bye</a></p>", "text": "Hi, in text."}}),
        )
        .await;
    let (_, mail) = sent(&app, &list, &message).await;
    assert!(
        !mail.html.contains("subscribed to our list"),
        "{}",
        mail.html
    );
    assert!(mail.html.contains("Bye</a>"));
    assert!(mail.text.starts_with("Hi, in text."), "{}", mail.text);
    assert!(
        mail.text.contains("subscribed to our list"),
        "a text without the link gets the footer: {}",
        mail.text
    );
}

async fn a_preview_shows_the_message_as_a_contact_gets_it(app: TestApp) {
    let (_, ada, message) = message_and_ada(&app).await;
    let path = format!("/api/3/messages/{message}/preview");
    let preview = app.get(&format!("{path}?contact={ada}")).await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    let preview = &preview.body["preview"];
    assert_eq!(preview["subject"], "Hello Ada");
    assert_eq!(preview["contact"], ada.as_str());
    let html = preview["html"].as_str().unwrap();
    assert!(html.contains("Hi Ada, see"), "{html}");
    assert!(
        html.contains("subscribed to our list"),
        "the footer: {html}"
    );
    assert!(
        html.contains("href=\"https://shop.example\""),
        "links are not tracked: {html}"
    );
    assert!(!html.contains("/o/"), "{html}");
    assert!(
        html.contains(&format!("{}/u/preview", app.address)),
        "an inert unsubscribe link"
    );
    assert!(preview["text"].as_str().unwrap().contains("Hi Ada, see"));

    let blank = app.get(&path).await;
    assert_eq!(blank.body["preview"]["subject"], "Hello ");
    assert_eq!(app.get(&format!("{path}?contact=999999")).await.status, 404);
    assert_eq!(app.get(&format!("{path}?contact=ada")).await.status, 422);
    assert_eq!(app.get("/api/3/messages/999999/preview").await.status, 404);
    let other = app.other_account_key().await;
    let theirs = app
        .send("GET", &format!("{path}?contact={ada}"), Some(&other), None)
        .await;
    assert_eq!(theirs.status, 404);
    let unsubscribed = no_inert_unsubscribe(&app).await;
    assert_eq!(
        unsubscribed, 404,
        "the preview's unsubscribe link does nothing"
    );
}

async fn no_inert_unsubscribe(app: &TestApp) -> u16 {
    crate::mail::one_click_unsubscribe(&format!("{}/u/preview", app.address)).await
}

async fn a_test_send_mails_the_preview_to_an_address(app: TestApp) {
    let (_, ada, message) = message_and_ada(&app).await;
    let path = format!("/api/3/messages/{message}/test");
    let tested = app
        .post(&path, json!({"email": "Me@Example.com", "contact": ada}))
        .await;
    assert_eq!(tested.status, 200, "{}", tested.text);
    assert_eq!(tested.body["test"]["to"], "me@example.com");
    let mail = read(&outbox(&app, 1).await[0]);
    assert_eq!(mail.to, "me@example.com");
    assert_eq!(mail.subject, "[Test] Hello Ada");
    assert!(mail.html.contains("Hi Ada"));
    assert!(mail.header("Message-ID").ends_with("@shop.example>"));
    assert_eq!(mail.unsubscribe, "", "a test is not a list's mail");

    for body in [
        json!({}),
        json!({"email": "not an address"}),
        json!({"email": "a@b.example", "contact": 999999}),
        json!({"email": "a@b.example", "cc": "x"}),
    ] {
        let refused = app.post(&path, body.clone()).await;
        assert!(
            matches!(refused.status, 400 | 404 | 422),
            "{body}: {}",
            refused.text
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(outbox(&app, 1).await.len(), 1, "refusals send nothing");
}

async fn a_test_refused_by_the_mail_server_is_a_502_with_its_answer(app: TestApp) {
    let smtp = ScriptedSmtp::start().await;
    let app = over(app, &smtp).await;
    smtp.answer_every_message(Some("554 5.7.1 sender rejected"));
    let (_, _, message) = message_and_ada(&app).await;
    let refused = app
        .post(
            &format!("/api/3/messages/{message}/test"),
            json!({"email": "me@example.com"}),
        )
        .await;
    assert_eq!(refused.status, 502, "{}", refused.text);
    assert_eq!(refused.body["errors"][0]["code"], "delivery");
    assert!(refused.text.contains("sender rejected"), "{}", refused.text);
}

async fn link_actions_name_tags_by_name_and_only_links_the_message_has(app: TestApp) {
    let (list, ada, message) = message_and_ada(&app).await;
    let campaign = app
        .create(
            "/api/3/campaigns",
            json!({"campaign": {"name": "Sale", "message": message, "list": list}}),
        )
        .await;
    let vip = app.new_tag("vip").await;
    let actions = format!("/api/3/campaigns/{campaign}/linkActions");
    let typo = app
        .post(&actions, json!({"linkAction": {"link": "https://shop.exmaple", "action": "add_tag", "target": "vip"}}))
        .await;
    assert_eq!(typo.status, 422, "{}", typo.text);
    assert!(
        typo.text.contains("https://shop.example"),
        "the refusal lists the message's links: {}",
        typo.text
    );
    let unknown = app
        .post(&actions, json!({"linkAction": {"link": "https://shop.example", "action": "add_tag", "target": "nobody"}}))
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let named = app
        .post(&actions, json!({"linkAction": {"link": "https://shop.example/", "action": "add_tag", "target": "vip"}}))
        .await;
    assert_eq!(named.status, 201, "{}", named.text);
    assert_eq!(named.body["linkAction"]["target"], vip.as_str());
    assert_eq!(
        named.body["linkAction"]["link"], "https://shop.example",
        "as the message writes it"
    );
    assert_eq!(
        app.get(&actions).await.body["linkActions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    app.send_campaign(&campaign).await;
    let mail = read(&outbox(&app, 1).await[0]);
    completed(&app, &campaign).await;
    app.clock.advance(Duration::from_secs(120));
    assert_eq!(follow(&tracked_url(&app, &mail.html, "l")).await, 302);
    assert_eq!(tags_of(&app, &ada).await, [vip], "the click ran the action");
}

both_engines!(
    a_message_gets_the_footer_a_text_part_and_a_message_id_on_the_senders_domain,
    the_footer_is_checked_and_a_message_with_its_own_link_gets_none,
    a_preview_shows_the_message_as_a_contact_gets_it,
    a_test_send_mails_the_preview_to_an_address,
    a_test_refused_by_the_mail_server_is_a_502_with_its_answer,
    link_actions_name_tags_by_name_and_only_links_the_message_has,
);
