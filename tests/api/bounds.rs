//! Input past the API's bounds: over-long query parameters are refused in the API's error shape.

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

async fn over_long_query_parameters_get_422(app: TestApp) {
    let pattern = "ab%25".repeat(10_000);
    for path in [
        format!("/api/3/contacts?search={pattern}"),
        format!("/api/3/contacts?email_like={pattern}"),
        format!("/api/3/contacts?filters%5Bemail%5D={pattern}"),
        format!("/api/3/tags?search={pattern}"),
        format!("/api/3/lists?filters%5Bname%5D%5Bcontains%5D={pattern}"),
        format!("/api/3/fieldValues?filters%5Bval%5D={pattern}"),
    ] {
        let answer = app.get(&path).await;
        assert_eq!(answer.status, 422, "{}: {}", &path[..30], answer.text);
        let error = &answer.body["errors"][0];
        assert_eq!(error["code"], "too_long", "{}", answer.text);
        assert!(error["title"].is_string() && error["detail"].is_string());
        assert!(error["source"]["parameter"].is_string(), "{}", answer.text);
    }
    let fits = app
        .get(&format!("/api/3/contacts?search={}", "a".repeat(4000)))
        .await;
    assert_eq!(fits.status, 200, "{}", fits.text);
}

both_engines!(over_long_query_parameters_get_422,);
