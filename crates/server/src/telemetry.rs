//! Logs and request metrics.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The levels logged unless `RUST_LOG` says otherwise: Tracklane's `info`, and only warnings of
/// sqlx (whose `info` is PostgreSQL's notices, such as "relation already exists, skipping" on
/// every start's migrations).
pub const DEFAULT_LOG_LEVELS: &str = "info,sqlx=warn";

/// Sets up logging to standard error; `RUST_LOG` overrides [`DEFAULT_LOG_LEVELS`]. Text logs are
/// coloured only on a terminal. Does nothing when logging is already set up.
pub fn init_logs(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _already_set = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The levels to log: `RUST_LOG`'s, or [`DEFAULT_LOG_LEVELS`].
pub fn log_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_LEVELS))
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's metrics recorder (installed on first use) and its renderer.
pub fn prometheus() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".to_owned()),
                    &[
                        0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                        2.5, 5.0,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            let _only_the_first_install_counts = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts every request and measures its latency, per method, route and status. Every label
/// comes from a closed set ([`method_label`], the matched route template or `unmatched`, the
/// status code), so that no request can add series of its own making.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The span of one request, for `TraceLayer`: its method label and its route's template
/// (`/l/{token}`), never the URI itself, whose path and query may hold link tokens, emails and
/// contact tokens.
pub fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::debug_span!("request", method = method_label(request.method()), route)
}

/// The metrics label of a request method: the standard ones by name, any other `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;
    use tower_http::trace::TraceLayer;

    /// Log lines written into memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn request_logs_name_the_route_not_the_uri() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _logging = tracing::subscriber::set_default(subscriber);
        let router = Router::new()
            .route("/l/{token}", get(|| async { "" }))
            .route("/c", get(|| async { "" }))
            .layer(TraceLayer::new_for_http().make_span_with(request_span));
        for uri in [
            "/l/SECRETLINKTOKEN?tl_cid=SECRETCID",
            "/c?d=%7B%22email%22%3A%22ada%40example.com%22%7D",
            "/u/SECRETUNSUBSCRIBE",
        ] {
            let request = axum::http::Request::get(uri).body(Body::empty()).unwrap();
            router.clone().oneshot(request).await.unwrap();
        }
        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("route=\"/l/{token}\""), "{logs}");
        assert!(logs.contains("route=\"/c\""), "{logs}");
        assert!(logs.contains("route=\"unmatched\""), "{logs}");
        for secret in ["SECRET", "ada", "example.com", "tl_cid", "?d="] {
            assert!(!logs.contains(secret), "{secret} in {logs}");
        }
    }

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        let made_up = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&Method::TRACE), "other");
    }
}
