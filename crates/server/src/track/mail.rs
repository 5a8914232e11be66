//! What recipients of a campaign do with it: `GET /l/{token}` (a tracked link: the click is
//! recorded, then a 302 to the destination with the contact token `tl_cid` appended, so the
//! snippet identifies the visitor), `GET /o/{token}` (the open pixel) and `/u/{token}` (a page
//! with one button; `POST`, as RFC 8058's one-click `List-Unsubscribe-Post` does, unsubscribes
//! from the campaign's list at once).
//!
//! A token that is forged or altered gets a plain 404 page, never a redirect; so does a genuine
//! token whose contact is not its campaign's account's, which counts nowhere and runs nothing. A
//! contact deleted since the mail was sent does not break its links: a click still redirects
//! (without `tl_cid`), the hit is counted without a contact and runs no action, and unsubscribe
//! answers as done. Clicks and opens
//! that the account's scanner rules ([`tracklane_core::scanner`]) judge to be a machine's are
//! recorded as such (`machine:<reason>` in the event's data) and counted apart in the campaign's
//! statistics, in the same commit as the event; they run no link actions. A person's click runs
//! the link's actions before the redirect. Each message carries a hidden trap link (`/l/` with
//! the [`TRAP_LINK`] target) that only machines follow.

use std::net::IpAddr;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tracklane_core::cid::{
    LinkSubject, TokenSubject, OPEN_PIXEL, TOKEN_PARAM, TRAP_LINK, UNSUBSCRIBE,
};
use tracklane_core::event::{EventKind, LinkHit, NewEvent};
use tracklane_core::ids::ContactId;
use tracklane_core::list::ListStatus;
use tracklane_core::message::Campaign;
use tracklane_core::scanner::{judge, ClickFacts, Reason, Verdict};
use tracklane_core::time::Timestamp;
use tracklane_core::visit::PageUrl;
use tracklane_core::webhook::event::WebhookSource;
use tracklane_store::StoreError;
use url::Url;

use super::refusal::Refusal;
use crate::client_ip::ClientIp;
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

/// A recipient's hit on a campaign's link (a click, an open, the trap link) as the scanner
/// rules judged it.
struct Hit {
    /// The link's destination, for a click on a tracked link.
    url: Option<String>,
    /// Whether the link has actions to run for a person.
    has_actions: bool,
    /// Why a machine made it, when one did.
    machine: Option<Reason>,
    /// The start of the "every link at once" window, when this hit closed it: the recipient's
    /// hits since then were a machine's too.
    machine_since: Option<Timestamp>,
    /// The recipient's contact; `None` when it was deleted since the mail was sent: the hit
    /// is then counted without a contact, and runs nothing.
    contact: Option<ContactId>,
}

impl Hit {
    /// The hit as the campaign's statistics count it.
    fn counted(&self, link: &LinkSubject) -> LinkHit {
        LinkHit {
            campaign: link.campaign,
            position: link.target,
            machine: self.machine.map(Reason::as_str),
            machine_since: self.machine_since,
        }
    }

    /// The event's data: `what`, then the scanner's decision when a machine made the hit.
    fn data(&self, what: &str) -> String {
        match self.machine {
            Some(reason) => format!("{what} machine:{}", reason.as_str()),
            None => what.to_owned(),
        }
    }
}

