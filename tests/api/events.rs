//! Event tracking: settings and whitelisted names, ActiveCampaign's `POST /event`, and the
//! Segment-style `/v1` API.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use tracklane_e2e::{both_engines, Answer, TestApp};

/// Enables event tracking, whitelists `signup`, and creates ada@example.com.
pub(crate) async fn enable(app: &TestApp) -> String {
    let on = app
        .put(
            "/api/3/eventTracking",
            json!({"eventTracking": {"enabled": true}}),
        )
        .await;
    assert_eq!(on.body, json!({"eventTracking": {"enabled": true}}));
    let named = app
        .post(
            "/api/3/eventTrackingEvents",
            json!({"eventTrackingEvent": {"name": "signup"}}),
        )
        .await;
    assert_eq!(named.status, 201);
    let created = app
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": "ada@example.com"}}),
        )
        .await;
    created.body["contact"]["id"].as_str().unwrap().to_owned()
}

fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// Posts the form `fields` to `/event`.
pub(crate) async fn spawn(app: &TestApp, fields: &[(&str, &str)]) -> Answer {
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    app.track("POST", "/event", &headers, form(fields)).await
}

/// How many entries the account's timeline holds.
pub(crate) async fn total_logs(app: &TestApp) -> Value {
    app.get("/api/3/trackingLogs").await.body["meta"]["total"].clone()
}

async fn the_event_collector_answers_as_activecampaign(app: TestApp) {
    let ada = enable(&app).await;
    let actid = app.account.0.to_string();
    let visit = json!({"email": "ada@example.com"}).to_string();
    let answer = spawn(
        &app,
        &[
            ("actid", &actid),
            ("key", &app.event_key),
            ("event", "signup"),
            ("eventdata", "plan=pro"),
            ("visit", &visit),
        ],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.body,
        json!({"success": 1, "message": "Event spawned"})
    );
    let json_body =
        json!({"actid": actid, "key": app.event_key, "event": "signup", "visit": visit});
    let as_json = app
        .track(
            "POST",
            "/event",
            &[("content-type", "application/json")],
            json_body.to_string(),
        )
        .await;
    assert_eq!(as_json.body["success"], 1);

    let timeline = app
        .get(&format!("/api/3/contacts/{ada}/trackingLogs"))
        .await;
    assert_eq!(timeline.body["meta"]["total"], "2");
    let oldest = &timeline.body["trackingLogs"][1];
    assert_eq!(oldest["type"], "signup");
    assert_eq!(oldest["value"], "plan=pro");
    assert_eq!(oldest["subscriberid"], ada.as_str());
}

async fn the_event_collector_refuses_and_records_nothing(app: TestApp) {
    let actid = app.account.0.to_string();
    let visit = json!({"email": "ada@example.com"}).to_string();
    let key = app.event_key.clone();
    let disabled = spawn(
        &app,
        &[
            ("actid", &actid),
            ("key", &key),
            ("event", "signup"),
            ("visit", &visit),
        ],
    )
    .await;
    assert_eq!(disabled.status, 403);
    assert_eq!(disabled.body["success"], 0);
    enable(&app).await;
    let long_data = "x".repeat(17 * 1024);
    let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
        (
            vec![
                ("actid", &actid),
                ("key", "wrong"),
                ("event", "signup"),
                ("visit", &visit),
            ],
            403,
        ),
        (
            vec![("actid", &actid), ("event", "signup"), ("visit", &visit)],
            403,
        ),
        (
            vec![
                ("actid", &actid),
                ("key", &app.api_key),
                ("event", "signup"),
                ("visit", &visit),
            ],
            403,
        ),
        (
            vec![
                ("actid", "999999"),
                ("key", &key),
                ("event", "signup"),
                ("visit", &visit),
            ],
            404,
        ),
        (
            vec![("key", &key), ("event", "signup"), ("visit", &visit)],
            400,
        ),
        (
            vec![
                ("actid", &actid),
                ("key", &key),
                ("event", "unlisted"),
                ("visit", &visit),
            ],
            422,
        ),
        (
            vec![
                ("actid", &actid),
                ("key", &key),
                ("event", ""),
                ("visit", &visit),
            ],
            422,
        ),
        (
            vec![
                ("actid", &actid),
                ("key", &key),
                ("event", "signup"),
                ("visit", "{not json"),
            ],
            422,
        ),
        (
            vec![
                ("actid", &actid),
                ("key", &key),
                ("event", "signup"),
                ("visit", "{}"),
            ],
            422,
        ),
        (
            vec![
                ("actid", &actid),
                ("key", &key),
                ("event", "signup"),
                ("visit", "{\"email\":\"nobody@example.com\"}"),
            ],
            404,
        ),
        (
            vec![
                ("actid", &actid),
                ("key", &key),
                ("event", "signup"),
                ("eventdata", &long_data),
                ("visit", &visit),
            ],
            413,
        ),
    ];
    for (fields, status) in cases {
        let answer = spawn(&app, &fields).await;
        assert_eq!(answer.status, status, "{fields:?}: {}", answer.text);
        assert_eq!(answer.body["success"], 0);
        assert!(answer.body["message"].is_string());
    }
    let invalid_utf8 = app
        .track(
            "POST",
            "/event",
            &[("content-type", "application/x-www-form-urlencoded")],
            vec![0xff, 0xfe],
        )
        .await;
    assert_eq!(invalid_utf8.status, 400);
    assert_eq!(total_logs(&app).await, "0");
}

