//! Site tracking: settings and domains, the collector, identification, sessions, the timeline
//! and anonymous data expiry.

use std::time::Duration;

use serde_json::{json, Value};
use tracklane_e2e::{both_engines, Answer, TestApp};

const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                     (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// Enables site tracking and whitelists example.com.
pub(crate) async fn enable(app: &TestApp) {
    let on = app
        .put(
            "/api/3/siteTracking",
            json!({"siteTracking": {"enabled": true}}),
        )
        .await;
    assert_eq!(on.body["siteTracking"]["enabled"], true);
    let added = app
        .post(
            "/api/3/siteTrackingDomains",
            json!({"siteTrackingDomain": {"name": "https://www.example.com/"}}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.body["siteTrackingDomain"]["name"], "example.com");
}

async fn contact(app: &TestApp, email: &str) -> String {
    let answer = app
        .post("/api/3/contacts", json!({"contact": {"email": email}}))
        .await;
    answer.body["contact"]["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn hit(app: &TestApp, body: Value) -> Answer {
    app.track(
        "POST",
        "/c",
        &[("content-type", "text/plain")],
        body.to_string(),
    )
    .await
}

pub(crate) fn page(app: &TestApp, visitor: &str, url: &str) -> Value {
    json!({"a": app.account.0.to_string(), "v": visitor, "u": url, "r": "https://www.google.com/search", "t": "A page"})
}

pub(crate) async fn logs(app: &TestApp, path: &str) -> Vec<Value> {
    let answer = app.get(path).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["trackingLogs"].as_array().unwrap().clone()
}

async fn records_page_visits_on_whitelisted_domains(app: TestApp) {
    enable(&app).await;
    let recorded = app
        .track(
            "POST",
            "/c",
            &[("user-agent", PHONE)],
            page(&app, "visitor-0001", "https://blog.example.com/post?id=7").to_string(),
        )
        .await;
    assert_eq!(recorded.status, 200, "{}", recorded.text);
    assert_eq!(recorded.body, json!({"recorded": true}));
    let refused = hit(&app, page(&app, "visitor-0001", "https://elsewhere.org/")).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["recorded"], false);
    assert!(refused.body["reason"]
        .as_str()
        .unwrap()
        .contains("not a whitelisted domain"));

    let all = logs(&app, "/api/3/trackingLogs").await;
    assert_eq!(all.len(), 1);
    let visit = &all[0];
    assert_eq!(visit["type"], "__pagevisit");
    assert_eq!(visit["value"], "https://blog.example.com/post?id=7");
    assert_eq!(visit["domain"], "blog.example.com");
    assert_eq!(visit["referrerDomain"], "google.com");
    assert_eq!(visit["device"], "mobile");
    assert_eq!(visit["title"], "A page");
    assert_eq!(visit["subscriberid"], Value::Null, "an anonymous visit");
    assert_eq!(visit["startsVisit"], true);
}

async fn refuses_bad_hits_and_records_nothing(app: TestApp) {
    let disabled = hit(&app, page(&app, "visitor-0001", "https://example.com/")).await;
    assert_eq!(disabled.status, 403, "tracking is off until enabled");
    enable(&app).await;
    let long_url = format!("https://example.com/{}", "a".repeat(5000));
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"{\"a\": \"1\", \"v\": ".to_vec(), 400),
        (vec![0xff, 0xfe, 0x00], 400),
        (b"[]".to_vec(), 400),
        (
            json!({"v": "visitor-0001", "u": "https://example.com/"})
                .to_string()
                .into(),
            400,
        ),
        (
            page(&app, "visitor-0001", "https://example.com/")
                .to_string()
                .replace(&format!("\"{}\"", app.account.0), "\"999999\"")
                .into(),
            404,
        ),
        (
            page(&app, "bad visitor!", "https://example.com/")
                .to_string()
                .into(),
            422,
        ),
        (
            page(&app, "visitor-0001", "javascript:alert(1)")
                .to_string()
                .into(),
            422,
        ),
        (
            page(&app, "visitor-0001", &long_url).to_string().into(),
            413,
        ),
        (
            format!("{{\"a\":\"1\",\"pad\":\"{}\"}}", "x".repeat(40 * 1024)).into(),
            413,
        ),
    ];
    for (body, status) in cases {
        let answer = app.track("POST", "/c", &[], body.clone()).await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            String::from_utf8_lossy(&body),
            answer.text
        );
    }
    assert!(logs(&app, "/api/3/trackingLogs").await.is_empty());
    let fetched = app
        .track(
            "GET",
            &format!(
                "/c?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair(
                        "d",
                        &page(&app, "visitor-0001", "https://example.com/img").to_string()
                    )
                    .finish()
            ),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(
        fetched.status, 200,
        "the image fallback records too: {}",
        fetched.text
    );
}

