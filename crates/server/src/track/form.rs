//! `POST /f/{form_id}`: a form submission, from the embedded snippet
//! (`application/x-www-form-urlencoded`) or from a site's own script (JSON).
//!
//! A valid submission creates or updates the contact, subscribes it to the form's list, adds the
//! form's tags and identifies the visitor (one transaction), then records a `__form_submit` event
//! through the group-commit writer. A form post is answered with a 303 to the thank-you URL with
//! the contact token `tl_cid` appended (or the built-in thank-you page); a JSON request (a JSON
//! body, or `Accept: application/json`) with `{"submitted": true}`.
//!
//! Spam: a filled honeypot gets the same answer and records nothing; each client address may
//! submit `form_rate_per_minute` times a minute, then 429 with `Retry-After`. An unknown form is
//! a plain 404 page; a bad answer (an invalid email) a 422, as a page or as JSON. Answers carry
//! `Access-Control-Allow-Origin: *` (and `OPTIONS` answers the preflight) so that a site's own
//! script may post JSON.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use tracklane_core::cid::TokenSubject;
use tracklane_core::event::{EventKind, EventSource, NewEvent, FORM_SUBMIT_NAME};
use tracklane_core::form::{is_spam, Form};
use tracklane_core::ids::{ContactId, FormId};

use super::mail::{landing, not_found};
use super::refusal::{form_body, json_body, readable, Refusal};
use crate::api_v3::render::loose_text;
use crate::client_ip::ClientIp;
use crate::state::AppState;

/// How the submitter wants to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A browser posting the snippet: a redirect or a page.
    Page,
    /// A script: JSON.
    Json,
}

/// Whether a header of the request names JSON.
fn says_json(headers: &HeaderMap, name: header::HeaderName) -> bool {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"))
}

impl Answer {
    /// JSON when the body is JSON or the request accepts JSON; a page otherwise.
    fn of(headers: &HeaderMap) -> Self {
        if says_json(headers, header::CONTENT_TYPE) || says_json(headers, header::ACCEPT) {
            Self::Json
        } else {
            Self::Page
        }
    }

    /// The refusal, as JSON `{"submitted": false, "reason"}` or as a page.
    fn refused(self, refusal: impl Into<Refusal>) -> Response {
        let refusal = refusal.into();
        match self {
            Self::Json => refusal.answer(|reason| json!({ "submitted": false, "reason": reason })),
            Self::Page => {
                let page = include_str!("../../../../assets/pages/form-refused.html")
                    .replace("%REASON%", &html_escape::encode_text(&refusal.reason));
                (refusal.status, Html(page)).into_response()
            }
        }
    }

    /// Success: JSON, a 303 to the form's thank-you URL (with `tl_cid` for `contact`), or the
    /// built-in thank-you page.
    fn submitted(self, state: &AppState, form: &Form, contact: Option<ContactId>) -> Response {
        if self == Self::Json {
            return Json(json!({ "submitted": true })).into_response();
        }
        let location = form.thank_you_url.as_deref().and_then(|url| match contact {
            Some(contact) => {
                let subject = TokenSubject {
                    account: form.account,
                    contact,
                };
                landing(state, subject, url)
            }
            None => Some(url.to_owned()),
        });
        match location {
            Some(location) => {
                (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
            }
            None => Html(include_str!("../../../../assets/pages/form-thanks.html")).into_response(),
        }
    }
}

/// The submission's name/value pairs, from a JSON object body or a urlencoded one.
fn answers(is_json: bool, body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    if !is_json {
        return form_body(body);
    }
    let object: Map<String, Value> = json_body(body, "the body must be a JSON object of answers")?;
    object
        .into_iter()
        .map(|(key, value)| match loose_text(&value) {
            Some(text) => Ok((key, text)),
            None => Err(Refusal::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{key}: an answer must be text, a number or a boolean"),
            )),
        })
        .collect()
}

/// `OPTIONS /f/{form_id}`: a browser's CORS preflight before a site's script posts JSON.
pub async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, accept"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    any_origin(response)
}

/// Lets a script on any site read the answer (forms are embedded on the account's sites).
fn any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `POST /f/{form_id}`.
pub async fn submit(
    state: State<AppState>,
    client: ClientIp,
    id: Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    any_origin(answer_submission(state, client, id, headers, body).await)
}

async fn answer_submission(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = Answer::of(&headers);
    if let Err(wait) = state.form_limit.check(client) {
        let mut response = answer.refused(Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many submissions from this address; try again later",
        ));
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        return response;
    }
    let form = match id.parse().map(FormId) {
        Ok(id) => state.store.submitted_form(id).await,
        Err(_) => Ok(None),
    };
    let form = match form {
        Ok(Some(form)) => form,
        Ok(None) => return not_found(),
        Err(error) => return answer.refused(error),
    };
    let is_json = says_json(&headers, header::CONTENT_TYPE);
    match record(&state, &form, is_json, body).await {
        Ok(contact) => answer.submitted(&state, &form, contact),
        Err(refusal) => answer.refused(refusal),
    }
}

/// Records a submission; returns the contact, or `None` for a bot's (the honeypot was filled).
async fn record(
    state: &AppState,
    form: &Form,
    is_json: bool,
    body: Result<Bytes, BytesRejection>,
) -> Result<Option<ContactId>, Refusal> {
    let pairs = answers(is_json, &readable(body)?)?;
    if is_spam(&pairs) {
        tracing::info!(form = %form.id, "a form submission filled the honeypot: ignored");
        return Ok(None);
    }
    let submission = form.read_submission(&pairs)?;
    let now = state.now();
    let contact = state.store.submit_form(form, &submission, now).await?;
    let data = Some(format!("form:{}", form.id));
    let mut event = NewEvent::of_contact(
        form.account,
        EventKind::FormSubmit,
        FORM_SUBMIT_NAME,
        contact,
        data,
        now,
    );
    event.visitor = submission.visitor;
    event.source = Some(EventSource::Form(form.id));
    state.ingest.record(vec![event]).await?;
    Ok(Some(contact))
}
