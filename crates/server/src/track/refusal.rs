//! Why a tracking request was not recorded, with the HTTP status it is answered with. Each
//! tracking surface words the answer in its own shape, and reads its body here: a body that
//! cannot be read is refused, and so is one with a NUL character anywhere (422, as
//! [`crate::unstorable`] finds it), before anything of it is used.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracklane_core::invalid::{Code, Invalid};
use tracklane_core::text::NUL_REFUSED;
use tracklane_store::StoreError;

use crate::ingest::IngestError;
use crate::limits::body_timed_out;
use crate::unstorable;

/// A tracking request that recorded nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status to answer with.
    pub status: StatusCode,
    /// Why, for the caller.
    pub reason: String,
}

impl Refusal {
    /// A refusal with this status and reason.
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }

    /// Answers with the body `shape(reason)`; a 503 carries `Retry-After: 1`.
    pub fn answer(self, shape: impl FnOnce(&str) -> Value) -> Response {
        let mut response = (self.status, Json(shape(&self.reason))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// The request body, or the refusal of one that could not be read (413 when over the limit,
/// 408 when it paused past its deadline).
pub fn readable(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Refusal> {
    body.map_err(|rejection| {
        if body_timed_out(&rejection) {
            return Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time",
            );
        }
        let status = rejection.status();
        let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the body is too large".to_owned()
        } else {
            rejection.body_text()
        };
        Refusal::new(status, reason)
    })
}

/// A JSON body read as `T`: 400 with `unreadable` and serde's reason when it is not such JSON,
/// 422 when it holds a NUL character.
pub fn json_body<T: DeserializeOwned>(body: &[u8], unreadable: &str) -> Result<T, Refusal> {
    if let Some(path) = unstorable::in_json(body) {
        return Err(nul_refused(&path));
    }
    serde_json::from_slice(body)
        .map_err(|error| Refusal::new(StatusCode::BAD_REQUEST, format!("{unreadable}: {error}")))
}

/// The name/value pairs of a urlencoded body: 400 when it is not UTF-8, 422 when a pair holds a
/// NUL character.
pub fn form_body(body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    if std::str::from_utf8(body).is_err() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "the body is not UTF-8",
        ));
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    match unstorable::in_pairs(&pairs) {
        Some(name) => Err(nul_refused(&name)),
        None => Ok(pairs),
    }
}

fn nul_refused(path: &str) -> Refusal {
    let path = if path.is_empty() { "the body" } else { path };
    Refusal::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("{path} {NUL_REFUSED}"),
    )
}

impl From<Invalid> for Refusal {
    fn from(invalid: Invalid) -> Self {
        let status = if invalid.code == Code::TooLong {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        Self::new(status, format!("{}: {}", invalid.attribute, invalid.detail))
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Invalid(invalid) => invalid.into(),
            other => {
                tracing::error!(error = ?other, "tracking request failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

impl From<IngestError> for Refusal {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many requests are waiting to be recorded; retry shortly",
            ),
            IngestError::Failed => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        }
    }
}
