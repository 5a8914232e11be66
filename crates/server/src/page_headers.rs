//! Headers that keep browsers from misusing Tracklane's answers, added in one layer:
//! - every answer: `X-Content-Type-Options: nosniff` (a JSON or a snippet is never run as
//!   something else);
//! - every HTML page (the link, unsubscribe and form pages): `X-Frame-Options: DENY` and
//!   `Content-Security-Policy: frame-ancestors 'none'` (no page may frame them);
//! - HTML pages and redirects: `Referrer-Policy: no-referrer`, so that the tokens in `/l/` and
//!   `/u/` paths do not reach the destination site.

use axum::body::Body;
use axum::http::{header, HeaderValue, Response};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// `router` with the headers above on its answers.
pub fn with_page_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            on_pages(HeaderValue::from_static("DENY")),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            on_pages(HeaderValue::from_static("frame-ancestors 'none'")),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            |response: &Response<Body>| {
                (is_page(response) || response.status().is_redirection())
                    .then(|| HeaderValue::from_static("no-referrer"))
            },
        ))
}

/// A header value for HTML pages only.
fn on_pages(value: HeaderValue) -> impl Fn(&Response<Body>) -> Option<HeaderValue> + Clone {
    move |response: &Response<Body>| is_page(response).then(|| value.clone())
}

/// Whether the answer is an HTML page.
fn is_page(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::{Html, IntoResponse, Json, Redirect};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn headers_of(path: &str) -> axum::http::HeaderMap {
        let router = with_page_headers(
            Router::new()
                .route("/page", get(|| async { Html("<p>hi</p>") }))
                .route("/json", get(|| async { Json(1) }))
                .route(
                    "/away",
                    get(|| async { Redirect::to("https://example.com/") }),
                ),
        );
        let request = axum::http::Request::get(path).body(Body::empty()).unwrap();
        router
            .oneshot(request)
            .await
            .unwrap()
            .into_response()
            .headers()
            .clone()
    }

    #[tokio::test]
    async fn pages_are_not_framed_and_leak_no_referrer() {
        let page = headers_of("/page").await;
        assert_eq!(page["x-content-type-options"], "nosniff");
        assert_eq!(page["x-frame-options"], "DENY");
        assert_eq!(page["content-security-policy"], "frame-ancestors 'none'");
        assert_eq!(page["referrer-policy"], "no-referrer");
        let json = headers_of("/json").await;
        assert_eq!(json["x-content-type-options"], "nosniff");
        assert!(json.get("x-frame-options").is_none());
        assert!(json.get("referrer-policy").is_none());
        let away = headers_of("/away").await;
        assert_eq!(away["referrer-policy"], "no-referrer");
    }
}
