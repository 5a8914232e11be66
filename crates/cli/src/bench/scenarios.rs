//! What each scenario requests: its path, its body and credentials, how many events one
//! accepted request records, and what a response must say to count as accepted. `send` is the
//! odd one: no load clients, one campaign timed from its send request to its completion (see
//! [`super::send`]).
//!
//! Bodies are formatted straight into strings (no `serde_json::Value` per request): the load
//! clients share the machine with the server, so every microsecond they spend is one the
//! server does not get.

use reqwest::StatusCode;
use secrecy::ExposeSecret;

use super::load::Target;

/// The whitelisted domain the `collect` pages are on.
pub const BENCH_DOMAIN: &str = "bench.example.com";
/// The whitelisted event name of `event` and `batch`.
pub const EVENT_NAME: &str = "bench";
/// How many contacts the set-up creates for `event`, `batch` and `tag`.
pub const CONTACTS: u64 = 100;
/// How many tags the set-up creates for `tag`: with the contacts, 100,000 distinct taggings.
pub const TAGS: u64 = 1_000;
/// Track messages in one `batch` request.
pub const BATCH_SIZE: u64 = 100;
/// The user agent of `click`: a desktop browser, so that the scanner rules see a person.
pub const BROWSER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \
                                 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// A benchmarked request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Scenario {
    /// `POST /_bench/noop`: the cost of HTTP, routing and the middleware alone.
    Noop,
    /// `POST /api/3/contact/sync` creating a new contact.
    #[value(name = "sync")]
    ContactSync,
    /// `POST /c`: a page view from the snippet.
    Collect,
    /// `POST /event`: an ActiveCampaign-style event for a known contact.
    Event,
    /// `POST /v1/batch`: 100 Segment-style track messages per request.
    Batch,
    /// `POST /api/3/contactTags`: a tag put on a bench contact that did not carry it.
    Tag,
    /// `GET /l/{token}`: a person's click on a campaign's tracked link, answered 302.
    Click,
    /// A campaign sent to `--recipients` contacts, timed until it is complete.
    Send,
}

impl Scenario {
    /// Every scenario, the baseline first.
    pub const ALL: [Self; 8] = [
        Self::Noop,
        Self::ContactSync,
        Self::Collect,
        Self::Event,
        Self::Batch,
        Self::Tag,
        Self::Click,
        Self::Send,
    ];

