//! Operations routes: `/healthz` and `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

/// The operations routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(render_metrics))
}

/// 200 when the database answers and writes commit; 503 `degraded` while the most recent write
/// failed (a full disk), 503 `unavailable` when the database does not answer or the ingest
/// writer has stopped.
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
    (
        StatusCode::OK,
        Json(json!({"status": "ok", "database": database, "writes": "ok"})),
    )
}

/// Prometheus text format: request counts and latencies per route, database pool gauges.
async fn render_metrics(State(state): State<AppState>) -> impl IntoResponse {
    let pool = state.store.pool_stats();
    let engine = state.store.engine().name();
    metrics::gauge!("db_pool_connections", "engine" => engine).set(f64::from(pool.connections));
    metrics::gauge!("db_pool_idle_connections", "engine" => engine).set(f64::from(pool.idle));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
