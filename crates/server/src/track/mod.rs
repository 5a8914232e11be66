//! The tracking surfaces: the snippet, its collector, the ActiveCampaign event collector, the
//! Segment-style API, campaign links and form submissions. Every recorded visit and event goes
//! through the group-commit writer ([`crate::ingest`]) and is acknowledged only once committed.

pub mod collector;
pub mod event;
pub mod form;
pub mod gate;
pub mod identify;
pub mod mail;
pub mod refusal;
pub mod segment;
pub mod snippet;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// The largest snippet hit accepted.
const HIT_MAX_BYTES: usize = 32 * 1024;

/// The tracking routes.
pub fn routes() -> Router<AppState> {
    let collector = Router::new()
        .route(
            "/c",
            post(collector::collect_posted).get(collector::collect_fetched),
        )
        .layer(DefaultBodyLimit::max(HIT_MAX_BYTES));
    Router::new()
        .merge(collector)
        .route("/t.js", get(snippet::script))
        .route("/event", post(event::spawn_event))
        .route("/f/{form_id}", post(form::submit).options(form::preflight))
        .route("/v1/track", post(segment::track))
        .route("/v1/identify", post(segment::identify))
        .route("/v1/page", post(segment::page))
        .route("/v1/batch", post(segment::batch))
        .merge(mail::routes())
}
