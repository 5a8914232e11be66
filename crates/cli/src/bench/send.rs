//! `send`: a campaign to `--recipients` contacts, timed from its send request until it is
//! complete (status 5), in messages handed over per second. The recipients are written first
//! through the product's bulk path, the CSV import with `--list`; the message has
//! personalization tags, [`LINKS`] tracked links and about [`HTML_BYTES`] of HTML, so each
//! message is rendered, its links rewritten and sealed, and delivered to the sink.

use std::time::{Duration, Instant};

use tracklane_store::Store;

use super::campaign::{message_html, Api};
use super::load::Tally;
use super::report::Measured;
use super::scenarios::Scenario;

/// Tracked links in the message.
const LINKS: u64 = 5;
/// The size of the message's HTML part, about.
const HTML_BYTES: usize = 10_000;
/// How long the campaign may take to complete.
const SEND_LIMIT: Duration = Duration::from_secs(3600);

/// Imports `recipients` contacts onto a new list, sends them a campaign, and measures how fast
/// it completes; `sink` names where the mail goes.
pub async fn measure(
    api: &Api<'_>,
    store: &Store,
    recipients: u64,
    sink: &str,
) -> anyhow::Result<Measured> {
    let list = api
        .import_list(store, "Bench send", "send", recipients)
        .await?;
    let html = message_html(LINKS, HTML_BYTES);
    let campaign = api.create_campaign("Bench send", list, &html).await?;
    eprintln!(
        "bench: sending campaign {campaign} ({} bytes of HTML) to {sink}",
        html.len()
    );
    let started = Instant::now();
    let queued = api.send(campaign).await?;
    let delivered = api.wait_until_complete(campaign, SEND_LIMIT).await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut tally = Tally::new()?;
    tally.requests = delivered.sent;
    tally.errors = queued.saturating_sub(delivered.sent);
    if tally.errors > 0 {
        tally.first_error = Some(format!(
            "{} of {queued} recipients got nothing ({} bounced)",
            tally.errors, delivered.bounced
        ));
    }
    Ok(Measured {
        scenario: Scenario::Send,
        label: format!("campaign send x{recipients} -> {sink}"),
        tally,
        seconds,
    })
}
