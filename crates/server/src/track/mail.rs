//! What recipients of a campaign do with it: `GET /l/{token}` (a tracked link: the click is
//! recorded, then a 302 to the destination with the contact token `tl_cid` appended, so the
//! snippet identifies the visitor), `GET /o/{token}` (the open pixel) and `/u/{token}` (a page
//! with one button; `POST`, as RFC 8058's one-click `List-Unsubscribe-Post` does, unsubscribes
//! from the campaign's list at once).
//!
//! A token that is forged or altered gets a plain 404 page, never a redirect. Clicks and opens
//! that the scanner rules judge to be a machine's (known agents, HEAD and prefetch requests, a
//! click within seconds of delivery) are recorded as such (`machine:<reason>` in the event's
//! data) so that they can be kept out of unique counts, and run no link actions; a person's
//! click runs the link's actions before the redirect.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tracklane_core::cid::{LinkSubject, TokenSubject, OPEN_PIXEL, UNSUBSCRIBE};
use tracklane_core::event::{EventKind, NewEvent};
use tracklane_core::list::ListStatus;
use tracklane_core::scanner::{judge, ClickFacts, ScannerRules, Verdict};
use tracklane_core::time::Timestamp;
use tracklane_store::sends::OPEN_POSITION;
use url::Url;

use super::refusal::Refusal;
use crate::state::AppState;

/// How long the contact token appended to a redirect stays valid: 90 days.
const TOKEN_MICROS: i64 = 90 * 24 * 3600 * 1_000_000;

/// A transparent 1x1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The email tracking routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/l/{token}", get(click))
        .route("/o/{token}", get(open))
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe))
}

/// The plain 404 page of a link or form that names nothing.
pub(super) fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(include_str!("../../../../assets/pages/not-found.html")),
    )
        .into_response()
}

/// The answer to a request that could not be recorded.
fn refused(why: impl Into<Refusal>) -> Response {
    why.into()
        .answer(|reason| serde_json::json!({ "reason": reason }))
}

/// Whether the scanner rules take this request for a machine's, and why.
async fn machine_reason(
    state: &AppState,
    link: &LinkSubject,
    method: &Method,
    headers: &HeaderMap,
) -> Option<&'static str> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let sent_at = state
        .store
        .sent_at(link.campaign, link.contact)
        .await
        .ok()
        .flatten();
    let facts = ClickFacts {
        user_agent: text("user-agent").unwrap_or_default(),
        method_is_head: method == Method::HEAD,
        purpose_header: text("sec-purpose").or_else(|| text("purpose")),
        seconds_since_delivery: sent_at.map(|at| (state.now().0 - at.0) / 1_000_000),
        links_in_message: 0,
        distinct_links_clicked_within_window: 0,
        is_trap_link: false,
    };
    match judge(&ScannerRules::default(), &facts) {
        Verdict::Person => None,
        Verdict::Machine(reason) => Some(reason.as_str()),
    }
}

async fn record(
    state: &AppState,
    link: &LinkSubject,
    kind: EventKind,
    name: &str,
    data: String,
) -> Result<(), Refusal> {
    let event = NewEvent::of_contact(
        link.account,
        kind,
        name,
        link.contact,
        Some(data),
        state.now(),
    );
    state.ingest.record(vec![event]).await?;
    Ok(())
}

/// The destination with the contact token `tl_cid` of `subject` appended, so that the snippet
/// on the landing page identifies the visitor.
pub(super) fn landing(
    state: &AppState,
    subject: TokenSubject,
    destination: &str,
) -> Option<String> {
    let mut url = Url::parse(destination).ok()?;
    let expires = Timestamp(state.now().0.saturating_add(TOKEN_MICROS));
    let token = state.token_key.seal(subject, expires).ok()?;
    url.query_pairs_mut().append_pair("tl_cid", &token);
    Some(url.into())
}

/// `GET /l/{token}`: records the click, then redirects (302).
async fn click(
    State(state): State<AppState>,
    Path(token): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let Some(link) = state.token_key.open_link(&token).filter(|l| l.target >= 0) else {
        return not_found();
    };
    let destination = match state
        .store
        .campaign_link_url(link.account, link.campaign, link.target)
        .await
    {
        Ok(Some(url)) => url,
        Ok(None) => return not_found(),
        Err(error) => return refused(error),
    };
    let subject = TokenSubject {
        account: link.account,
        contact: link.contact,
    };
    let Some(location) = landing(&state, subject, &destination) else {
        return not_found();
    };
    let verdict = machine_reason(&state, &link, &method, &headers).await;
    let counted = state
        .store
        .record_link_click(
            link.account,
            link.campaign,
            link.target,
            link.contact,
            verdict,
            state.now(),
        )
        .await;
    if let Err(error) = counted {
        return refused(error);
    }
    let data = match verdict {
        Some(reason) => format!("{destination} machine:{reason}"),
        None => destination.clone(),
    };
    if let Err(refusal) = record(&state, &link, EventKind::Click, "__click", data).await {
        return refused(refusal);
    }
    if verdict.is_none() {
        let applied = state
            .store
            .apply_link_actions(
                link.account,
                link.campaign,
                &destination,
                link.contact,
                state.now(),
            )
            .await;
        if let Err(error) = applied {
            return refused(error);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// `GET /o/{token}`: records the open and answers the pixel (even for a bad token).
async fn open(
    State(state): State<AppState>,
    Path(token): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    if let Some(link) = state
        .token_key
        .open_link(&token)
        .filter(|l| l.target == OPEN_PIXEL)
    {
        let verdict = machine_reason(&state, &link, &method, &headers).await;
        let counted = state
            .store
            .record_link_click(
                link.account,
                link.campaign,
                OPEN_POSITION,
                link.contact,
                verdict,
                state.now(),
            )
            .await;
        if let Err(error) = counted {
            tracing::warn!(error = ?error, "an open was not counted");
        }
        let data = match verdict {
            Some(reason) => format!("campaign:{} machine:{reason}", link.campaign),
            None => format!("campaign:{}", link.campaign),
        };
        if let Err(refusal) = record(&state, &link, EventKind::Open, "__open", data).await {
            tracing::warn!(reason = %refusal.reason, "an open was not recorded");
        }
    }
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store, max-age=0"),
        ],
        PIXEL,
    )
        .into_response()
}

fn unsubscribe_link(state: &AppState, token: &str) -> Option<LinkSubject> {
    state
        .token_key
        .open_link(token)
        .filter(|l| l.target == UNSUBSCRIBE)
}

/// `GET /u/{token}`: a page with one button, so that a scanner following links unsubscribes
/// nobody.
async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match unsubscribe_link(&state, &token) {
        Some(_) => Html(include_str!("../../../../assets/pages/unsubscribe.html")).into_response(),
        None => not_found(),
    }
}

/// `POST /u/{token}` (one-click, RFC 8058): unsubscribes from the campaign's list at once.
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(link) = unsubscribe_link(&state, &token) else {
        return not_found();
    };
    let outcome = async {
        let campaign = state
            .store
            .existing_campaign(link.account, link.campaign)
            .await?;
        state
            .store
            .set_list_status(
                link.account,
                link.contact,
                campaign.list,
                ListStatus::Unsubscribed,
                0,
                state.now(),
            )
            .await?;
        let data = format!("campaign:{} list:{}", campaign.id, campaign.list);
        record(&state, &link, EventKind::Unsubscribe, "__unsubscribe", data).await
    }
    .await;
    match outcome {
        Ok(()) => Html(include_str!("../../../../assets/pages/unsubscribed.html")).into_response(),
        Err(refusal) => refused(refusal),
    }
}
