//! Deadlines for requests, as layers of the router: a request body that pauses longer than
//! [`Settings::body_timeout`] between two of its parts fails to read (the body readers answer
//! 408, see [`body_timed_out`]), and a request that takes longer than
//! [`Settings::request_timeout`] in all is answered 408. Deadlines for headers and idle
//! connections are the server's (see [`crate::serve`]).

use std::error::Error;

use axum::http::StatusCode;
use axum::Router;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutError, TimeoutLayer};

use crate::config::Settings;

/// `router` with the request deadlines of `settings`.
pub fn with_deadlines<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    settings: &Settings,
) -> Router<S> {
    router
        .layer(RequestBodyTimeoutLayer::new(settings.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
}

/// Whether reading a body failed because it paused past its deadline.
pub fn body_timed_out(error: &(dyn Error + 'static)) -> bool {
    std::iter::successors(Some(error), |&error| error.source())
        .any(|error| error.is::<TimeoutError>())
}