async fn set_email_identifies_the_visitor_and_its_past(app: TestApp) {
    enable(&app).await;
    let ada = contact(&app, "ada@example.com").await;
    hit(&app, page(&app, "visitor-ada-1", "https://example.com/one")).await;
    let mut second = page(&app, "visitor-ada-1", "https://example.com/two");
    second["e"] = json!("ADA@example.com");
    assert_eq!(hit(&app, second).await.status, 200);
    hit(
        &app,
        page(&app, "visitor-ada-1", "https://example.com/three"),
    )
    .await;

    let timeline = logs(&app, &format!("/api/3/contacts/{ada}/trackingLogs")).await;
    let urls: Vec<&str> = timeline
        .iter()
        .map(|l| l["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            "https://example.com/three",
            "https://example.com/two",
            "https://example.com/one"
        ],
        "newest first, the anonymous past included"
    );
    assert!(timeline.iter().all(|l| l["subscriberid"] == ada.as_str()));

    let mut stranger = page(&app, "visitor-bob-1", "https://example.com/");
    stranger["e"] = json!("bob@example.com");
    assert_eq!(hit(&app, stranger.clone()).await.status, 200);
    assert_eq!(
        app.get("/api/3/contacts?email=bob%40example.com")
            .await
            .body["meta"]["total"],
        "0",
        "an unknown email creates no contact unless the account allows it"
    );
    app.put(
        "/api/3/siteTracking",
        json!({"siteTracking": {"createContacts": true}}),
    )
    .await;
    hit(&app, stranger).await;
    assert_eq!(
        app.get("/api/3/contacts?email=bob%40example.com")
            .await
            .body["meta"]["total"],
        "1"
    );
    let identify_only =
        json!({"a": app.account.0, "v": "visitor-ada-2", "k": "identify", "e": "ada@example.com"});
    assert_eq!(hit(&app, identify_only).await.status, 200);
    hit(
        &app,
        page(&app, "visitor-ada-2", "https://example.com/four"),
    )
    .await;
    assert_eq!(
        logs(&app, &format!("/api/3/contacts/{ada}/trackingLogs"))
            .await
            .len(),
        4
    );

    // Segments count the adopted past too (the activity counters follow the adoption).
    let four_visits = json!({"definition": {"all": [
        {"visited": {"url": {"contains": "example.com/"}, "count": {"atLeast": 4},
            "within": {"days": 1}}},
        {"referredFrom": {"domain": {"equals": "google.com"}, "count": {"exactly": 4}}}]}});
    let previewed = app.post("/api/3/segments/preview", four_visits).await;
    assert_eq!(previewed.body["count"], 1, "{}", previewed.text);
    assert_eq!(previewed.body["contacts"][0]["id"], ada.as_str());
}

async fn contact_tokens_identify_and_forgeries_do_not(app: TestApp) {
    enable(&app).await;
    let ada = contact(&app, "ada@example.com").await;
    let issued = app
        .post(&format!("/api/3/contacts/{ada}/trackingToken"), json!({}))
        .await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    let token = issued.body["token"].as_str().unwrap().to_owned();

    let mut forged = page(&app, "visitor-forged", "https://example.com/");
    let mut altered = token.clone().into_bytes();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
    forged["c"] = json!(String::from_utf8(altered).unwrap());
    assert_eq!(
        hit(&app, forged).await.status,
        200,
        "a forged token is recorded anonymously"
    );
    let mut genuine = page(
        &app,
        "visitor-token",
        "https://example.com/landing?tl_cid=x",
    );
    genuine["c"] = json!(token);
    assert_eq!(hit(&app, genuine).await.status, 200);

    let timeline = logs(&app, &format!("/api/3/contacts/{ada}/trackingLogs")).await;
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["visitor"], "visitor-token");
    assert_eq!(
        app.post("/api/3/contacts/999999/trackingToken", json!({}))
            .await
            .status,
        404
    );
}

