//! Operations routes and the API's answers to paths and methods it does not have.

use tracklane_e2e::{both_engines, TestApp};

async fn health_reports_the_engine(app: TestApp) {
    let answer = app.send("GET", "/healthz", None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "ok");
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

async fn unknown_routes_and_methods_answer_json(app: TestApp) {
    let missing = app.get("/api/3/noSuchThing").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["message"], "Not Found");
    let wrong_method = app.call("PATCH", "/api/3/contacts", None).await;
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.content_type.starts_with("application/json"));
}

both_engines!(
    health_reports_the_engine,
    metrics_count_requests_per_route,
    unknown_routes_and_methods_answer_json,
);
