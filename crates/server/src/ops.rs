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

/// 200 when the database answers, 503 otherwise.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "database": state.store.engine().name()})),
        ),
        Err(error) => {
            tracing::error!(error = %error, "health check: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": state.store.engine().name()})),
            )
        }
    }
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
