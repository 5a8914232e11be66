//! Operations routes: `/healthz` and `/metrics`. `/metrics` is on the public address unless
//! `--metrics-listen` gives it an address of its own ([`metrics_router`]), and answers only
//! `Authorization: Bearer <token>` when `--metrics-token` is set.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::config::Settings;
use crate::state::AppState;

/// The operations routes of the public address: `/healthz`, and `/metrics` when it has no
/// address of its own.
pub fn routes(settings: &Settings) -> Router<AppState> {
    let routes = Router::new().route("/healthz", get(health));
    if settings.metrics_listen.is_some() {
        return routes;
    }
    routes.route("/metrics", get(render_metrics))
}

/// The router of `--metrics-listen`'s address: `/metrics` alone.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .with_state(state)
}

/// 200 when the database answers, writes commit and the background workers beat; 503
/// `degraded` while the most recent write failed (a full disk) or a worker is late or stopped
/// (named), 503 `unavailable` when the database does not answer or the ingest writer has
/// stopped.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.store.engine().name();
    if let Err(error) = state.store.ping().await {
        tracing::error!(error = %error, "health check: the database does not answer");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "database": database})),
        );
    }
    if !state.ingest.is_running() {
        tracing::error!("health check: the ingest writer has stopped");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "database": database, "ingest": "stopped"})),
        );
    }
    if state.store.writes_failing() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "degraded", "database": database, "writes": "failing"})),
        );
    }
    let unwell = state.heartbeats.unwell();
    if !unwell.is_empty() {
        tracing::error!(
            late = ?unwell.late,
            stopped = ?unwell.stopped,
            "health check: background workers are not running"
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "degraded", "database": database, "writes": "ok",
                "workers": {"late": unwell.late, "stopped": unwell.stopped}}),
            ),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"status": "ok", "database": database, "writes": "ok", "workers": "ok"})),
    )
}

/// Prometheus text format: request counts and latencies per route, database pool gauges. With
/// a metrics token, a request without it is answered 401.
async fn render_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.settings.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(token.expose_secret().as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "/metrics needs Authorization: Bearer <the metrics token>\n",
            )
                .into_response();
        }
    }
    let pool = state.store.pool_stats();
    let engine = state.store.engine().name();
    metrics::gauge!("db_pool_connections", "engine" => engine).set(f64::from(pool.connections));
    metrics::gauge!("db_pool_idle_connections", "engine" => engine).set(f64::from(pool.idle));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
