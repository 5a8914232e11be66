//! `/v1` as Segment's server libraries use it: a server relaying its visitors' pages and events
//! names their device in `context.userAgent` and their page in `context.page`, compresses its
//! bodies with gzip, and reads `code` in refusals.

use std::io::Write;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use tracklane_e2e::{both_engines, Answer, TestApp};

use crate::events::{enable, segment};

const IPHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
const DESKTOP: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";

/// Event and site tracking on, `shop.example.com` whitelisted; answers Ada's id.
async fn relaying(app: &TestApp) -> String {
    let ada = enable(app).await;
    app.update(
        "/api/3/siteTracking",
        json!({"siteTracking": {"enabled": true}}),
    )
    .await;
    whitelist(app, "shop.example.com").await;
    ada
}

/// Whitelists the site `name`.
pub(crate) async fn whitelist(app: &TestApp, name: &str) {
    let domain = app
        .post(
            "/api/3/siteTrackingDomains",
            json!({"siteTrackingDomain": {"name": name}}),
        )
        .await;
    assert!(domain.status < 300, "{}", domain.text);
}

/// Posts `body` (gzip-compressed when `gzip`) to `path` as a server on a desktop would.
async fn relay(app: &TestApp, path: &str, key: &str, body: &[u8], gzip: bool) -> Answer {
    let auth = format!("Basic {}", STANDARD.encode(format!("{key}:")));
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("user-agent", DESKTOP),
    ];
    let body = if gzip {
        headers.push(("content-encoding", "gzip"));
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(body).unwrap();
        encoder.finish().unwrap()
    } else {
        body.to_vec()
    };
    app.track("POST", path, &headers, body).await
}

async fn ada_logs(app: &TestApp, ada: &str) -> Vec<Value> {
    let logs = app
        .get(&format!("/api/3/contacts/{ada}/trackingLogs"))
        .await;
    logs.body["trackingLogs"].as_array().unwrap().clone()
}

async fn the_device_and_the_page_come_from_the_context(app: TestApp) {
    let ada = relaying(&app).await;
    let key = app.event_key.clone();
    let context = json!({"userAgent": IPHONE, "page": {"url": "https://shop.example.com/pricing?plan=pro&tl_cid=abc",
        "referrer": "https://search.example/?q=shoes", "title": "Pricing"}});
    let page = json!({"userId": "ada@example.com", "context": context});
    let answer = relay(&app, "/v1/page", &key, page.to_string().as_bytes(), false).await;
    assert_eq!(answer.body, json!({"success": true}), "{}", answer.text);
    let track = json!({"event": "signup", "userId": "ada@example.com", "context": context});
    let answer = relay(&app, "/v1/track", &key, track.to_string().as_bytes(), false).await;
    assert_eq!(answer.body, json!({"success": true}), "{}", answer.text);

    let logs = ada_logs(&app, &ada).await;
    assert_eq!(logs.len(), 2, "{logs:#?}");
    for log in &logs {
        assert_eq!(
            log["device"], "mobile",
            "the visitor's device, not the relay's: {log:#}"
        );
        assert_eq!(
            log["url"], "https://shop.example.com/pricing?plan=pro",
            "{log:#}"
        );
    }
    let own = json!({"userId": "ada@example.com",
        "properties": {"url": "https://shop.example.com/own", "title": "Own"}});
    relay(&app, "/v1/page", &key, own.to_string().as_bytes(), false).await;
    let logs = ada_logs(&app, &ada).await;
    assert_eq!(
        logs[0]["url"], "https://shop.example.com/own",
        "properties win"
    );
    assert_eq!(
        logs[0]["device"], "desktop",
        "without a context, the request's agent"
    );
}

async fn gzip_bodies_are_read_within_the_decompressed_limit(app: TestApp) {
    let ada = relaying(&app).await;
    let key = app.event_key.clone();
    let track = json!({"event": "signup", "userId": "ada@example.com"}).to_string();
    let zipped = relay(&app, "/v1/track", &key, track.as_bytes(), true).await;
    assert_eq!(zipped.body, json!({"success": true}), "{}", zipped.text);
    assert_eq!(ada_logs(&app, &ada).await.len(), 1);

    let padding = " ".repeat(3 * 1024 * 1024);
    let bomb = format!(r#"{{"event": "signup", "userId": "ada@example.com"{padding}}}"#);
    let refused = relay(&app, "/v1/track", &key, bomb.as_bytes(), true).await;
    assert_eq!(refused.status, 413, "{}", refused.text);
    assert_eq!(refused.body["success"], false);
    assert_eq!(refused.body["code"], "payload_too_large");

    let corrupt = relay(&app, "/v1/track", &key, b"not gzip", false).await;
    assert_eq!(corrupt.status, 400);
    assert_eq!(corrupt.body["code"], "invalid_request");
    let wrong_key = relay(&app, "/v1/track", "wrong", track.as_bytes(), true).await;
    assert_eq!(wrong_key.status, 401);
    assert_eq!(wrong_key.body["code"], "unauthorized");
    assert!(wrong_key.body["message"].is_string());
    let unknown = segment(
        &app,
        "/v1/track",
        &key,
        json!({"event": "nope", "userId": "ada@example.com"}),
    )
    .await;
    assert!(unknown.status >= 400);
    assert!(unknown.body["code"].is_string(), "{}", unknown.text);
    assert_eq!(
        ada_logs(&app, &ada).await.len(),
        1,
        "refusals record nothing"
    );
}

both_engines!(
    the_device_and_the_page_come_from_the_context,
    gzip_bodies_are_read_within_the_decompressed_limit,
);
