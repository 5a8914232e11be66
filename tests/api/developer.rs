//! "Send to developer": the embed code and the installation steps, mailed to whoever edits the
//! site.

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

use crate::mail::read;
use crate::segment_relay::whitelist;
use crate::sending::outbox;

async fn the_snippet_and_the_steps_go_to_the_developer(app: TestApp) {
    whitelist(&app, "shop.example.com").await;
    let sent = app
        .post(
            "/api/3/siteTracking/code/send",
            json!({"email": "Dev@Agency.example", "fromemail": "ada@shop.example",
                "fromname": "Ada", "note": "Hi Bo, this is for the shop <3"}),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    assert_eq!(sent.body["developerEmail"]["to"], "dev@agency.example");
    let mail = read(&outbox(&app, 1).await[0]);
    assert_eq!(mail.to, "dev@agency.example");
    assert!(mail.header("From").contains("ada@shop.example"));
    assert!(mail.header("Message-ID").ends_with("@shop.example>"));
    let code = app.get("/api/3/siteTracking/code").await.text;
    let text = mail.text.replace("\r\n", "\n");
    assert!(text.contains(&code), "the code, whole: {text}");
    assert!(mail.text.contains("Ada asks you"), "{}", mail.text);
    assert!(
        mail.text.contains("shop.example.com"),
        "the whitelisted domains"
    );
    assert!(mail.text.contains("allowTracking"));
    assert!(mail.text.starts_with("Hi Bo, this is for the shop <3"));
    assert!(
        mail.html.contains("&lt;script"),
        "the code is shown, not run: {}",
        mail.html
    );
    assert!(mail.html.contains("the shop &lt;3"));
}

async fn a_bad_request_to_send_the_snippet_sends_nothing(app: TestApp) {
    for body in [
        json!({}),
        json!({"email": "dev@agency.example"}),
        json!({"email": "not an address", "fromemail": "ada@shop.example"}),
        json!({"email": "dev@agency.example", "fromemail": "nobody"}),
        json!({"email": "dev@agency.example", "fromemail": "ada@shop.example", "cc": "x@y.z"}),
        json!({"email": "dev@agency.example", "fromemail": "ada@shop.example", "note": 5}),
    ] {
        let refused = app
            .post("/api/3/siteTracking/code/send", body.clone())
            .await;
        assert!(
            matches!(refused.status, 400 | 422),
            "{body}: {}",
            refused.text
        );
    }
    let outbox = app.data_dir().join("outbox");
    let mails = std::fs::read_dir(&outbox)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .count()
        })
        .unwrap_or(0);
    assert_eq!(mails, 0);
}

both_engines!(
    the_snippet_and_the_steps_go_to_the_developer,
    a_bad_request_to_send_the_snippet_sends_nothing,
);
