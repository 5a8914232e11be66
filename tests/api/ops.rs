//! Operations routes and the API's answers to paths and methods it does not have.

use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::config::SettingsLayer;

async fn health_reports_the_engine(app: TestApp) {
    let answer = app.send("GET", "/healthz", None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "ok");
    assert_eq!(
        answer.body["workers"], "ok",
        "every worker beats: {}",
        answer.body
    );
    assert!(["sqlite", "postgres"].contains(&answer.body["database"].as_str().unwrap()));
}

async fn metrics_count_requests_per_route(app: TestApp) {
    app.get("/api/3/contacts").await;
    let answer = app.send("GET", "/metrics", None, None).await;
    assert_eq!(answer.status, 200);
    assert!(answer
        .text
        .contains("http_requests_total{method=\"GET\",route=\"/api/3/contacts\",status=\"200\"}"));
    assert!(answer.text.contains("http_request_duration_seconds_bucket"));
    assert!(answer.text.contains("db_pool_connections"));
}

/// The label values of `label` in the metrics text.
fn label_values<'a>(metrics: &'a str, label: &str) -> std::collections::BTreeSet<&'a str> {
    let start = format!("{label}=\"");
    metrics
        .match_indices(&start)
        .filter_map(|(at, _)| metrics[at + start.len()..].split('"').next())
        .collect()
}

async fn made_up_methods_add_no_metrics_series(app: TestApp) {
    let methods: Vec<String> = (0..50).map(|n| format!("MADEUP{n}")).collect();
    for method in &methods {
        app.track(method, "/healthz", &[], "").await;
        app.track(method, &format!("/no/such/{method}"), &[], "")
            .await;
    }
    let metrics = app.send("GET", "/metrics", None, None).await.text;
    assert!(
        methods
            .iter()
            .all(|method| !metrics.contains(method.as_str())),
        "a made-up method is a label"
    );
    let allowed = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other",
    ];
    let seen = label_values(&metrics, "method");
    assert!(seen.iter().all(|m| allowed.contains(m)), "{seen:?}");
    assert!(label_values(&metrics, "route")
        .iter()
        .all(|route| route.starts_with('/') || *route == "unmatched"));
    // The recorder is the process's: other tests (the API fuzzing) send odd methods to other
    // routes; this test's are `/healthz` and the unmatched paths.
    let other_series = metrics
        .lines()
        .filter(|line| line.starts_with("http_requests_total{method=\"other\""))
        .filter(|line| line.contains("route=\"/healthz\"") || line.contains("route=\"unmatched\""))
        .count();
    assert!(
        other_series <= 4,
        "one series per route and status: {other_series}"
    );
}

async fn unknown_routes_and_methods_answer_json(app: TestApp) {
    let missing = app.get("/api/3/noSuchThing").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["message"], "Not Found");
    let bench_only = app.call("POST", "/_bench/noop", None).await;
    assert_eq!(
        bench_only.status, 404,
        "the bench's baseline route is the bench's alone"
    );
    let wrong_method = app.call("PATCH", "/api/3/contacts", None).await;
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.content_type.starts_with("application/json"));
}

async fn metrics_can_ask_for_a_token(app: TestApp) {
    let engine = app.engine;
    drop(app);
    let settings = SettingsLayer {
        metrics_token: Some("scrape-me".to_owned()),
        ..SettingsLayer::default()
    };
    let app = TestApp::spawn_with(engine, settings).await;
    let bare = app.track("GET", "/metrics", &[], "").await;
    assert_eq!(bare.status, 401);
    assert!(!bare.text.contains("http_requests"));
    let wrong = app
        .track(
            "GET",
            "/metrics",
            &[("authorization", "Bearer scrape-you")],
            "",
        )
        .await;
    assert_eq!(wrong.status, 401);
    let right = app
        .track(
            "GET",
            "/metrics",
            &[("authorization", "Bearer scrape-me")],
            "",
        )
        .await;
    assert_eq!(right.status, 200);
    assert!(right.text.contains("http_requests"), "{}", right.text);
}

async fn metrics_can_have_an_address_of_their_own(app: TestApp) {
    let engine = app.engine;
    drop(app);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = SettingsLayer {
        metrics_listen: Some(format!("127.0.0.1:{port}").parse().unwrap()),
        ..SettingsLayer::default()
    };
    let app = TestApp::spawn_with(engine, settings).await;
    assert_eq!(app.get("/api/3/").await.status, 200);
    assert_eq!(
        app.send("GET", "/metrics", None, None).await.status,
        404,
        "not on the public address"
    );
    let own = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    assert!(own.text().await.unwrap().contains("http_requests"));
}

both_engines!(
    metrics_can_ask_for_a_token,
    metrics_can_have_an_address_of_their_own,
    health_reports_the_engine,
    metrics_count_requests_per_route,
    made_up_methods_add_no_metrics_series,
    unknown_routes_and_methods_answer_json,
);
