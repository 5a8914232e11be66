//! A Segment-style JSON API: `POST /v1/track`, `/v1/identify`, `/v1/page` and `/v1/batch`,
//! authenticated by HTTP basic auth with the account's event key as the user name (the "write
//! key"). Messages carry `userId`, `anonymousId`, `traits`, `properties`, `timestamp` and
//! `messageId`; a repeated `messageId` is recorded once, so clients may retry freely.
//!
//! A page's address, referrer and title come from `properties` or else `context.page`, and the
//! device from `context.userAgent` or else the request's agent (see [`context`]).
//!
//! The contact is the one whose email is in `traits.email`, `properties.email`,
//! `context.traits.email`, or `userId` when it is an email. `anonymousId` is the visitor: events
//! of a visitor not yet known are kept and become the contact's when an `identify` (or a later
//! message with an email) names it. A batch is validated whole and recorded all or nothing.
//!
//! # Layout
//! - this module: the routes, the messages and how they are recorded.
//! - [`body`]: gzip bodies and Segment's error codes.
//! - [`context`]: the device and the page from a message's `context`.

mod body;
mod context;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tracklane_core::contact::{ContactInput, ContactPatch};
use tracklane_core::email::ContactEmail;
use tracklane_core::event::{
    parse_event_data, parse_message_id, EventKind, NewEvent, PAGE_VISIT_NAME,
};
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::invalid::Invalid;
use tracklane_core::time::Timestamp;
use tracklane_core::visit::{clip_title, parse_visitor_key, PageUrl};
use tracklane_store::people::{NamedPerson, PersonEvent};

use super::collector::tracked_page;
use super::event::check_event_name;
use super::gate::Rules;
use super::refusal::{json_body, readable, Refusal};
use crate::state::AppState;
use body::{decoded, error_code};
use context::Context;

/// The most messages in one batch.
pub const BATCH_MAX: usize = 1000;

/// One message, as Segment's libraries send it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SegmentCall {
    #[serde(rename = "type")]
    kind: Option<String>,
    user_id: Option<Value>,
    anonymous_id: Option<Value>,
    event: Option<String>,
    name: Option<String>,
    properties: Option<Map<String, Value>>,
    traits: Option<Map<String, Value>>,
    context: Option<Value>,
    timestamp: Option<String>,
    message_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Batch {
    batch: Vec<SegmentCall>,
}

/// What a message asks for, once validated.
struct Checked {
    kind: &'static str,
    visitor: Option<String>,
    email: Option<ContactEmail>,
    event: Option<NewEvent>,
    /// For an `identify`, the names and phone its traits give the contact.
    traits: Option<ContactPatch>,
}

/// `POST /v1/track`.
pub async fn track(
    state: State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    single(state, headers, body, "track").await
}

/// `POST /v1/identify`.
pub async fn identify(
    state: State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    single(state, headers, body, "identify").await
}

/// `POST /v1/page`.
pub async fn page(
    state: State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    single(state, headers, body, "page").await
}

/// `POST /v1/batch`.
pub async fn batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let outcome = async {
        let body = decoded(&headers, readable(body)?, state.settings.max_body_bytes)?;
        let batch: Batch = parse(&body)?;
        if batch.batch.len() > BATCH_MAX {
            return Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a batch holds at most {BATCH_MAX} messages"),
            )
            .into());
        }
        let messages = batch
            .batch
            .into_iter()
            .map(|message| {
                let kind = message.kind.clone().unwrap_or_default();
                (kind, message)
            })
            .collect();
        handle(&state, &headers, messages).await
    }
    .await;
    answer(outcome)
}

async fn single(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    kind: &str,
) -> Response {
    let outcome = async {
        let body = decoded(&headers, readable(body)?, state.settings.max_body_bytes)?;
        let message: SegmentCall = parse(&body)?;
        handle(&state, &headers, vec![(kind.to_owned(), message)])
            .await
            .map_err(|refused| Refused {
                index: None,
                ..refused
            })
    }
    .await;
    answer(outcome)
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    json_body(body, "the body is not valid")
}

/// `{"success": true}`, or a refusal as `{"success": false, "code", "message"}` (with the
/// `index` of the batch's message it concerns).
fn answer(outcome: Result<(), Refused>) -> Response {
    let Err(Refused { index, refusal }) = outcome else {
        return Json(json!({"success": true})).into_response();
    };
    let code = error_code(refusal.status);
    refusal.answer(|reason| match index {
        Some(index) => json!({"success": false, "code": code,
            "message": format!("message {index}: {reason}"), "index": index}),
        None => json!({"success": false, "code": code, "message": reason}),
    })
}