async fn do_not_track_is_honoured_when_asked(app: TestApp) {
    enable(&app).await;
    let visit = page(&app, "visitor-dnt", "https://example.com/").to_string();
    let ignored = app
        .track("POST", "/c", &[("dnt", "1")], visit.clone())
        .await;
    assert_eq!(ignored.status, 200, "the account does not honour DNT yet");
    app.put(
        "/api/3/siteTracking",
        json!({"siteTracking": {"honorDoNotTrack": true}}),
    )
    .await;
    let honoured = app
        .track("POST", "/c", &[("sec-gpc", "1")], visit.clone())
        .await;
    assert_eq!(honoured.status, 202);
    assert_eq!(honoured.body["recorded"], false);
    let flagged = app
        .track("POST", "/c", &[], visit.replace("}", ",\"dnt\":1}"))
        .await;
    assert_eq!(flagged.status, 202);
    assert_eq!(logs(&app, "/api/3/trackingLogs").await.len(), 1);
}

async fn a_quiet_half_hour_starts_a_new_site_visit(app: TestApp) {
    enable(&app).await;
    hit(&app, page(&app, "visitor-s", "https://example.com/1")).await;
    app.clock.advance(Duration::from_secs(29 * 60));
    hit(&app, page(&app, "visitor-s", "https://example.com/2")).await;
    app.clock.advance(Duration::from_secs(31 * 60));
    hit(&app, page(&app, "visitor-s", "https://example.com/3")).await;
    let starts: Vec<bool> = logs(&app, "/api/3/trackingLogs")
        .await
        .iter()
        .map(|l| l["startsVisit"].as_bool().unwrap())
        .collect();
    assert_eq!(starts, [true, false, true], "newest first");
}

async fn domains_report_their_tracking_status(app: TestApp) {
    enable(&app).await;
    let status = |answer: Answer| answer.body["siteTrackingDomains"][0]["status"].clone();
    assert_eq!(
        status(app.get("/api/3/siteTrackingDomains").await),
        "not_receiving"
    );
    hit(&app, page(&app, "visitor-st", "https://example.com/")).await;
    let listed = app.get("/api/3/siteTrackingDomains").await;
    assert_eq!(listed.body["meta"]["total"], "1");
    assert_eq!(status(listed), "receiving");
    app.clock.advance(Duration::from_secs(25 * 3600));
    assert_eq!(
        status(app.get("/api/3/siteTrackingDomains").await),
        "not_receiving"
    );
    app.put(
        "/api/3/siteTracking",
        json!({"siteTracking": {"enabled": false}}),
    )
    .await;
    assert_eq!(
        status(app.get("/api/3/siteTrackingDomains").await),
        "disabled"
    );

    let again = app
        .post(
            "/api/3/siteTrackingDomains",
            json!({"siteTrackingDomain": {"name": "example.com"}}),
        )
        .await;
    assert_eq!(again.status, 200, "whitelisting twice keeps one entry");
    let bad = app
        .post(
            "/api/3/siteTrackingDomains",
            json!({"siteTrackingDomain": {"name": "not a domain"}}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let removed = app.delete("/api/3/siteTrackingDomains/example.com").await;
    assert_eq!(removed.status, 204);
    assert_eq!(
        app.delete("/api/3/siteTrackingDomains/example.com")
            .await
            .status,
        404
    );
    assert_eq!(
        app.get("/api/3/siteTrackingDomains").await.body["meta"]["total"],
        "0"
    );
}

async fn anonymous_data_expires_after_thirty_days(app: TestApp) {
    enable(&app).await;
    let ada = contact(&app, "ada@example.com").await;
    hit(
        &app,
        page(&app, "visitor-anon", "https://example.com/anonymous"),
    )
    .await;
    let mut known = page(&app, "visitor-known", "https://example.com/known");
    known["e"] = json!("ada@example.com");
    hit(&app, known).await;

    app.clock.advance(Duration::from_secs(29 * 24 * 3600));
    assert_eq!(app.retention.run_once().await.unwrap(), 0);
    app.clock.advance(Duration::from_secs(2 * 24 * 3600));
    assert_eq!(app.retention.run_once().await.unwrap(), 1);

    let remaining = logs(&app, "/api/3/trackingLogs").await;
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0]["subscriberid"], ada.as_str());
}

async fn the_snippet_and_its_embed_code_are_served(app: TestApp) {
    let script = app.track("GET", "/t.js", &[], Vec::new()).await;
    assert_eq!(script.status, 200);
    assert!(script.content_type.starts_with("application/javascript"));
    assert!(script.text.contains("visitorGlobalObjectAlias"));
    assert!(script.text.len() < 8 * 1024, "the snippet stays small");
    let code = app.get("/api/3/siteTracking/code").await;
    assert!(code.content_type.starts_with("text/plain"));
    assert!(code.text.contains(&format!("{}/t.js", app.address)));
    assert!(code
        .text
        .contains(&format!("vgo('setAccount', '{}')", app.account.0)));
}