/// Judges a hit on `link` with the account's scanner rules; `None` when the account or the
/// campaign is gone.
async fn judge_hit(
    state: &AppState,
    link: &LinkSubject,
    method: &Method,
    headers: &HeaderMap,
    client: IpAddr,
) -> Result<Option<Hit>, Refusal> {
    let Some(rules) = state.gate.rules(link.account).await? else {
        return Ok(None);
    };
    let scanner = &rules.email.scanner;
    let now = state.now();
    let window = i64::from(scanner.all_links_within_ms.unwrap_or_default()) * 1000;
    let window_start = Timestamp(now.0.saturating_sub(window));
    let context = state
        .store
        .click_context(
            link.account,
            link.campaign,
            link.contact,
            link.target,
            window_start,
        )
        .await?;
    let Some(context) = context else {
        return Ok(None);
    };
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let seconds_since = |at: Timestamp| (now.0 - at.0) / 1_000_000;
    let facts = ClickFacts {
        user_agent: text("user-agent").unwrap_or_default(),
        method_is_head: method == Method::HEAD,
        purpose_header: text("sec-purpose").or_else(|| text("purpose")),
        seconds_since_delivery: context.sent_at.map(seconds_since),
        links_in_message: if link.target >= 0 {
            context.links_in_message
        } else {
            0
        },
        distinct_links_clicked_within_window: context.other_links_clicked_since + 1,
        is_trap_link: link.target == TRAP_LINK,
        seconds_since_trap: context.trap_followed_at.map(seconds_since),
        client_ip: Some(client),
    };
    let machine = match judge(scanner, &facts) {
        Verdict::Person => None,
        Verdict::Machine(reason) => Some(reason),
    };
    Ok(Some(Hit {
        url: context.url,
        has_actions: context.has_actions,
        machine,
        machine_since: (machine == Some(Reason::EveryLinkAtOnce)).then_some(window_start),
        contact: (!context.contact_deleted).then_some(link.contact),
    }))
}

/// Records `name` on the timeline of `contact` (none when it was deleted: the campaign's
/// statistics still count the hit), with the campaign's count of the hit.
async fn record(
    state: &AppState,
    link: &LinkSubject,
    contact: Option<ContactId>,
    (kind, name): (EventKind, &str),
    data: String,
    hit: LinkHit,
    clicked: Option<&str>,
) -> Result<(), Refusal> {
    let mut event = NewEvent::of_contact(
        link.account,
        kind,
        name,
        link.contact,
        Some(data),
        state.now(),
    );
    event.contact = contact;
    event.link = Some(hit);
    // A click's destination is its row's URL, for segments that test which link was clicked.
    event.page = clicked.and_then(|url| PageUrl::parse("url", url).ok());
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
    url.query_pairs_mut().append_pair(TOKEN_PARAM, &token);
    Some(url.into())
}