/// The account of the basic-auth write key.
async fn write_key_account(state: &AppState, headers: &HeaderMap) -> Result<AccountId, Refusal> {
    let unauthorized = || {
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            "send the event key as the basic-auth user name",
        )
    };
    let encoded = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or_else(unauthorized)?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| unauthorized())?;
    let decoded = String::from_utf8(decoded).map_err(|_| unauthorized())?;
    let key = decoded.split(':').next().unwrap_or_default();
    state
        .gate
        .account_for_event_key(&SecretString::from(key.to_owned()), state.now())
        .await?
        .ok_or_else(unauthorized)
}

/// A refusal of a whole request, or of the message of a batch at `index` (which refuses the
/// batch: nothing of it is recorded).
struct Refused {
    index: Option<usize>,
    refusal: Refusal,
}

impl<T: Into<Refusal>> From<T> for Refused {
    fn from(refusal: T) -> Self {
        Self {
            index: None,
            refusal: refusal.into(),
        }
    }
}

/// Says which message `why` concerns.
fn at(index: usize) -> impl FnOnce(Refusal) -> Refused {
    move |refusal| Refused {
        index: Some(index),
        refusal,
    }
}

/// Checks every message, then records them all in one commit, or refuses them all. Messages
/// that only add events of known contacts or visitors go through the group-commit writer;
/// those that identify someone or create a contact commit with their events in a transaction
/// of their own ([`Store::record_people_and_events`]).
async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    messages: Vec<(String, SegmentCall)>,
) -> Result<(), Refused> {
    let account = write_key_account(state, headers).await?;
    let rules = state
        .gate
        .rules(account)
        .await?
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "unknown account"))?;
    let now = state.now();
    let create = rules.settings.create_contacts;
    let mut people: Vec<NamedPerson> = Vec::new();
    let mut known: Vec<ContactId> = Vec::new();
    let mut events: Vec<PersonEvent> = Vec::new();
    for (index, (kind, message)) in messages.into_iter().enumerate() {
        let message = check(&rules, headers, account, &kind, message, now).map_err(at(index))?;
        let person = match message.email {
            Some(email) => {
                let found = state
                    .gate
                    .contact_for_email(account, &email, false, now)
                    .await
                    .map_err(|error| at(index)(error.into()))?;
                if found.is_some() || create {
                    known.extend(found);
                    people.push(NamedPerson {
                        email,
                        create,
                        traits: None,
                        visitors: Vec::new(),
                    });
                    Some(people.len() - 1)
                } else {
                    None
                }
            }
            None => None,
        };
        if message.kind == "identify" {
            // An identify of an email the account does not know, and may not create, names
            // nobody: as in ActiveCampaign, it records nothing.
            if let Some(person) = person.and_then(|index| people.get_mut(index)) {
                person.traits = message.traits;
                person.visitors.extend(message.visitor);
            }
            continue;
        }
        if person.is_none() && message.visitor.is_none() {
            return Err(at(index)(Refusal::new(
                StatusCode::NOT_FOUND,
                "the message names no known contact and no anonymousId",
            )));
        }
        events.extend(message.event.map(|event| (person, event)));
    }
    let only_events = known.len() == people.len()
        && people
            .iter()
            .all(|person| person.traits.is_none() && person.visitors.is_empty());
    if only_events {
        let events = events
            .into_iter()
            .map(|(person, mut event)| {
                event.contact = person.map(|index| known[index]);
                event
            })
            .collect::<Vec<_>>();
        if !events.is_empty() {
            state.ingest.record(events).await?;
        }
    } else {
        state
            .store
            .record_people_and_events(account, &people, events, now)
            .await?;
    }
    Ok(())
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The contact attributes among Segment's reserved traits: `firstName`, `lastName` (or
/// `first_name`, `last_name`, or `name` split at its first space) and `phone`; `None` when
/// there are none.
fn contact_traits(traits: Option<&Map<String, Value>>) -> Result<Option<ContactPatch>, Invalid> {
    let Some(traits) = traits else {
        return Ok(None);
    };
    let given = |keys: &[&str]| keys.iter().find_map(|key| text(traits.get(*key)));
    let full_name = given(&["name"]);
    let (first, last) = match full_name.as_deref().map(str::trim) {
        Some(name) => match name.split_once(' ') {
            Some((first, last)) => (Some(first.to_owned()), Some(last.trim().to_owned())),
            None => (Some(name.to_owned()), None),
        },
        None => (None, None),
    };
    let input = ContactInput {
        first_name: given(&["firstName", "first_name"]).or(first),
        last_name: given(&["lastName", "last_name"]).or(last),
        phone: given(&["phone"]),
        ..ContactInput::default()
    };
    if input == ContactInput::default() {
        return Ok(None);
    }
    input.into_patch().map(Some)
}