async fn event_names_are_managed_by_name(app: TestApp) {
    let created = app
        .post(
            "/api/3/eventTrackingEvents",
            json!({"eventTrackingEvent": {"name": "my event"}}),
        )
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(
        created.body,
        json!({"eventTrackingEvent": {"name": "my event"}})
    );
    let again = app
        .post(
            "/api/3/eventTrackingEvents",
            json!({"eventTrackingEvent": {"name": "my event"}}),
        )
        .await;
    assert_eq!(again.status, 200);
    let too_long = app
        .post(
            "/api/3/eventTrackingEvents",
            json!({"eventTrackingEvent": {"name": "x".repeat(33)}}),
        )
        .await;
    assert_eq!(too_long.status, 422);
    let listed = app.get("/api/3/eventTrackingEvents").await;
    assert_eq!(
        listed.body,
        json!({"eventTrackingEvents": [{"name": "my event"}], "meta": {"total": "1"}})
    );
    assert_eq!(
        app.delete("/api/3/eventTrackingEvents/my%20event")
            .await
            .body,
        json!({})
    );
    assert_eq!(
        app.delete("/api/3/eventTrackingEvents/my%20event")
            .await
            .status,
        404
    );
    let off = app
        .post(
            "/api/3/eventTracking",
            json!({"eventTracking": {"enabled": false}}),
        )
        .await;
    assert_eq!(
        off.body["eventTracking"]["enabled"], false,
        "POST works as PUT, as AC's tutorial uses it"
    );
    assert_eq!(
        app.put("/api/3/eventTracking", json!({"eventTracking": {}}))
            .await
            .status,
        422
    );
}