/// `GET /l/{token}`: records the click, runs the link's actions when a person made it, then
/// redirects (302). The hidden trap link answers an empty page.
async fn click(
    State(state): State<AppState>,
    Path(token): Path<String>,
    method: Method,
    headers: HeaderMap,
    ClientIp(client): ClientIp,
) -> Response {
    let Some(link) = state
        .token_key
        .open_link(&token)
        .filter(|l| l.target >= 0 || l.target == TRAP_LINK)
    else {
        return not_found();
    };
    let hit = match judge_hit(&state, &link, &method, &headers, client).await {
        Ok(Some(hit)) => hit,
        Ok(None) => return not_found(),
        Err(refusal) => return refused(refusal),
    };
    if link.target == TRAP_LINK {
        let recorded = record(
            &state,
            &link,
            hit.contact,
            (EventKind::Click, "__click"),
            hit.data(&format!("campaign:{} trap", link.campaign)),
            hit.counted(&link),
            None,
        )
        .await;
        return match recorded {
            Ok(()) => (StatusCode::OK, Html("")).into_response(),
            Err(refusal) => refused(refusal),
        };
    }
    let Some(destination) = hit.url.clone() else {
        return not_found();
    };
    let location = match hit.contact {
        Some(contact) => {
            let subject = TokenSubject {
                account: link.account,
                contact,
            };
            landing(&state, subject, &destination)
        }
        // Nobody to identify: the destination as it is.
        None => Url::parse(&destination).ok().map(String::from),
    };
    let Some(location) = location else {
        return not_found();
    };
    let recorded = record(
        &state,
        &link,
        hit.contact,
        (EventKind::Click, "__click"),
        hit.data(&destination),
        hit.counted(&link),
        Some(&destination),
    )
    .await;
    if let Err(refusal) = recorded {
        return refused(refusal);
    }
    if let (None, true, Some(contact)) = (hit.machine, hit.has_actions, hit.contact) {
        let applied = state
            .store
            .apply_link_actions(
                link.account,
                link.campaign,
                &destination,
                contact,
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
    ClientIp(client): ClientIp,
) -> Response {
    if let Some(link) = state
        .token_key
        .open_link(&token)
        .filter(|l| l.target == OPEN_PIXEL)
    {
        let recorded = async {
            let Some(hit) = judge_hit(&state, &link, &method, &headers, client).await? else {
                return Ok(());
            };
            let data = hit.data(&format!("campaign:{}", link.campaign));
            record(
                &state,
                &link,
                hit.contact,
                (EventKind::Open, "__open"),
                data,
                hit.counted(&link),
                None,
            )
            .await
        };
        if let Err(refusal) = recorded.await {
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

/// Who an unsubscribe token names.
enum Unsubscriber {
    /// A contact of the campaign's account, and the campaign.
    Contact(LinkSubject, Box<Campaign>),
    /// A contact deleted since the mail was sent: nobody is left to unsubscribe.
    Deleted,
}

/// Who an unsubscribe token names; `None`, as for a forged token, unless the token is genuine,
/// its campaign is its account's, and its contact is that account's or deleted since.
async fn unsubscriber(state: &AppState, token: &str) -> Result<Option<Unsubscriber>, Refusal> {
    let Some(link) = state
        .token_key
        .open_link(token)
        .filter(|l| l.target == UNSUBSCRIBE)
    else {
        return Ok(None);
    };
    let campaign = match state
        .store
        .existing_campaign(link.account, link.campaign)
        .await
    {
        Ok(campaign) => campaign,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    Ok(match state.store.contact_account(link.contact).await? {
        Some(owner) if owner == link.account => {
            Some(Unsubscriber::Contact(link, Box::new(campaign)))
        }
        Some(_) => None,
        None => Some(Unsubscriber::Deleted),
    })
}

/// `GET /u/{token}`: a page with one button, so that a scanner following links unsubscribes
/// nobody.
async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match unsubscriber(&state, &token).await {
        Ok(Some(_)) => {
            Html(include_str!("../../../../assets/pages/unsubscribe.html")).into_response()
        }
        Ok(None) => not_found(),
        Err(refusal) => refused(refusal),
    }
}

/// `POST /u/{token}` (one-click, RFC 8058): unsubscribes from the campaign's list at once (from
/// every list, for a campaign to a segment alone). A contact deleted since is answered as
/// unsubscribed: there is nothing left to send to.
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let done = || Html(include_str!("../../../../assets/pages/unsubscribed.html")).into_response();
    let (link, campaign) = match unsubscriber(&state, &token).await {
        Ok(Some(Unsubscriber::Contact(link, campaign))) => (link, campaign),
        Ok(Some(Unsubscriber::Deleted)) => return done(),
        Ok(None) => return not_found(),
        Err(refusal) => return refused(refusal),
    };
    let outcome = async {
        let (store, account, contact, now) =
            (&state.store, link.account, link.contact, state.now());
        let lists = match campaign.list {
            Some(list) => {
                let unsubscribed = ListStatus::Unsubscribed;
                store
                    .set_list_status(
                        account,
                        contact,
                        list,
                        unsubscribed,
                        0,
                        Some(WebhookSource::Public),
                        now,
                    )
                    .await?;
                vec![list]
            }
            None => {
                store
                    .unsubscribe_from_every_list(account, contact, now)
                    .await?
            }
        };
        let lists: String = lists.iter().map(|list| format!(" list:{list}")).collect();
        let data = format!("campaign:{}{lists}", campaign.id);
        let hit = LinkHit {
            campaign: campaign.id,
            position: UNSUBSCRIBE,
            machine: None,
            machine_since: None,
        };
        record(
            &state,
            &link,
            Some(link.contact),
            (EventKind::Unsubscribe, "__unsubscribe"),
            data,
            hit,
            None,
        )
        .await
    }
    .await;
    match outcome {
        Ok(()) => done(),
        Err(refusal) => refused(refusal),
    }
}