    /// The name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Self::Noop => "POST /_bench/noop",
            Self::ContactSync => "POST /api/3/contact/sync",
            Self::Collect => "POST /c",
            Self::Event => "POST /event",
            Self::Batch => "POST /v1/batch (x100)",
            Self::Tag => "POST /api/3/contactTags",
            Self::Click => "GET /l/{token}",
            Self::Send => "campaign send",
        }
    }

    /// The path requested.
    pub fn path(self) -> &'static str {
        match self {
            Self::Noop => "/_bench/noop",
            Self::ContactSync => "/api/3/contact/sync",
            Self::Collect => "/c",
            Self::Event => "/event",
            Self::Batch => "/v1/batch",
            Self::Tag => "/api/3/contactTags",
            Self::Click => "/l/",
            Self::Send => "/api/3/campaigns",
        }
    }

    /// Events one accepted request records; `None` for the scenarios that record none.
    pub fn events_per_request(self) -> Option<u64> {
        match self {
            Self::Noop | Self::ContactSync | Self::Tag | Self::Send => None,
            Self::Collect | Self::Event | Self::Click => Some(1),
            Self::Batch => Some(BATCH_SIZE),
        }
    }

    /// Client `client`'s request number `n` to `target`, ready to send.
    pub fn request(self, target: &Target, client: u32, n: u64) -> reqwest::RequestBuilder {
        let (http, url, keys) = (&target.client, &target.url, &target.keys);
        if self == Self::Click {
            // The clients take turns through the tokens, so all recipients click in a round.
            let tokens = &target.link_tokens;
            let turn = n * u64::from(target.clients) + u64::from(client);
            let index = usize::try_from(turn % tokens.len().max(1) as u64).unwrap_or_default();
            let token = tokens.get(index).map_or("", String::as_str);
            return http
                .get(format!("{url}{token}"))
                .header(reqwest::header::USER_AGENT, BROWSER_AGENT);
        }
        let (content_type, body) = match self {
            Self::Noop | Self::Click | Self::Send => {
                ("application/json", r#"{"bench":true}"#.to_owned())
            }
            Self::ContactSync => ("application/json", sync_body(client, n)),
            // The snippet posts `text/plain` so that browsers send no CORS preflight.
            Self::Collect => ("text/plain", collect_body(keys.actid, client, n)),
            Self::Event => (
                "application/x-www-form-urlencoded",
                event_form(keys.actid, keys.event_key.expose_secret(), client, n),
            ),
            Self::Batch => ("application/json", batch_body(client, n)),
            Self::Tag => ("application/json", tag_body(target, client, n)),
        };
        let request = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        match self {
            Self::ContactSync | Self::Tag => {
                request.header("Api-Token", keys.api_key.expose_secret())
            }
            Self::Batch => request.basic_auth(keys.event_key.expose_secret(), None::<&str>),
            Self::Noop | Self::Collect | Self::Event | Self::Click | Self::Send => request,
        }
    }

    /// Whether a response counts as accepted: the redirect (302) for `click`; for the others,
    /// a 2xx whose body says the request was recorded (the collector answers 202 without
    /// recording when the browser asks not to be tracked).
    pub fn accepted(self, status: StatusCode, body: &[u8]) -> bool {
        if self == Self::Click {
            return status == StatusCode::FOUND;
        }
        let says = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
        status.is_success()
            && match self {
                Self::Noop | Self::ContactSync | Self::Tag | Self::Click | Self::Send => true,
                Self::Collect => says(br#""recorded":true"#),
                Self::Event => says(br#""success":1"#),
                Self::Batch => says(br#""success":true"#),
            }
    }
}

/// The scenarios to run: those asked for (all but `send`, which takes minutes, when none is),
/// in [`Scenario::ALL`]'s order, each once, always with the baseline.
pub fn selected(requested: &[Scenario]) -> Vec<Scenario> {
    let chosen = |s: Scenario| match requested {
        [] => s != Scenario::Send,
        _ => s == Scenario::Noop || requested.contains(&s),
    };
    Scenario::ALL.into_iter().filter(|&s| chosen(s)).collect()
}

/// The email of bench contact `i` (modulo [`CONTACTS`]).
pub fn contact_email(i: u64) -> String {
    format!("tracked-{}@{BENCH_DOMAIN}", i % CONTACTS)
}

/// A `contact/sync` body with an email no other request uses: each one is a real insert.
fn sync_body(client: u32, n: u64) -> String {
    format!(
        r#"{{"contact":{{"email":"bench-{client}-{n}@example.com","firstName":"Bench","lastName":"User"}}}}"#
    )
}

/// The visitor id (the snippet's first-party cookie) of a client: one visitor per client.
fn visitor_id(client: u32) -> String {
    format!("bench-visitor-{client:04}")
}

/// A snippet hit: client `client`'s visitor views page `n`.
fn collect_body(actid: i64, client: u32, n: u64) -> String {
    let visitor = visitor_id(client);
    format!(
        r#"{{"a":"{actid}","v":"{visitor}","u":"https://{BENCH_DOMAIN}/page/{n}","r":"","t":"Bench"}}"#
    )
}

/// A `POST /event` form: event `bench` with data `n`, for a bench contact that changes with
/// every request.
fn event_form(actid: i64, event_key: &str, client: u32, n: u64) -> String {
    let visit = format!(r#"{{"email":"{}"}}"#, contact_email(u64::from(client) + n));
    form_urlencoded::Serializer::new(String::new())
        .append_pair("actid", &actid.to_string())
        .append_pair("key", event_key)
        .append_pair("event", EVENT_NAME)
        .append_pair("eventdata", &n.to_string())
        .append_pair("visit", &visit)
        .finish()
}

/// A `contactTags` body: the clients take turns through every (contact, tag) pair, so that
/// each request puts a tag on a contact that did not carry it (until 100,000 requests).
fn tag_body(target: &Target, client: u32, n: u64) -> String {
    let turn = n * u64::from(target.clients) + u64::from(client);
    let (contacts, tags) = (&target.tagging.contacts, &target.tagging.tags);
    let pick = |ids: &[i64], index: u64| {
        let at = usize::try_from(index % ids.len().max(1) as u64).unwrap_or_default();
        ids.get(at).copied().unwrap_or_default()
    };
    let contact = pick(contacts, turn);
    let tag = pick(tags, turn / contacts.len().max(1) as u64);
    format!(r#"{{"contactTag":{{"contact":"{contact}","tag":"{tag}"}}}}"#)
}

/// A `/v1/batch` body of [`BATCH_SIZE`] track messages, one per bench contact in turn, each
/// with its own `properties.n`.
fn batch_body(client: u32, n: u64) -> String {
    let mut body = String::with_capacity(64 + 100 * BATCH_SIZE as usize);
    body.push_str(r#"{"batch":["#);
    for i in 0..BATCH_SIZE {
        if i > 0 {
            body.push(',');
        }
        let email = contact_email(u64::from(client) + i);
        let number = n * BATCH_SIZE + i;
        body.push_str(&format!(
            r#"{{"type":"track","event":"{EVENT_NAME}","userId":"{email}","properties":{{"n":{number}}}}}"#
        ));
    }
    body.push_str("]}");
    body
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn sync_bodies_carry_unique_emails() {
        let first: Value = serde_json::from_str(&sync_body(3, 7)).unwrap();
        let second: Value = serde_json::from_str(&sync_body(3, 8)).unwrap();
        assert_eq!(first["contact"]["email"], "bench-3-7@example.com");
        assert_ne!(first["contact"]["email"], second["contact"]["email"]);
    }

    #[test]
    fn collect_bodies_are_snippet_hits_on_the_bench_domain() {
        let hit: Value = serde_json::from_str(&collect_body(1, 5, 9)).unwrap();
        assert_eq!(hit["a"], "1");
        assert_eq!(hit["u"], "https://bench.example.com/page/9");
        let visitor = hit["v"].as_str().unwrap();
        assert!((8..=64).contains(&visitor.len()));
        assert!(visitor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        let other: Value = serde_json::from_str(&collect_body(1, 6, 9)).unwrap();
        assert_ne!(hit["v"], other["v"], "each client is its own visitor");
    }

    #[test]
    fn event_forms_carry_the_ac_fields() {
        let form = event_form(1, "k&y", 2, 40);
        let fields: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        let field = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(field("actid"), Some("1"));
        assert_eq!(field("key"), Some("k&y"));
        assert_eq!(field("event"), Some("bench"));
        assert_eq!(field("eventdata"), Some("40"));
        let visit: Value = serde_json::from_str(field("visit").unwrap()).unwrap();
        assert_eq!(visit["email"], "tracked-42@bench.example.com");
    }

    #[test]
    fn batch_bodies_hold_a_hundred_track_messages_for_bench_contacts() {
        let body: Value = serde_json::from_str(&batch_body(250, 3)).unwrap();
        let messages = body["batch"].as_array().unwrap();
        assert_eq!(messages.len(), 100);
        for (i, message) in messages.iter().enumerate() {
            assert_eq!(message["type"], "track");
            assert_eq!(message["event"], "bench");
            assert_eq!(message["properties"]["n"], 300 + i);
            let email = message["userId"].as_str().unwrap();
            let index: u64 = email
                .strip_prefix("tracked-")
                .and_then(|rest| rest.strip_suffix("@bench.example.com"))
                .and_then(|index| index.parse().ok())
                .unwrap();
            assert!(index < CONTACTS);
        }
    }

    #[test]
    fn only_tracking_scenarios_record_events() {
        assert_eq!(Scenario::Noop.events_per_request(), None);
        assert_eq!(Scenario::ContactSync.events_per_request(), None);
        assert_eq!(Scenario::Collect.events_per_request(), Some(1));
        assert_eq!(Scenario::Event.events_per_request(), Some(1));
        assert_eq!(Scenario::Batch.events_per_request(), Some(100));
        assert_eq!(Scenario::Click.events_per_request(), Some(1));
        assert_eq!(Scenario::Send.events_per_request(), None);
    }

    #[test]
    fn the_baseline_is_always_selected_and_first() {
        assert_eq!(selected(&[]), Scenario::ALL[..7].to_vec(), "all but send");
        assert_eq!(
            selected(&[Scenario::Send]),
            [Scenario::Noop, Scenario::Send]
        );
        assert_eq!(
            selected(&[Scenario::Batch, Scenario::Collect, Scenario::Batch]),
            [Scenario::Noop, Scenario::Collect, Scenario::Batch]
        );
    }

    #[test]
    fn only_recorded_answers_are_accepted() {
        let ok = StatusCode::OK;
        assert!(Scenario::Collect.accepted(StatusCode::ACCEPTED, br#"{"recorded":true}"#));
        assert!(!Scenario::Collect.accepted(ok, br#"{"recorded":false,"reason":"dnt"}"#));
        assert!(Scenario::Event.accepted(ok, br#"{"success":1,"message":"Event spawned"}"#));
        assert!(!Scenario::Event.accepted(ok, br#"{"success":0,"message":"no"}"#));
        assert!(Scenario::Batch.accepted(ok, br#"{"success":true}"#));
        assert!(Scenario::Noop.accepted(ok, b"{}"));
        assert!(!Scenario::Noop.accepted(StatusCode::SERVICE_UNAVAILABLE, b"{}"));
    }

    #[test]
    fn only_the_redirect_accepts_a_click() {
        assert!(Scenario::Click.accepted(StatusCode::FOUND, b""));
        assert!(!Scenario::Click.accepted(StatusCode::OK, b""));
        assert!(!Scenario::Click.accepted(StatusCode::NOT_FOUND, b"<html>"));
    }
}
