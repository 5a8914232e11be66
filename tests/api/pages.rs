//! Tracklane's HTML pages (link and unsubscribe pages, form thank-you and refusal pages) carry
//! headers that forbid framing, sniffing and leaking the referrer; other answers carry nosniff.

use serde_json::json;
use tracklane_e2e::{both_engines, Answer, TestApp};

const URLENCODED: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

fn assert_guarded_page(answer: &Answer, what: &str) {
    assert!(answer.content_type.starts_with("text/html"), "{what}");
    let header = |name: &str| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(
        header("content-security-policy"),
        "frame-ancestors 'none'",
        "{what}"
    );
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
}

async fn every_html_page_forbids_framing_sniffing_and_referrers(app: TestApp) {
    let thanks = app
        .create("/api/3/forms", json!({"form": {"name": "Plain"}}))
        .await;
    let away = app
        .create(
            "/api/3/forms",
            json!({"form": {"name": "Away", "thankYouUrl": "https://example.com/thanks"}}),
        )
        .await;
    let pages = [
        (
            "link page",
            app.track("GET", "/l/not-a-token", &[], "").await,
        ),
        (
            "unsubscribe page",
            app.track("GET", "/u/not-a-token", &[], "").await,
        ),
        (
            "unknown form page",
            app.track("POST", "/f/999999", &[URLENCODED], "email=a%40example.com")
                .await,
        ),
        (
            "form refusal page",
            app.track("POST", &format!("/f/{thanks}"), &[URLENCODED], "email=nope")
                .await,
        ),
        (
            "form thank-you page",
            app.track(
                "POST",
                &format!("/f/{thanks}"),
                &[URLENCODED],
                "email=ada%40example.com",
            )
            .await,
        ),
    ];
    for (what, answer) in &pages {
        assert_guarded_page(answer, what);
    }
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/f/{away}", app.address))
        .header(URLENCODED.0, URLENCODED.1)
        .body("email=bea%40example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 303);
    assert_eq!(redirect.headers()["referrer-policy"], "no-referrer");

    let api = app.get("/api/3/contacts").await;
    assert_eq!(api.headers["x-content-type-options"], "nosniff");
    assert!(api.headers.get("x-frame-options").is_none());
}

both_engines!(every_html_page_forbids_framing_sniffing_and_referrers);
