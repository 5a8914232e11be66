//! The API v3 error, answered in ActiveCampaign's shapes:
//! - 403 and 404 as `{"message": "..."}` (404: `No Result found for <Model> with id <id>`),
//! - 400, 408, 413, 422 and 502 as `{"errors": [{"title", "detail", "code", "source": {"pointer"}}]}`.
//!
//! Internal failures are logged with their whole cause chain and answered 500 without detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tracklane_core::invalid::{Code, Invalid};
use tracklane_core::text::NUL_REFUSED;
use tracklane_store::{Model, StoreError};

/// A failed API v3 request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No key, or a key that opens nothing.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The id names nothing in this account.
    #[error("{model} {id} not found")]
    NotFound {
        /// AC's model name (`Subscriber`, `Tag`, ...).
        model: &'static str,
        /// The id as given.
        id: String,
    },
    /// A referenced row does not exist, answered as `{"errors":[{"status":404,...}]}`.
    #[error("not found: {0}")]
    MissingReference(&'static str),
    /// A path that is no API route.
    #[error("no such route")]
    NoRoute,
    /// The body is not JSON, or not the JSON expected.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The body is larger than allowed.
    #[error("request body over {0} bytes")]
    TooLarge(usize),
    /// The body paused past its deadline.
    #[error("request body timed out")]
    BodyTimeout,
    /// A query parameter (or the whole query) is past its bounds.
    #[error("query parameter {parameter}: {detail}")]
    QueryTooLarge {
        /// The parameter's name; empty when the whole query is too large.
        parameter: String,
        /// Which bound.
        detail: String,
    },
    /// An attribute has the wrong JSON type.
    #[error("{attribute}: {detail}")]
    WrongType {
        /// The attribute's path in the body (`contact.email`).
        attribute: String,
        /// What serde expected.
        detail: String,
    },
    /// A body attribute or a query parameter holds a NUL character, which no engine stores.
    #[error("{attribute}: {detail}")]
    Unstorable {
        /// The attribute or parameter, as [`ApiError::WrongType`] names it.
        attribute: String,
        /// Where it is and why it is refused.
        detail: String,
    },
    /// An attribute is refused.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The mail server refused a message sent at the caller's request (a test send), with
    /// its answer.
    #[error("delivery failed: {0}")]
    Delivery(String),
    /// Something failed inside.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// AC's name for a model, as its 404 messages spell it.
pub fn model_name(model: Model) -> &'static str {
    match model {
        Model::Contact => "Subscriber",
        Model::Tag => "Tag",
        Model::ContactTag => "SubscriberTag",
        Model::List => "_List",
        Model::Field => "Field",
        Model::FieldValue => "FieldValue",
        Model::Account => "Account",
        Model::Key => "Key",
        Model::SiteDomain => "SiteTrackingDomain",
        Model::EventName => "EventTrackingEvent",
        Model::Event => "TrackingLog",
        Model::Message => "Message",
        Model::Campaign => "Campaign",
        Model::LinkAction => "LinkAction",
        Model::Form => "Form",
        Model::Segment => "Segment",
        Model::ScoreModel => "Score",
        Model::ScoreRule => "ScoreRule",
        Model::Webhook => "Webhook",
        Model::WebhookDelivery => "WebhookDelivery",
        Model::Automation => "Series",
        Model::AutomationRun => "SubscriberSeries",
    }
}

impl ApiError {
    /// The refusal of a NUL character at `path` (`contact.firstName`, or a query parameter's
    /// name), pointing at its last attribute.
    pub fn unstorable(path: &str) -> Self {
        let attribute = path.rsplit('.').next().unwrap_or_default();
        Self::Unstorable {
            attribute: attribute.to_owned(),
            detail: format!("{path} {NUL_REFUSED}"),
        }
    }

    /// The 404 for `model` with this id.
    pub fn not_found(model: Model, id: impl ToString) -> Self {
        Self::NotFound {
            model: model_name(model),
            id: id.to_string(),
        }
    }
}

