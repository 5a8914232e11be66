//! `POST /event`, compatible with ActiveCampaign's event tracking collector: form fields `actid`,
//! `key`, `event`, `eventdata` and `visit` (a JSON object with the contact's `email`); a JSON
//! body with the same fields is accepted too. Answers `{"success":1,"message":"Event spawned"}`
//! once the event is committed, or `{"success":0,"message":"..."}` with a status saying why not.
//!
//! As in ActiveCampaign, an event is recorded only for an existing contact, only while event
//! tracking is enabled, and only for a whitelisted event name (others are refused with 422,
//! not recorded).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::SecretString;
use serde_json::{json, Value};
use tracklane_core::email::ContactEmail;
use tracklane_core::event::{parse_event_data, parse_event_name, EventKind, NewEvent};
use tracklane_core::ids::AccountId;
use tracklane_core::invalid::Invalid;

use super::collector::account_id;
use super::gate::Rules;
use super::refusal::{form_body, json_body, readable, Refusal};
use crate::state::AppState;

/// `POST /event`.
pub async fn spawn_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match async { record(&state, &headers, &readable(body)?).await }.await {
        Ok(()) => Json(json!({"success": 1, "message": "Event spawned"})).into_response(),
        Err(refusal) => refusal.answer(|reason| json!({"success": 0, "message": reason})),
    }
}

/// The fields of a form or JSON body, as text.
fn fields(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, Refusal> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        let object: HashMap<String, Value> = json_body(body, "the body is not a JSON object")?;
        return Ok(object
            .into_iter()
            .map(|(key, value)| match value {
                Value::String(text) => (key, text),
                other => (key, other.to_string()),
            })
            .collect());
    }
    Ok(form_body(body)?.into_iter().collect())
}

/// The account whose event key this is, refusing unknown accounts and wrong keys.
pub async fn keyed_account(
    state: &AppState,
    claimed: AccountId,
    key: Option<&str>,
) -> Result<std::sync::Arc<Rules>, Refusal> {
    let rules = state
        .gate
        .rules(claimed)
        .await?
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "unknown account"))?;
    let key = key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| Refusal::new(StatusCode::FORBIDDEN, "the event key (key) is missing"))?;
    let opens = state
        .gate
        .account_for_event_key(&SecretString::from(key.to_owned()), state.now())
        .await?;
    if opens != Some(claimed) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "the event key is not valid for this account",
        ));
    }
    Ok(rules)
}

/// Refuses when event tracking is off or the name is not whitelisted.
pub fn check_event_name(rules: &Rules, raw: &str) -> Result<String, Refusal> {
    if !rules.settings.event_tracking {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "event tracking is disabled for this account",
        ));
    }
    let name = parse_event_name(raw)?;
    if !rules.event_names.contains(&name) {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the event name '{name}' is not whitelisted"),
        ));
    }
    Ok(name)
}

async fn record(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let fields = fields(headers, body)?;
    let account = account_id(
        fields
            .get("actid")
            .map(|a| Value::String(a.clone()))
            .as_ref(),
    )?;
    let rules = keyed_account(state, account, fields.get("key").map(String::as_str)).await?;
    let name = check_event_name(&rules, fields.get("event").map_or("", String::as_str))?;
    let data = fields
        .get("eventdata")
        .map(|data| parse_event_data(data))
        .transpose()?;
    let visit: Value = serde_json::from_str(fields.get("visit").map_or("", String::as_str))
        .map_err(|_| {
            Refusal::from(Invalid::bad_value(
                "visit",
                "visit must be a JSON object with an email",
            ))
        })?;
    let email = visit
        .get("email")
        .and_then(Value::as_str)
        .ok_or_else(|| Refusal::from(Invalid::missing("email")))?;
    let email = ContactEmail::parse(email)?;
    let now = state.now();
    let contact = state
        .gate
        .contact_for_email(account, &email, false, now)
        .await?
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                format!("no contact has the email {email}"),
            )
        })?;
    let event = NewEvent::of_contact(account, EventKind::Custom, name, contact, data, now);
    state.ingest.record(vec![event]).await?;
    Ok(())
}