fn email_of(message: &SegmentCall) -> Result<Option<ContactEmail>, Invalid> {
    let in_map = |map: Option<&Map<String, Value>>| map?.get("email")?.as_str().map(str::to_owned);
    let context_traits = message
        .context
        .as_ref()
        .and_then(|c| c.get("traits"))
        .and_then(Value::as_object);
    let given = in_map(message.traits.as_ref())
        .or_else(|| in_map(message.properties.as_ref()))
        .or_else(|| in_map(context_traits));
    if let Some(email) = given {
        return ContactEmail::parse(&email).map(Some);
    }
    Ok(text(message.user_id.as_ref()).and_then(|id| ContactEmail::parse(&id).ok()))
}

fn check(
    rules: &Rules,
    headers: &HeaderMap,
    account: AccountId,
    kind: &str,
    message: SegmentCall,
    now: Timestamp,
) -> Result<Checked, Refusal> {
    let visitor = text(message.anonymous_id.as_ref())
        .map(|id| parse_visitor_key(&id))
        .transpose()?;
    let email = email_of(&message)?;
    let occurred_at = match message.timestamp.as_deref() {
        Some(raw) => Timestamp::parse_api(raw).ok_or_else(|| {
            Invalid::bad_value("timestamp", format!("'{raw}' is not an ISO-8601 time"))
        })?,
        None => now,
    };
    let message_id = message
        .message_id
        .as_deref()
        .map(parse_message_id)
        .transpose()?;
    let properties = message.properties.clone().unwrap_or_default();
    let context = Context::of(message.context.as_ref());
    let given = |key: &str| {
        properties
            .get(key)
            .and_then(Value::as_str)
            .or_else(|| context.page(key))
    };
    let referrer = given("referrer").and_then(PageUrl::referrer);
    let mut event = NewEvent {
        account,
        kind: EventKind::Custom,
        name: String::new(),
        visitor: visitor.clone(),
        contact: None::<ContactId>,
        page: None,
        site: None,
        referrer: None,
        title: None,
        device: None,
        data: None,
        message_id,
        link: None,
        source: None,
        occurred_at,
    };
    let kind: &'static str = match kind {
        "track" => {
            event.name = check_event_name(rules, message.event.as_deref().unwrap_or_default())?;
            // The page it happened on, when the context names a whitelisted one.
            if let Some(Ok((page, site))) = context
                .page("url")
                .map(|url| tracked_page(rules, Some(url)))
            {
                event.page = Some(page);
                event.site = Some(site);
                event.referrer = referrer;
            }
            event.device = context.device();
            if !properties.is_empty() {
                event.data = Some(parse_event_data(&Value::Object(properties).to_string())?);
            }
            "track"
        }
        "page" => {
            if !rules.settings.site_tracking {
                return Err(Refusal::new(
                    StatusCode::FORBIDDEN,
                    "site tracking is disabled for this account",
                ));
            }
            let (page, site) = tracked_page(rules, given("url"))?;
            event.kind = EventKind::PageVisit;
            event.name = PAGE_VISIT_NAME.to_owned();
            event.page = Some(page);
            event.site = Some(site);
            event.referrer = referrer;
            event.title = given("title").or(message.name.as_deref()).map(clip_title);
            event.device = Some(context.device_or_request(headers));
            "page"
        }
        "identify" => {
            if email.is_none() {
                return Err(Invalid::missing("email").into());
            }
            return Ok(Checked {
                kind: "identify",
                visitor,
                email,
                event: None,
                traits: contact_traits(message.traits.as_ref())?,
            });
        }
        other => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("unknown message type '{other}' (track, identify or page)"),
            ))
        }
    };
    Ok(Checked {
        kind,
        visitor,
        email,
        event: Some(event),
        traits: None,
    })
}
