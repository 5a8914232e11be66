//! Saved segments: AC's reads and Tracklane's writes, count, members and preview;
//! `contacts?segmentid`; live membership after tags, fields, events and deletions, with its
//! transitions; window exits at their instant; refused definitions that change nothing.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::broadcast::Receiver;
use tracklane_core::event::{EventKind, NewEvent, PAGE_VISIT_NAME};
use tracklane_core::ids::ContactId;
use tracklane_core::visit::PageUrl;
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::state::Clock;
use tracklane_store::segments::members::Transition;

const DAY: Duration = Duration::from_secs(86_400);

pub(crate) async fn contact(app: &TestApp, email: &str) -> String {
    app.create("/api/3/contacts", json!({"contact": {"email": email}}))
        .await
}

pub(crate) async fn tag(app: &TestApp, name: &str) -> String {
    app.create(
        "/api/3/tags",
        json!({"tag": {"tag": name, "tagType": "contact"}}),
    )
    .await
}

/// Tags the contact; returns the contactTag row's id.
pub(crate) async fn tag_contact(app: &TestApp, contact: &str, tag: &str) -> String {
    app.create(
        "/api/3/contactTags",
        json!({"contactTag": {"contact": contact, "tag": tag}}),
    )
    .await
}

pub(crate) async fn save(app: &TestApp, name: &str, definition: Value) -> String {
    app.create(
        "/api/3/segments",
        json!({"segment": {"name": name, "definition": definition}}),
    )
    .await
}

