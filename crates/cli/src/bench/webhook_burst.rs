//! `--webhook-burst N`: deliveries/s under a burst. The account gets `--webhooks` lists (1,000
//! when not given), each with a subscription of its own that hears of its `subscribe`s, at
//! receivers on [`HOSTS`] loopback addresses (hosts of their own, as the webhook worker shares
//! them out). The burst is N list subscriptions through `POST /api/3/contactLists` by 64
//! clients, each reported to one subscription: N deliveries.
//!
//! The server records the burst's changes without delivering them; then the bench starts its
//! webhook worker. Measured: the burst's requests/s, and deliveries/s from the worker's start
//! until the receivers got the last one (turning the changes into deliveries included). The
//! baseline, in the same run: a plain HTTP client's POSTs of a delivery-sized body to the same
//! receivers, as many at once as the worker makes.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::json;
use tokio::sync::watch;
use tracklane_server::health::Heartbeats;
use tracklane_server::workers::webhooks::shares::TAKEN;

use super::campaign::Api;
use super::webhooks::Receiver;
use super::Server;

/// The receiver hosts: 127.0.0.1 to 127.0.0.32.
const HOSTS: u8 = 32;
/// Subscriptions when `--webhooks` does not say.
pub const SUBSCRIPTIONS: u32 = 1_000;
/// The burst's clients.
const CLIENTS: usize = 64;
/// The baseline's requests.
const BASELINE: u64 = 20_000;
/// How long the deliveries may take after the burst before the bench gives up.
const DRAIN_LIMIT: Duration = Duration::from_secs(900);

/// Runs the burst on `engine` and prints its table.
pub async fn measure(
    api: &Api<'_>,
    server: &Server,
    subscriptions: u32,
    burst: u64,
) -> anyhow::Result<()> {
    let (store, engine) = (&server.store, server.engine);
    let receiver = Receiver::start_on(HOSTS).await?;
    let baseline = baseline(&receiver).await?;

    eprintln!("bench: creating {subscriptions} lists, each with a webhook");
    let mut lists = Vec::new();
    for i in 0..subscriptions {
        let list = api.create_list(&format!("burst {i}")).await?;
        let url = &receiver.urls[i as usize % receiver.urls.len()];
        let webhook = json!({"name": format!("burst {i}"), "url": url, "listid": list,
            "events": ["subscribe"], "sources": ["api"]});
        api.create("/webhooks", "webhook", webhook).await?;
        lists.push(list);
    }
    let per_contact = u64::from(subscriptions.max(1));
    let people = burst.div_ceil(per_contact);
    let seed = api
        .import_list(store, "burst seed", "burst", people)
        .await?;
    let contacts = api.list_members(seed).await?;
    if (contacts.len() as u64) < people {
        bail!("the import made {} of {people} contacts", contacts.len());
    }

    eprintln!("bench: a burst of {burst} list subscriptions, {CLIENTS} clients");
    let before = receiver.received();
    let started = Instant::now();
    let failures = stream::iter(0..burst)
        .map(|i| {
            let contact = contacts[(i / per_contact) as usize];
            let list = lists[(i % per_contact) as usize];
            let body = json!({"contactList": {"list": list, "contact": contact, "status": 1}});
            async move { api.call(Method::POST, "/contactLists", Some(body)).await }
        })
        .buffer_unordered(CLIENTS)
        .filter_map(|answer| async move { answer.err() })
        .collect::<Vec<_>>()
        .await;
    let ingested = started.elapsed();
    if let Some(first) = failures.first() {
        bail!(
            "{} burst requests failed, the first: {first:#}",
            failures.len()
        );
    }
    if receiver.received() > before {
        bail!("the server delivered during the burst: its worker should wait for the bench");
    }
    eprintln!("bench: delivering the burst's backlog");
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(server.webhooks.clone().run(stopped, Heartbeats::default()));
    let draining = Instant::now();
    while receiver.received() - before < burst {
        if draining.elapsed() > DRAIN_LIMIT {
            bail!(
                "the receivers got {} of {burst} deliveries in {} s",
                receiver.received() - before,
                draining.elapsed().as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = draining.elapsed();
    let _ = stop.send(true);
    worker.await.context("the webhook worker failed")?;

    println!(
        "webhook burst: {subscriptions} subscriptions on {HOSTS} receiver hosts, a backlog of \
         {burst} list subscriptions"
    );
    println!(
        "{:<9} {:<46} {:>9} {:>9} {:>11} {:>6}",
        "engine", "measure", "count", "seconds", "per second", "ratio"
    );
    let rows = [
        ("bare POST to the receivers (baseline)", BASELINE, baseline),
        ("POST /api/3/contactLists (the burst)", burst, ingested),
        ("deliveries of the backlog", burst, delivered),
    ];
    let base = BASELINE as f64 / baseline.as_secs_f64();
    for (measure, count, took) in rows {
        let rate = count as f64 / took.as_secs_f64();
        println!(
            "{engine:<9} {measure:<46} {count:>9} {:>9.1} {rate:>11.0} {:>6.2}",
            took.as_secs_f64(),
            rate / base
        );
    }
    Ok(())
}

/// How long a plain client takes to POST [`BASELINE`] delivery-sized bodies to the receivers,
/// [`TAKEN`] at once.
async fn baseline(receiver: &Receiver) -> anyhow::Result<Duration> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("building the baseline's client")?;
    let body = "type=subscribe&date_time=2026-12-02T16:00:00%2B00:00&initiated_from=api".repeat(6);
    let started = Instant::now();
    let failed = stream::iter(0..BASELINE)
        .map(|i| {
            let url = &receiver.urls[i as usize % receiver.urls.len()];
            let request = client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone());
            async move { request.send().await.is_err() }
        })
        .buffer_unordered(TAKEN)
        .filter(|failed| std::future::ready(*failed))
        .count()
        .await;
    if failed > 0 {
        bail!("{failed} of the baseline's POSTs failed");
    }
    Ok(started.elapsed())
}
