//! The collector the snippet sends page views to: `POST /c` with a small JSON body (sent by
//! `sendBeacon` or `fetch` as `text/plain`, so no CORS preflight), or `GET /c?d=<json>` from an
//! image when neither exists. Answers `{"recorded":true}` once the visit is committed, or
//! `{"recorded":false,"reason":"..."}` with a status saying why not:
//! 400 unreadable, 403 tracking disabled or domain not whitelisted, 404 unknown account,
//! 413/422 bad values, 503 busy (with `Retry-After`). Do-Not-Track and Global Privacy Control,
//! when the account honours them, are answered 202 and not recorded.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use tracklane_core::cid::TOKEN_PARAM;
use tracklane_core::device::Device;
use tracklane_core::email::ContactEmail;
use tracklane_core::event::{EventKind, NewEvent, PAGE_VISIT_NAME};
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::visit::{clip_title, domain_is_tracked, parse_visitor_key, PageUrl};

use super::gate::Rules;
use super::identify::contact_for_token;
use super::refusal::{json_body, readable, Refusal};
use crate::state::AppState;

/// What the snippet sends.
#[derive(Debug, Deserialize)]
pub struct Hit {
    /// The account id (`setAccount`).
    a: Option<serde_json::Value>,
    /// The visitor id (first-party cookie).
    v: Option<String>,
    /// The page URL.
    u: Option<String>,
    /// The referrer.
    r: Option<String>,
    /// The title.
    t: Option<String>,
    /// The email of `setEmail`.
    e: Option<String>,
    /// The contact token from the landing URL (`tl_cid`).
    c: Option<String>,
    /// `page` (default) or `identify`.
    k: Option<String>,
    /// 1 when the browser asks not to be tracked.
    dnt: Option<u8>,
}

/// `GET /c?d=<url-encoded JSON>`.
#[derive(Debug, Deserialize)]
pub struct HitQuery {
    d: Option<String>,
}

/// `POST /c`.
pub async fn collect_posted(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    answer(async { collect(&state, &headers, &readable(body)?).await }.await)
}

/// `GET /c?d=...`.
pub async fn collect_fetched(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HitQuery>,
) -> Response {
    let body = query.d.unwrap_or_default();
    answer(collect(&state, &headers, body.as_bytes()).await)
}

fn answer(outcome: Result<(), Refusal>) -> Response {
    match outcome {
        Ok(()) => axum::response::IntoResponse::into_response(Json(json!({"recorded": true}))),
        Err(refusal) => refusal.answer(|reason| json!({"recorded": false, "reason": reason})),
    }
}

/// Reads an account id given as a number or a string of digits.
pub fn account_id(raw: Option<&serde_json::Value>) -> Result<AccountId, Refusal> {
    let id = match raw {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    id.map(AccountId)
        .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "the account id (a) is missing"))
}

/// The account's rules, refusing unknown accounts and disabled site tracking.
pub async fn site_rules(
    state: &AppState,
    account: AccountId,
) -> Result<std::sync::Arc<Rules>, Refusal> {
    let rules = state
        .gate
        .rules(account)
        .await?
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "unknown account"))?;
    if !rules.settings.site_tracking {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "site tracking is disabled for this account",
        ));
    }
    Ok(rules)
}

/// Whether the browser asks not to be tracked, by header or by the snippet's flag.
fn asks_not_to_be_tracked(headers: &HeaderMap, flag: Option<u8>) -> bool {
    let header_is_one = |name: &str| headers.get(name).is_some_and(|v| v.as_bytes() == b"1");
    flag == Some(1) || header_is_one("dnt") || header_is_one("sec-gpc")
}

/// The page and the whitelisted domain it belongs to. The contact token (`tl_cid`) a landing
/// page's address may still carry is never stored.
pub fn tracked_page(rules: &Rules, raw_url: Option<&str>) -> Result<(PageUrl, String), Refusal> {
    let page = PageUrl::parse("url", raw_url.unwrap_or_default())?.without_param(TOKEN_PARAM);
    let site = rules
        .domains
        .iter()
        .find(|allowed| domain_is_tracked(&page.domain, [allowed.as_str()]))
        .cloned()
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::FORBIDDEN,
                format!("{} is not a whitelisted domain", page.domain),
            )
        })?;
    Ok((page, site))
}

/// The device of the request's user agent.
pub fn device_of(headers: &HeaderMap) -> Device {
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Device::of_user_agent(user_agent)
}

async fn collect(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let hit: Hit = json_body(body, "the body is not a JSON object")?;
    let account = account_id(hit.a.as_ref())?;
    let rules = site_rules(state, account).await?;
    if rules.settings.honor_do_not_track && asks_not_to_be_tracked(headers, hit.dnt) {
        return Err(Refusal::new(
            StatusCode::ACCEPTED,
            "the browser asks not to be tracked",
        ));
    }
    let visitor = parse_visitor_key(hit.v.as_deref().unwrap_or_default())?;
    let now = state.now();
    let mut contact: Option<ContactId> = None;
    if let Some(token) = hit.c.as_deref().filter(|t| !t.is_empty()) {
        contact = contact_for_token(&state.store, &state.token_key, account, token, now).await?;
    }
    if let Some(email) = hit.e.as_deref().filter(|e| !e.trim().is_empty()) {
        let email = ContactEmail::parse(email)?;
        let create = rules.settings.create_contacts;
        contact = contact.or(state
            .gate
            .contact_for_email(account, &email, create, now)
            .await?);
    }
    if hit.k.as_deref() == Some("identify") {
        if let Some(contact) = contact {
            state
                .store
                .identify_visitor(account, &visitor, contact, now)
                .await?;
        }
        return Ok(());
    }
    let (page, site) = tracked_page(&rules, hit.u.as_deref())?;
    let referrer = hit
        .r
        .as_deref()
        .filter(|r| !r.is_empty())
        .and_then(PageUrl::referrer);
    let event = NewEvent {
        account,
        kind: EventKind::PageVisit,
        name: PAGE_VISIT_NAME.to_owned(),
        visitor: Some(visitor),
        contact,
        page: Some(page),
        site: Some(site),
        referrer,
        title: hit.t.as_deref().map(clip_title).filter(|t| !t.is_empty()),
        device: Some(device_of(headers)),
        data: None,
        message_id: None,
        link: None,
        source: None,
        occurred_at: now,
    };
    state.ingest.record(vec![event]).await?;
    Ok(())
}