/// The stored members' ids, by `GET /contacts?segmentid=`.
pub(crate) async fn members(app: &TestApp, segment: &str) -> Vec<String> {
    let answer = app
        .get(&format!("/api/3/contacts?segmentid={segment}&limit=100"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let mut ids: Vec<String> = answer.body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn count(app: &TestApp, segment: &str) -> Value {
    app.get(&format!("/api/3/segments/{segment}/count"))
        .await
        .body
}

/// A page view of `path` by the contact, `ago` before the app's clock.
async fn visit(app: &TestApp, contact: &str, path: &str, ago: Duration) {
    let at = app.clock.now().0 - i64::try_from(ago.as_micros()).unwrap();
    let mut view = NewEvent::of_contact(
        app.account,
        EventKind::PageVisit,
        PAGE_VISIT_NAME,
        ContactId(contact.parse().unwrap()),
        None,
        tracklane_core::time::Timestamp(at),
    );
    view.page = Some(PageUrl {
        url: format!("https://shop.example{path}"),
        domain: "shop.example".to_owned(),
        path: path.to_owned(),
    });
    app.store
        .record_events(&[view], app.clock.now())
        .await
        .unwrap();
}

/// The next transition published (by the test's rounds or the server's own worker).
async fn next_transition(stream: &mut Receiver<Transition>) -> Transition {
    tokio::time::timeout(Duration::from_secs(5), stream.recv())
        .await
        .expect("a transition within 5 s")
        .expect("the stream is open")
}

async fn a_saved_segment_is_answered_in_acs_shape_with_its_members(app: TestApp) {
    let vip = tag(&app, "VIP").await;
    let ann = contact(&app, "ann@example.com").await;
    let bob = contact(&app, "bob@example.com").await;
    contact(&app, "cy@example.com").await;
    tag_contact(&app, &ann, &vip).await;
    tag_contact(&app, &bob, &vip).await;

    let created = app
        .post(
            "/api/3/segments",
            json!({"segment": {"name": "VIPs", "definition": {"all": [{"hasTag": vip.parse::<i64>().unwrap()}]}}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let segment = created.body["segment"]["id"].as_str().unwrap().to_owned();
    // Not ready until its members are computed (the server's own worker may already be done).
    assert!(created.body["segment"]["ready"].is_boolean());
    app.settle_segments().await;

    let shown = app.get(&format!("/api/3/segments/{segment}")).await;
    assert_eq!(shown.body["segment"]["name"], "VIPs");
    assert_eq!(shown.body["segment"]["logic"], "and");
    assert_eq!(shown.body["segment"]["hidden"], "0");
    assert_eq!(shown.body["segment"]["ready"], true);
    let listed = app.get("/api/3/segments").await;
    assert_eq!(listed.body["meta"]["total"], "1");
    assert_eq!(listed.body["segments"][0]["id"], segment.as_str());
    assert_eq!(
        count(&app, &segment).await,
        json!({"count": 2, "ready": true})
    );
    let mut expected = vec![ann.clone(), bob.clone()];
    expected.sort();
    assert_eq!(members(&app, &segment).await, expected);
    let paged = app
        .get(&format!("/api/3/segments/{segment}/members?limit=1"))
        .await;
    assert_eq!(paged.body["meta"]["total"], "2");
    assert_eq!(paged.body["contacts"].as_array().unwrap().len(), 1);

    // Unknown and other accounts' segments are 404, never every contact.
    for path in [
        "/api/3/contacts?segmentid=999999".to_owned(),
        "/api/3/segments/999999".to_owned(),
        "/api/3/segments/abc/count".to_owned(),
    ] {
        let answer = app.get(&path).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text);
    }
    let other = app.other_account_key().await;
    let theirs = app
        .send(
            "GET",
            &format!("/api/3/contacts?segmentid={segment}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(theirs.status, 404);

    let preview = app
        .post(
            "/api/3/segments/preview?limit=1",
            json!({"definition": {"not": {"hasTag": vip.parse::<i64>().unwrap()}}}),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.body["count"], 1);
    assert_eq!(preview.body["contacts"][0]["email"], "cy@example.com");
    // A page past the last still counts every member; a definition nobody meets counts 0.
    for (query, definition, count) in [
        (
            "offset=5",
            json!({"not": {"hasTag": vip.parse::<i64>().unwrap()}}),
            1,
        ),
        ("", json!({"event": {"name": "never recorded"}}), 0),
    ] {
        let preview = app
            .post(
                &format!("/api/3/segments/preview?{query}"),
                json!({"definition": definition}),
            )
            .await;
        assert_eq!(preview.status, 200, "{}", preview.text);
        assert_eq!(preview.body["count"], count, "{query}");
        assert_eq!(preview.body["contacts"], json!([]), "{query}");
    }

    let removed = app.delete(&format!("/api/3/segments/{segment}")).await;
    assert_eq!(removed.status, 200);
    assert_eq!(
        app.get(&format!("/api/3/contacts?segmentid={segment}"))
            .await
            .status,
        404
    );
}

async fn membership_follows_each_change_and_records_its_transitions(app: TestApp) {
    let vip = tag(&app, "VIP").await;
    let ann = contact(&app, "ann@example.com").await;
    let segment = save(
        &app,
        "Pricing VIPs",
        json!({"all": [
            {"visited": {"url": {"contains": "/pricing"}, "count": {"atLeast": 2}}},
            {"hasTag": vip.parse::<i64>().unwrap()},
            {"not": {"visited": {"url": {"contains": "/cancel"}}}}
        ]}),
    )
    .await;
    app.settle_segments().await;
    assert_eq!(members(&app, &segment).await, Vec::<String>::new());
    let mut transitions = app.membership.subscribe();

    let row = tag_contact(&app, &ann, &vip).await;
    visit(&app, &ann, "/pricing", Duration::ZERO).await;
    app.settle_segments().await;
    assert_eq!(members(&app, &segment).await, Vec::<String>::new());

    visit(&app, &ann, "/pricing?plan=pro", Duration::ZERO).await;
    app.settle_segments().await;
    assert_eq!(members(&app, &segment).await, vec![ann.clone()]);
    let entered = next_transition(&mut transitions).await;
    assert!(entered.entered);
    assert_eq!(entered.contact.0.to_string(), ann);
    assert_eq!(count(&app, &segment).await["count"], 1);

    // Losing the tag takes the contact out; so does visiting /cancel.
    app.delete(&format!("/api/3/contactTags/{row}")).await;
    app.settle_segments().await;
    assert_eq!(members(&app, &segment).await, Vec::<String>::new());
    assert!(!next_transition(&mut transitions).await.entered);
    tag_contact(&app, &ann, &vip).await;
    app.settle_segments().await;
    assert_eq!(members(&app, &segment).await, vec![ann.clone()]);
    visit(&app, &ann, "/cancel", Duration::ZERO).await;
    app.settle_segments().await;
    assert_eq!(members(&app, &segment).await, Vec::<String>::new());

    let history = app
        .get(&format!("/api/3/contacts/{ann}/segmentTransitions"))
        .await;
    assert_eq!(history.status, 200, "{}", history.text);
    let entered: Vec<bool> = history.body["segmentTransitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["entered"].as_bool().unwrap())
        .collect();
    assert_eq!(entered, vec![true, false, true, false]);
    assert_eq!(count(&app, &segment).await["count"], 0);

    // A new contact matches "has not visited" at once; a deleted one leaves the count.
    let open = save(
        &app,
        "Never cancelled",
        json!({"not": {"visited": {"url": {"contains": "/cancel"}}}}),
    )
    .await;
    app.settle_segments().await;
    assert_eq!(count(&app, &open).await["count"], 0);
    let dan = contact(&app, "dan@example.com").await;
    app.settle_segments().await;
    assert_eq!(members(&app, &open).await, vec![dan.clone()]);
    app.delete(&format!("/api/3/contacts/{dan}")).await;
    app.settle_segments().await;
    assert_eq!(count(&app, &open).await, json!({"count": 0, "ready": true}));
}

async fn a_window_exit_happens_at_its_instant_and_edits_recompute(app: TestApp) {
    let ann = contact(&app, "ann@example.com").await;
    let segment = save(
        &app,
        "Recent pricing",
        json!({"visited": {"url": {"contains": "/pricing"}, "within": {"days": 30}}}),
    )
    .await;
    visit(&app, &ann, "/pricing", 29 * DAY).await;
    app.settle_segments().await;
    assert_eq!(members(&app, &segment).await, vec![ann.clone()]);

    // Nothing changes but time: the visit leaves the 30-day window a day later.
    app.clock.advance(DAY - Duration::from_secs(60));
    app.settle_segments().await;
    assert_eq!(members(&app, &segment).await, vec![ann.clone()]);
    app.clock.advance(Duration::from_secs(61));
    app.settle_segments().await;
    assert_eq!(members(&app, &segment).await, Vec::<String>::new());

    // An edit recomputes in the background (the server's own worker may be done before the
    // test looks); until then the old members are answered: never a mix of the two.
    app.update(
        &format!("/api/3/segments/{segment}"),
        json!({"segment": {"definition": {"visited": {"url": {"contains": "/pricing"}}}}}),
    )
    .await;
    let old = json!({"count": 0, "ready": false});
    let new = json!({"count": 1, "ready": true});
    let meanwhile = count(&app, &segment).await;
    assert!(meanwhile == old || meanwhile == new, "{meanwhile}");
    app.settle_segments().await;
    assert_eq!(
        count(&app, &segment).await,
        json!({"count": 1, "ready": true})
    );
}

async fn refused_definitions_point_into_the_json_and_save_nothing(app: TestApp) {
    let vip = tag(&app, "VIP").await;
    let cases = [
        (
            json!({"all": [{"hasTag": 999999}]}),
            "/all/0: there is no tag 999999",
        ),
        (
            json!({"all": [{"list": {"id": 999999, "status": "subscribed"}}]}),
            "/all/0: there is no list",
        ),
        (
            json!({"field": {"name": "NOPE", "value": {"equals": "x"}}}),
            "(definition): there is no field 'NOPE'",
        ),
        (
            json!({"all": [{"visited": {"count": {"atLeast": -1}}}]}),
            "/all/0/visited/count",
        ),
        (json!({"all": [{"hasTagz": 1}]}), "/all/0"),
        (json!({"visited": {"url": {"like": "%"}}}), "/visited/url"),
        (
            json!({"field": {"name": "firstName", "value": {"greaterThan": 3}}}),
            "/field",
        ),
        (
            json!({"all": [{"all": [{"all": [{"all": [{"all": [{"all": [{"all": [{"all": [{"all": [{"hasTag": vip.parse::<i64>().unwrap()}]}]}]}]}]}]}]}]}]}),
            "",
        ),
        (json!({"any": vec![json!({"hasTag": 1}); 101]}), ""),
    ];
    for (definition, pointer) in cases {
        let answer = app
            .post(
                "/api/3/segments",
                json!({"segment": {"name": "Bad", "definition": definition}}),
            )
            .await;
        assert_eq!(answer.status, 422, "{definition}: {}", answer.text);
        let detail = answer.body["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(detail.starts_with(pointer), "{definition}: {detail}");
        let preview = app
            .post("/api/3/segments/preview", json!({"definition": definition}))
            .await;
        assert_eq!(preview.status, 422, "{definition}: {}", preview.text);
    }
    for body in [
        json!({"segment": {"name": "No definition"}}),
        json!({"segment": {"definition": {"hasTag": 1}}}),
        json!({"segment": {"name": "x", "definition": {"hasTag": 1}, "extra": 1}}),
        json!({"segment": {"name": 5, "definition": {"hasTag": 1}}}),
    ] {
        let answer = app.post("/api/3/segments", body.clone()).await;
        assert!(
            answer.status == 422 || answer.status == 400,
            "{body}: {}",
            answer.text
        );
    }
    assert_eq!(app.get("/api/3/segments").await.body["meta"]["total"], "0");

    // LIKE and SQL metacharacters are text.
    let ann = contact(&app, "ann@example.com").await;
    visit(&app, &ann, "/a%b", Duration::ZERO).await;
    let percent = save(
        &app,
        "Percent",
        json!({"visited": {"url": {"contains": "%"}}}),
    )
    .await;
    let underscore = save(
        &app,
        "Underscore",
        json!({"visited": {"url": {"contains": "_"}}}),
    )
    .await;
    let quote = save(
        &app,
        "Quote",
        json!({"visited": {"url": {"contains": "'; DROP TABLE contacts; --"}}}),
    )
    .await;
    app.settle_segments().await;
    assert_eq!(members(&app, &percent).await, vec![ann.clone()]);
    assert_eq!(members(&app, &underscore).await, Vec::<String>::new());
    assert_eq!(members(&app, &quote).await, Vec::<String>::new());
}

both_engines!(
    a_saved_segment_is_answered_in_acs_shape_with_its_members,
    membership_follows_each_change_and_records_its_transitions,
    a_window_exit_happens_at_its_instant_and_edits_recompute,
    refused_definitions_point_into_the_json_and_save_nothing,
);