async fn activities_show_the_timeline(app: TestApp) {
    enable(&app).await;
    let ada = contact(&app, "ada@example.com").await;
    let mut known = page(&app, "visitor-act", "https://example.com/pricing");
    known["e"] = json!("ada@example.com");
    hit(&app, known).await;
    let answer = app.get(&format!("/api/3/activities?contact={ada}")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["meta"]["total"], "1");
    let activity = &answer.body["activities"][0];
    assert_eq!(activity["reference_type"], "TrackingLog");
    assert_eq!(activity["reference_action"], "page_visit");
    assert_eq!(activity["subscriberid"], ada.as_str());
    assert_eq!(app.get("/api/3/activities").await.status, 422);
    assert_eq!(
        app.get("/api/3/activities?contact=999999").await.status,
        404
    );
    let log_id = logs(&app, "/api/3/trackingLogs").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner = app
        .get(&format!("/api/3/trackingLogs/{log_id}/contact"))
        .await;
    assert_eq!(owner.body["contact"]["id"], ada.as_str());
    assert_eq!(
        app.get("/api/3/contacts/999999/trackingLogs").await.status,
        404
    );
}

async fn tracking_settings_refuse_unknown_keys(app: TestApp) {
    enable(&app).await;
    let before = (
        app.get("/api/3/siteTracking").await.body,
        app.get("/api/3/eventTracking").await.body,
    );
    for (path, body) in [
        (
            "/api/3/siteTracking",
            json!({"siteTracking": {"enabled": false, "honourDoNotTrack": true}}),
        ),
        (
            "/api/3/siteTracking",
            json!({"siteTracking": {"enable": false}}),
        ),
        (
            "/api/3/eventTracking",
            json!({"eventTracking": {"enabled": false, "on": 1}}),
        ),
    ] {
        let answer = app.put(path, body.clone()).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
        assert!(answer.body["errors"].is_array(), "{}", answer.text);
    }
    let after = (
        app.get("/api/3/siteTracking").await.body,
        app.get("/api/3/eventTracking").await.body,
    );
    assert_eq!(after, before, "refusals change nothing");
}

both_engines!(
    tracking_settings_refuse_unknown_keys,
    records_page_visits_on_whitelisted_domains,
    refuses_bad_hits_and_records_nothing,
    set_email_identifies_the_visitor_and_its_past,
    contact_tokens_identify_and_forgeries_do_not,
    do_not_track_is_honoured_when_asked,
    a_quiet_half_hour_starts_a_new_site_visit,
    domains_report_their_tracking_status,
    anonymous_data_expires_after_thirty_days,
    the_snippet_and_its_embed_code_are_served,
    activities_show_the_timeline,
);

mod prism {
    //! AC's JSON:API whitelist endpoints over the same domains.

    use serde_json::json;
    use tracklane_e2e::{both_engines, TestApp};

    async fn the_prism_whitelist_shares_the_domains(app: TestApp) {
        let body = json!({"data": {"type": "urlWhitelistings", "attributes": {"whitelisted_domain": "Shop.Example.com", "whitelisted_page": "*", "tracking_enabled": true}}});
        let added = app
            .post("/api/3/prism/urlWhitelistings", body.clone())
            .await;
        assert_eq!(added.status, 201, "{}", added.text);
        assert_eq!(
            added.body["data"]["attributes"]["whitelisted_domain"],
            "shop.example.com"
        );
        assert_eq!(
            app.post("/api/3/prism/urlWhitelistings", body).await.status,
            409
        );
        let legacy = app.get("/api/3/siteTrackingDomains").await;
        assert_eq!(
            legacy.body["siteTrackingDomains"][0]["name"],
            "shop.example.com"
        );
        let listed = app.get("/api/3/prism/urlWhitelistings").await;
        assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
        let id = listed.body["data"][0]["id"].as_str().unwrap().to_owned();
        let bad = json!({"data": {"attributes": {"whitelisted_domain": "not a domain"}}});
        assert_eq!(
            app.post("/api/3/prism/urlWhitelistings", bad).await.status,
            422
        );
        let path = format!("/api/3/prism/urlWhitelistings/{id}");
        assert_eq!(app.delete(&path).await.status, 204);
        assert_eq!(app.delete(&path).await.status, 404);
        assert_eq!(
            app.get("/api/3/siteTrackingDomains").await.body["meta"]["total"],
            "0"
        );
    }

    both_engines!(the_prism_whitelist_shares_the_domains);
}
