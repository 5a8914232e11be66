//! A full disk (SQLite's `max_page_count`, see `Store::cap_pages`) on every write path that
//! answers a request: API writes, the ingest writer (`/event`) and form submissions. No write is
//! acknowledged unless it committed, `/healthz` says `degraded` while writes fail, and writing
//! resumes by itself once space returns.

use serde_json::json;
use tracklane_e2e::{Answer, Engine, TestApp};
use tracklane_server::config::SettingsLayer;

const URLENCODED: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// Sends `write` until it has failed three times; every acknowledged write must then be found by
/// `committed`. Returns how many were acknowledged.
async fn write_until_full(
    app: &TestApp,
    what: &str,
    write: impl AsyncFn(usize) -> Answer,
    committed: impl AsyncFn(usize) -> bool,
) -> usize {
    let mut acknowledged = Vec::new();
    let mut failed = 0;
    for n in 0..2000 {
        let answer = write(n).await;
        match answer.status {
            200..=303 => acknowledged.push(n),
            status => {
                assert!(
                    status >= 500,
                    "{what}: a full disk is the server's failure: {}",
                    answer.text
                );
                failed += 1;
                if failed == 3 {
                    break;
                }
            }
        }
    }
    assert_eq!(failed, 3, "{what}: the disk filled up");
    for n in &acknowledged {
        assert!(
            committed(*n).await,
            "{what} {n} was acknowledged, so it is committed"
        );
    }
    let health = app.send("GET", "/healthz", None, None).await;
    assert_eq!(health.status, 503, "{what}: {}", health.text);
    assert_eq!(health.body["status"], "degraded");
    acknowledged.len()
}

#[tokio::test]
async fn a_full_disk_never_acknowledges_a_lost_write_and_writing_resumes() {
    let no_form_limit = SettingsLayer {
        form_rate_per_minute: Some(0),
        ..SettingsLayer::default()
    };
    let app = TestApp::spawn_with(Engine::Sqlite, no_form_limit).await;
    let on = json!({"eventTracking": {"enabled": true}});
    app.update("/api/3/eventTracking", on).await;
    let name = json!({"eventTrackingEvent": {"name": "signup"}});
    assert_eq!(
        app.post("/api/3/eventTrackingEvents", name).await.status,
        201
    );
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    let form = json!({"form": {"name": "News", "fields": ["firstName"], "list": list.parse::<i64>().unwrap()}});
    let form = app.create("/api/3/forms", form).await;
    let long = "x".repeat(250);

    app.store.cap_pages(Some(4)).await.unwrap();
    let contact =
        |n: usize| json!({"contact": {"email": format!("p{n}@example.com"), "firstName": long}});
    let found = async |email: String| {
        let answer = app.get(&format!("/api/3/contacts?email={email}")).await;
        answer.body["meta"]["total"] == "1"
    };
    write_until_full(
        &app,
        "an API write",
        async |n| app.post("/api/3/contact/sync", contact(n)).await,
        async |n| found(format!("p{n}@example.com")).await,
    )
    .await;

    app.store.cap_pages(None).await.unwrap();
    assert_eq!(
        app.post("/api/3/contact/sync", contact(9999)).await.status,
        201
    );
    assert_eq!(app.send("GET", "/healthz", None, None).await.status, 200);
    let actid = app.account.to_string();

    app.store.cap_pages(Some(4)).await.unwrap();
    let before = app.get("/api/3/trackingLogs").await.body["meta"]["total"]
        .as_str()
        .unwrap()
        .parse::<usize>()
        .unwrap();
    let event = |n: usize| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("actid", actid.as_str()),
                ("key", app.event_key.as_str()),
                ("event", "signup"),
                ("eventdata", &format!("{n}{}", long.repeat(12))),
                ("visit", &json!({"email": "p9999@example.com"}).to_string()),
            ])
            .finish()
    };
    let events = write_until_full(
        &app,
        "an event",
        async |n| app.track("POST", "/event", &[URLENCODED], event(n)).await,
        async |_| true,
    )
    .await;
    let after = app.get("/api/3/trackingLogs").await.body["meta"]["total"]
        .as_str()
        .unwrap()
        .parse::<usize>()
        .unwrap();
    assert_eq!(
        after - before,
        events,
        "every acknowledged event is recorded"
    );

    app.store.cap_pages(None).await.unwrap();
    assert_eq!(
        app.track("POST", "/event", &[URLENCODED], event(0))
            .await
            .status,
        200
    );

    app.store.cap_pages(Some(4)).await.unwrap();
    let submission = |n: usize| format!("email=f{n}%40example.com&firstName={long}");
    write_until_full(
        &app,
        "a form submission",
        async |n| {
            app.track("POST", &format!("/f/{form}"), &[URLENCODED], submission(n))
                .await
        },
        async |n| found(format!("f{n}@example.com")).await,
    )
    .await;

    app.store.cap_pages(None).await.unwrap();
    let resumed = app
        .track(
            "POST",
            &format!("/f/{form}"),
            &[URLENCODED],
            submission(9999),
        )
        .await;
    assert!(resumed.status < 400, "{}", resumed.text);
    assert_eq!(app.send("GET", "/healthz", None, None).await.status, 200);
}