/// Posts `body` to the `/v1` route `path` with the write key `key`.
pub(crate) async fn segment(app: &TestApp, path: &str, key: &str, body: Value) -> Answer {
    let credentials = STANDARD.encode(format!("{key}:"));
    let auth = format!("Basic {credentials}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    app.track("POST", path, &headers, body.to_string()).await
}

async fn the_segment_api_tracks_identifies_and_deduplicates(app: TestApp) {
    let ada = enable(&app).await;
    let key = app.event_key.clone();
    let track = json!({"event": "signup", "userId": "ada@example.com", "messageId": "m-1", "properties": {"plan": "pro"}, "timestamp": "2026-01-02T03:04:05Z"});
    assert_eq!(
        segment(&app, "/v1/track", &key, track.clone()).await.body,
        json!({"success": true})
    );
    assert_eq!(
        segment(&app, "/v1/track", &key, track).await.status,
        200,
        "a retry is accepted"
    );
    let timeline = app
        .get(&format!("/api/3/contacts/{ada}/trackingLogs"))
        .await;
    assert_eq!(timeline.body["meta"]["total"], "1", "and recorded once");
    assert_eq!(
        timeline.body["trackingLogs"][0]["tstamp"],
        "2026-01-02T03:04:05+00:00"
    );
    assert_eq!(
        timeline.body["trackingLogs"][0]["value"],
        "{\"plan\":\"pro\"}"
    );

    let anonymous =
        json!({"event": "signup", "anonymousId": "3f1c9a9e-0000-4000-8000-000000000001"});
    assert_eq!(
        segment(&app, "/v1/track", &key, anonymous).await.status,
        200
    );
    let identify = json!({"anonymousId": "3f1c9a9e-0000-4000-8000-000000000001",
        "traits": {"email": "ada@example.com", "name": "Ada King Lovelace", "phone": "+44 20 7946 0000"}});
    assert_eq!(
        segment(&app, "/v1/identify", &key, identify).await.status,
        200
    );
    let named = app.get(&format!("/api/3/contacts/{ada}")).await;
    assert_eq!(named.body["contact"]["firstName"], "Ada");
    assert_eq!(named.body["contact"]["lastName"], "King Lovelace");
    assert_eq!(named.body["contact"]["phone"], "+44 20 7946 0000");
    let too_long = json!({"traits": {"email": "ada@example.com", "firstName": "x".repeat(300)}});
    assert_eq!(
        segment(&app, "/v1/identify", &key, too_long).await.status,
        413,
        "a trait too long for the contact is refused, as every too-long tracking value is"
    );
    let kept = app.get(&format!("/api/3/contacts/{ada}")).await;
    assert_eq!(
        kept.body["contact"]["firstName"], "Ada",
        "and changes nothing"
    );
    let timeline = app
        .get(&format!("/api/3/contacts/{ada}/trackingLogs"))
        .await;
    assert_eq!(
        timeline.body["meta"]["total"], "2",
        "the anonymous event became ada's"
    );

    let nobody = json!({"event": "signup", "userId": "nobody@example.com"});
    assert_eq!(segment(&app, "/v1/track", &key, nobody).await.status, 404);
    let wrong_key = segment(&app, "/v1/track", "wrong", json!({"event": "signup"})).await;
    assert_eq!(wrong_key.status, 401);
    assert_eq!(wrong_key.body["success"], false);
    let no_auth = app
        .track(
            "POST",
            "/v1/track",
            &[],
            json!({"event": "signup"}).to_string(),
        )
        .await;
    assert_eq!(no_auth.status, 401);
}

async fn a_segment_batch_is_all_or_nothing(app: TestApp) {
    let ada = enable(&app).await;
    let key = app.event_key.clone();
    app.put(
        "/api/3/siteTracking",
        json!({"siteTracking": {"enabled": true}}),
    )
    .await;
    app.post(
        "/api/3/siteTrackingDomains",
        json!({"siteTrackingDomain": {"name": "example.com"}}),
    )
    .await;
    let good = json!({"type": "track", "event": "signup", "userId": "ada@example.com"});
    let page = json!({"type": "page", "userId": "ada@example.com", "properties": {"url": "https://example.com/docs", "title": "Docs"}});
    let bad = json!({"type": "track", "event": "not-whitelisted", "userId": "ada@example.com"});
    let refused = segment(&app, "/v1/batch", &key, json!({"batch": [good, page, bad]})).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(total_logs(&app).await, "0");
    let unknown_type = segment(
        &app,
        "/v1/batch",
        &key,
        json!({"batch": [{"type": "alias"}]}),
    )
    .await;
    assert_eq!(unknown_type.status, 400);
    let malformed = segment(&app, "/v1/batch", &key, json!({"batch": "no"})).await;
    assert_eq!(malformed.status, 400);

    let accepted = segment(&app, "/v1/batch", &key, json!({"batch": [good, page]})).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let timeline = app
        .get(&format!("/api/3/contacts/{ada}/trackingLogs"))
        .await;
    assert_eq!(timeline.body["meta"]["total"], "2");
    let kinds: Vec<&str> = timeline.body["trackingLogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"page_visit") && kinds.contains(&"event"));
}

async fn a_refused_batch_changes_nothing_and_names_the_refused_message(app: TestApp) {
    let ada = enable(&app).await;
    let key = app.event_key.clone();
    let batch = json!({"batch": [
        {"type": "identify", "userId": "ada@example.com", "anonymousId": "visitor-batch-01",
         "traits": {"firstName": "Changed"}},
        {"type": "track", "event": "signup", "userId": "nobody@example.com"},
    ]});
    let refused = segment(&app, "/v1/batch", &key, batch).await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    assert_eq!(refused.body["success"], false);
    assert_eq!(refused.body["index"], 1);
    let contact = app.get(&format!("/api/3/contacts/{ada}")).await;
    assert_eq!(
        contact.body["contact"]["firstName"], "",
        "ada's name is unchanged"
    );
    assert_eq!(
        app.store
            .visitor_contact(app.account, "visitor-batch-01")
            .await
            .unwrap(),
        None,
        "the visitor is not linked to ada"
    );

    let create = json!({"siteTracking": {"createContacts": true}});
    app.update("/api/3/siteTracking", create).await;
    let batch = json!({"batch": [
        {"type": "track", "event": "signup", "userId": "new@example.com"},
        {"type": "track", "event": "not whitelisted", "userId": "new@example.com"},
    ]});
    let refused = segment(&app, "/v1/batch", &key, batch).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.body["index"], 1);
    let created = app.get("/api/3/contacts?email=new@example.com").await;
    assert_eq!(created.body["meta"]["total"], "0", "no contact was created");
    assert_eq!(total_logs(&app).await, "0");

    let batch = json!({"batch": [
        {"type": "identify", "userId": "new@example.com", "anonymousId": "visitor-batch-02",
         "traits": {"firstName": "New"}},
        {"type": "track", "event": "signup", "anonymousId": "visitor-batch-02"},
    ]});
    let accepted = segment(&app, "/v1/batch", &key, batch).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let created = app.get("/api/3/contacts?email=new@example.com").await;
    assert_eq!(created.body["contacts"][0]["firstName"], "New");
    let id = created.body["contacts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let logs = app.get(&format!("/api/3/contacts/{id}/trackingLogs")).await;
    assert_eq!(
        logs.body["meta"]["total"], "1",
        "the visitor's event is the new contact's"
    );
}

both_engines!(
    a_refused_batch_changes_nothing_and_names_the_refused_message,
    the_event_collector_answers_as_activecampaign,
    the_event_collector_refuses_and_records_nothing,
    event_names_are_managed_by_name,
    the_segment_api_tracks_identifies_and_deduplicates,
    a_segment_batch_is_all_or_nothing,
);
