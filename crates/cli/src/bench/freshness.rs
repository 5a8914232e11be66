//! Freshness of live membership under load, measured during the `event` scenario when
//! `--segments N` keeps segments live: how long from an event's commit to the transition it
//! causes on the membership stream, and how late a window's exit fires after its exact
//! boundary.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError};
use tracklane_core::event::{EventKind, NewEvent};
use tracklane_core::ids::{AccountId, ContactId, SegmentId};
use tracklane_core::time::Timestamp;
use tracklane_server::workers::membership::Membership;
use tracklane_store::segments::members::Transition;
use tracklane_store::Store;

use super::campaign::Api;
use super::report::percentiles;

/// The event a probe records.
const PROBE_EVENT: &str = "bench probe";
/// The event dated to leave a window during the load.
const WINDOW_EVENT: &str = "bench window";
/// The probe segments' window, in hours.
const WINDOW_HOURS: i64 = 1;
/// Contacts whose window exits are timed.
const EXITS: i64 = 20;
/// How long a probe waits for its transition before counting it as missed.
const PATIENCE: Duration = Duration::from_secs(5);

/// The two probe segments, saved before the load.
pub struct Probes {
    entered: SegmentId,
    window: SegmentId,
}

/// What the probes measured.
pub struct Freshness {
    /// From each probe event's commit to its contact's entry, in ms.
    entries: Vec<f64>,
    /// Probes whose entry did not arrive within [`PATIENCE`].
    missed: usize,
    /// How late each window exit was published after its boundary, in ms.
    exits: Vec<f64>,
}

/// Saves the probe segments: "recorded the probe event", and "recorded the window event in
/// the last hour".
pub async fn save(api: &Api<'_>) -> anyhow::Result<Probes> {
    let save = async |name: &str, definition| {
        let segment = json!({"name": name, "definition": definition});
        anyhow::Ok(SegmentId(
            api.create("/segments", "segment", segment).await?,
        ))
    };
    Ok(Probes {
        entered: save("bench probe", json!({"event": {"name": PROBE_EVENT}})).await?,
        window: save(
            "bench window",
            json!({"event": {"name": WINDOW_EVENT, "within": {"hours": WINDOW_HOURS}}}),
        )
        .await?,
    })
}

/// Probes for `length`: one new contact at a time records the probe event and waits for its
/// entry, while [`EXITS`] contacts whose window event leaves the window during the load wait
/// for their exits.
pub async fn measure(
    api: &Api<'_>,
    store: &Store,
    membership: &Membership,
    probes: &Probes,
    length: Duration,
) -> anyhow::Result<Freshness> {
    let (entries, exits) = tokio::join!(
        entries(api, store, membership, probes.entered, length),
        exits(api, store, membership, probes.window, length)
    );
    let (entries, missed) = entries?;
    Ok(Freshness {
        entries,
        missed,
        exits: exits?,
    })
}

/// New contacts, one at a time for `length`, record the probe event: how long from its
/// commit to the contact's entry (ms), and how many entries did not arrive.
async fn entries(
    api: &Api<'_>,
    store: &Store,
    membership: &Membership,
    segment: SegmentId,
    length: Duration,
) -> anyhow::Result<(Vec<f64>, usize)> {
    let account = AccountId(api.keys.actid);
    let mut stream = membership.subscribe();
    let started = Instant::now();
    let (mut entries, mut missed) = (Vec::new(), 0);
    let mut probe = 0;
    while started.elapsed() < length {
        probe += 1;
        let contact = new_contact(api, &format!("probe-{probe}")).await?;
        let now = Timestamp::now();
        let event =
            NewEvent::of_contact(account, EventKind::Custom, PROBE_EVENT, contact, None, now);
        store.record_events(&[event], now).await?;
        let committed = Instant::now();
        match next(&mut stream, segment, contact, true, PATIENCE).await {
            Some(_) => entries.push(committed.elapsed().as_secs_f64() * 1000.0),
            None => missed += 1,
        }
    }
    Ok((entries, missed))
}

/// Gives [`EXITS`] new contacts a window event that leaves the window at instants spread over
/// the second half of `length`, and measures how late each exit is published.
async fn exits(
    api: &Api<'_>,
    store: &Store,
    membership: &Membership,
    window: SegmentId,
    length: Duration,
) -> anyhow::Result<Vec<f64>> {
    let account = AccountId(api.keys.actid);
    let mut stream = membership.subscribe();
    let hour = WINDOW_HOURS * 3_600_000_000;
    let half = i64::try_from(length.as_micros() / 2).unwrap_or(i64::MAX);
    let mut boundaries = Vec::new();
    for i in 0..EXITS {
        let contact = new_contact(api, &format!("window-{i}")).await?;
        // The event leaves the window at `boundary`, between a half and the whole length on.
        let boundary = Timestamp::now().0 + half + half * i / EXITS;
        let at = Timestamp(boundary - hour);
        let event =
            NewEvent::of_contact(account, EventKind::Custom, WINDOW_EVENT, contact, None, at);
        store.record_events(&[event], Timestamp::now()).await?;
        boundaries.push((contact, boundary));
    }
    let mut late = Vec::new();
    for (contact, boundary) in boundaries {
        let wait = Duration::from_micros(u64::try_from(boundary - Timestamp::now().0).unwrap_or(0));
        let exit = next(&mut stream, window, contact, false, wait + PATIENCE);
        if exit.await.is_some() {
            late.push((Timestamp::now().0 - boundary) as f64 / 1000.0);
        }
    }
    Ok(late)
}

/// A new contact through API v3.
async fn new_contact(api: &Api<'_>, name: &str) -> anyhow::Result<ContactId> {
    let contact = json!({"email": format!("{name}@bench.example")});
    Ok(ContactId(
        api.create("/contacts", "contact", contact).await?,
    ))
}

/// The contact's next entry into (or exit from) the segment on the stream; `None` when it
/// does not come within `patience`, or the stream lost it under load.
async fn next(
    stream: &mut broadcast::Receiver<Transition>,
    segment: SegmentId,
    contact: ContactId,
    entered: bool,
    patience: Duration,
) -> Option<Transition> {
    let wanted =
        |t: &Transition| t.segment == segment && t.contact == contact && t.entered == entered;
    tokio::time::timeout(patience, async {
        loop {
            match stream.recv().await {
                Ok(transition) if wanted(&transition) => return Some(transition),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}

impl Freshness {
    /// Prints the measures.
    pub fn print(&self) {
        let (p50, p99, max) = percentiles(&self.entries);
        println!(
            "freshness: event commit to segment entry over {} probes ({} missed): p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
            self.entries.len(),
            self.missed
        );
        let (p50, _, max) = percentiles(&self.exits);
        println!(
            "window exits: {} of {EXITS} published, late after their boundary by p50 {p50:.1} ms, max {max:.1} ms",
            self.exits.len()
        );
    }
}