/// A store error for a request whose body names other rows: a missing contact, tag, list or
/// field is answered `{"errors":[{"status":404,"title":"Not Found","detail":"Contact not found"}]}`
/// as AC does for `POST /contactTags`.
pub fn reference_error(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound { model, .. } => ApiError::MissingReference(match model {
            Model::Contact => "Contact not found",
            Model::Tag => "Tag not found",
            Model::List => "List not found",
            Model::Field => "Field not found",
            Model::Message => "Message not found",
            _ => "Not found",
        }),
        other => other.into(),
    }
}

impl From<crate::mailer::DeliveryError> for ApiError {
    /// A message the caller asked to send now (a test, the snippet for a developer) that the
    /// mail server did not take: whatever the reason, its answer goes back (502).
    fn from(error: crate::mailer::DeliveryError) -> Self {
        Self::Delivery(error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { model, id } => Self::not_found(model, id),
            StoreError::Invalid(invalid) => Self::Invalid(invalid),
            other => Self::Internal(other.into()),
        }
    }
}

fn errors(status: StatusCode, entry: Value) -> Response {
    (status, Json(json!({ "errors": [entry] }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Forbidden(message) => {
                (StatusCode::FORBIDDEN, Json(json!({ "message": message }))).into_response()
            }
            Self::NotFound { model, id } => (
                StatusCode::NOT_FOUND,
                Json(json!({ "message": format!("No Result found for {model} with id {id}") })),
            )
                .into_response(),
            Self::MissingReference(detail) => errors(
                StatusCode::NOT_FOUND,
                json!({"status": 404, "title": "Not Found", "detail": detail}),
            ),
            Self::NoRoute => (
                StatusCode::NOT_FOUND,
                Json(json!({ "message": "Not Found" })),
            )
                .into_response(),
            Self::Malformed(detail) => errors(
                StatusCode::BAD_REQUEST,
                json!({"status": 400, "title": "Malformed request", "detail": detail, "code": "malformed"}),
            ),
            Self::TooLarge(limit) => errors(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({
                    "status": 413,
                    "title": "Request body too large",
                    "detail": format!("the body must be at most {limit} bytes"),
                    "code": "too_large",
                }),
            ),
            Self::BodyTimeout => errors(
                StatusCode::REQUEST_TIMEOUT,
                json!({
                    "status": 408,
                    "title": "Request timeout",
                    "detail": "the body did not arrive in time",
                    "code": "timeout",
                }),
            ),
            Self::QueryTooLarge { parameter, detail } => errors(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "status": 422,
                    "title": "Query parameter too long",
                    "detail": detail,
                    "code": "too_long",
                    "source": { "parameter": parameter },
                }),
            ),
            Self::WrongType { attribute, detail } | Self::Unstorable { attribute, detail } => {
                errors(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({
                        "status": 422,
                        "title": "Invalid value",
                        "detail": detail,
                        "code": "invalid",
                        "source": { "pointer": format!("/data/attributes/{attribute}") },
                    }),
                )
            }
            Self::Invalid(invalid) => {
                let mut entry = json!({
                    "status": 422,
                    "title": invalid.title,
                    "detail": invalid.detail,
                    "code": invalid.code.as_str(),
                });
                if invalid.code != Code::Duplicate || invalid.attribute == "email" {
                    entry["source"] =
                        json!({ "pointer": format!("/data/attributes/{}", invalid.attribute) });
                }
                errors(StatusCode::UNPROCESSABLE_ENTITY, entry)
            }
            Self::Delivery(detail) => errors(
                StatusCode::BAD_GATEWAY,
                json!({
                    "status": 502,
                    "title": "The mail server did not take the message",
                    "detail": detail,
                    "code": "delivery",
                }),
            ),
            Self::Internal(error) => {
                tracing::error!(error = ?error, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "message": "Internal server error" })),
                )
                    .into_response()
            }
        }
    }
}
