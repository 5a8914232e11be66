//! `tracklane bench`: measures the API, the tracking surfaces, the tracked-link redirect and a
//! campaign's sending against a route that does nothing (`POST /_bench/noop`), on the same
//! in-process server in the same run, and prints a table.
//!
//! The server is built on `127.0.0.1:0` over a fresh database: SQLite in a new temporary
//! directory by default, or the empty database that `--database-url` names (which is how
//! PostgreSQL is benched). Before the tracking scenarios run, the bench sets the account up
//! through API v3 as a user would: site and event tracking on, the bench domain and event name
//! whitelisted, and [`scenarios::CONTACTS`] contacts to send events for. `click` and `send` set
//! up campaigns the same way ([`campaign`], [`send`]); `send` delivers to an SMTP sink
//! ([`sink`]).
//!
//! The scenarios run one after the other. In each, `--concurrency` clients send requests back to
//! back (or paced at `--rate` requests/s in all) for `--warmup` seconds, then for `--duration`
//! measured seconds, then stop by themselves.
//! Only responses that arrive in the measured window count: an acknowledged 2xx is a request
//! (its latency goes into the histogram), anything else — any other status (a 503 from a full
//! ingest queue too), a 2xx that does not say it recorded, or no response at all — is an error.
//!
//! # Layout
//! - `mod.rs`: the flags and the run; [`server`]: the in-process server.
//! - [`setup`]: the account's set-up through API v3, and what the server reports afterwards.
//! - [`campaign`]: campaigns through API v3, and the set-up of `click`.
//! - [`send`]: the `send` measurement; [`sink`]: where it delivers.
//! - [`scenarios`]: what each scenario requests.
//! - [`segments`]: `--segments`, saved segments kept live during the load.
//! - [`scoring`]: `--score-models`, scoring models kept live during the load.
//! - [`webhooks`]: `--webhooks`, webhook subscriptions kept live during the load.
//! - [`webhook_burst`]: `--webhook-burst`, deliveries/s under a burst of changes.
//! - [`segment_scale`]: `--segment-contacts`, segments over a large generated data set.
//! - [`automation_runs`]: `--automations`, automations kept during the load, and
//!   `--automation-contacts`, automation step executions/s.
//! - [`load`]: the clients, the measured window and their tally.
//! - [`report`]: the table and the error summary.

mod automation_runs;
mod campaign;
mod freshness;
mod load;
mod report;
mod scenarios;
mod scoring;
mod segment_scale;
mod segments;
mod send;
mod server;
mod setup;
mod sink;
mod webhook_burst;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tracklane_server::config::LogFormat;
use tracklane_server::telemetry;

use campaign::{prepare_clicks, Api, Clicks};
use freshness::Freshness;
use load::{run_scenario, Load, Tagging, Target};
use report::{print_table, report_errors, rows, Measured};
use scenarios::Scenario;
use server::{Peer, Server};
use setup::ServerCounts;
use sink::Sink;

/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The flags of `tracklane bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Database to bench, which must be empty (postgres://... benches PostgreSQL)
    /// [default: SQLite in a new temporary directory]
    #[arg(long)]
    database_url: Option<String>,
    /// Clients sending requests at the same time
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: u32,
    /// Measured seconds per scenario
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    duration: u64,
    /// Seconds of load per scenario before measuring
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Scenarios to run, comma-separated; noop, the baseline, always runs [default: all but
    /// send]
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
    /// Requests per second over all clients, paced, in every load scenario [default: as fast
    /// as the clients go, each sending its next request when the last is answered]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    rate: Option<u32>,
    /// Recipients of the `send` campaign
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    recipients: u64,
    /// SMTP server that `send` delivers to, as `tracklane serve --smtp-url` takes it (never
    /// read from TRACKLANE_SMTP_URL, so that no real mail server gets the bench's mail by
    /// accident) [default: an aiosmtpd sink started on localhost when /usr/bin/python3 has
    /// aiosmtpd, else the outbox folder]
    #[arg(long)]
    smtp_url: Option<String>,
    /// Saved segments of mixed kinds to keep live during the tracking scenarios (each event
    /// then queues its contact for a membership check)
    #[arg(long, default_value_t = 0)]
    segments: u32,
    /// Scoring models of ten rules each to keep live during the tracking scenarios (each event
    /// is scored by them)
    #[arg(long, default_value_t = 0)]
    score_models: u32,
    /// Webhook subscriptions to keep live during the tracking scenarios (each event and page
    /// view of a contact is delivered to each, at a receiver in the bench's process)
    #[arg(long, default_value_t = 0)]
    webhooks: u32,
    /// Whether the bench's server attempts the webhooks' deliveries during the run (`false`
    /// measures the write path alone: the changes are recorded, and delivered after)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    webhook_delivery: bool,
    /// Instead of the load scenarios, measure deliveries/s under a burst of this many list
    /// subscriptions, each heard by one of `--webhooks` subscriptions [default of --webhooks
    /// here: 1000]
    #[arg(long, default_value_t = 0)]
    webhook_burst: u64,
    /// Instead of the load scenarios, measure segments at scale over this many generated
    /// contacts (preview of representative definitions, a saved segment's computation, count)
    #[arg(long, default_value_t = 0)]
    segment_contacts: u64,
    /// Timeline rows (visits, events, opens, clicks) generated for --segment-contacts
    /// [default: 20 per contact]
    #[arg(long)]
    segment_events: Option<u64>,
    /// Active automations whose behavior triggers the load's events do not match, kept
    /// during the tracking scenarios
    #[arg(long, default_value_t = 0)]
    automations: u32,
    /// Instead of the load scenarios, measure automation step executions/s with this many
    /// contacts entering an automation of six steps (five internal ones and an email)
    #[arg(long, default_value_t = 0)]
    automation_contacts: u64,
    /// With --automation-contacts on PostgreSQL: nodes over the one database, each running
    /// its runner and sender (the bench's requests go to the first)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
    nodes: u32,
    /// Instead of the load scenarios, measure the process's memory and the database's bytes
    /// with this many contacts waiting in an automation
    #[arg(long, default_value_t = 0)]
    waiting_contacts: u64,
}

/// Starts a server, runs the chosen scenarios against it, stops it and prints the table.
/// Fails, after printing the table, when any request failed.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    telemetry::init_logs(LogFormat::Text);
    let scenarios = scenarios::selected(&args.scenarios);
    let sink = if scenarios.contains(&Scenario::Send) || args.automation_contacts > 0 {
        Sink::choose(args.smtp_url)?
    } else {
        Sink::outbox("outbox")
    };
    if args.nodes > 1 {
        let postgres = args
            .database_url
            .as_deref()
            .is_some_and(|url| url.starts_with("postgres"));
        if !postgres || args.automation_contacts == 0 {
            bail!(
                "--nodes needs --automation-contacts and a postgres:// --database-url: \
                 several nodes share one database on PostgreSQL only"
            );
        }
    }
    // A burst is delivered from its backlog by a worker the bench starts after it.
    let delivering = args.webhook_delivery && args.webhook_burst == 0;
    let server = Server::start(args.database_url.clone(), sink.url.clone(), delivering).await?;
    if args.webhook_burst > 0 {
        let client = http_client(64)?;
        let api = server.api(&client);
        let subscriptions = match args.webhooks {
            0 => webhook_burst::SUBSCRIPTIONS,
            chosen => chosen,
        };
        let measured =
            webhook_burst::measure(&api, &server, subscriptions, args.webhook_burst).await;
        server.stop().await?;
        return measured;
    }
    if args.segment_contacts > 0 {
        let client = http_client(1)?;
        let api = server.api(&client);
        let events = args.segment_events.unwrap_or(args.segment_contacts * 20);
        eprintln!("bench: segments at scale on {}", server.engine);
        let measured =
            segment_scale::measure(&api, &server.store, args.segment_contacts, events).await;
        server.stop().await?;
        return measured;
    }
    if args.waiting_contacts > 0 {
        let client = http_client(1)?;
        let api = server.api(&client);
        let measured = automation_runs::waiting(&api, &server, args.waiting_contacts).await;
        server.stop().await?;
        return measured;
    }
    if args.automation_contacts > 0 {
        let mut peers = Vec::new();
        for _ in 1..args.nodes {
            let url = args.database_url.clone().unwrap_or_default();
            peers.push(Peer::start(url, sink.url.clone()).await?);
        }
        let client = http_client(64)?;
        let api = server.api(&client);
        let measured =
            automation_runs::measure(&api, &server, args.automation_contacts, args.nodes).await;
        for peer in peers {
            peer.stop().await?;
        }
        server.stop().await?;
        return measured;
    }
    let load = Arc::new(Load {
        concurrency: args.concurrency,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
        rate: args.rate,
    });
    let engine = server.engine;
    let bench = Bench {
        server: &server,
        client: http_client(load.concurrency)?,
        load,
        recipients: args.recipients,
        sink: sink.name,
        segments: args.segments,
        score_models: args.score_models,
        automations: args.automations,
        webhooks: args.webhooks,
        receiver: webhooks::Receiver::start().await?,
    };
    let measured = bench.measure_all(&scenarios).await;
    let delivered = bench.receiver.received();
    server.stop().await?;
    drop(sink);
    let (measured, freshness) = measured?;
    match args.rate {
        Some(rate) => println!(
            "load: paced at {rate} requests/s over {} clients",
            args.concurrency
        ),
        None => println!("load: closed loop, {} clients", args.concurrency),
    }
    println!("segments kept live: {}", args.segments);
    println!(
        "scoring models kept live: {} of {} rules",
        args.score_models,
        scoring::RULES
    );
    println!("automations kept (unmatched): {}", args.automations);
    println!(
        "webhooks kept live: {} (delivered during the run: {}; received: {delivered})",
        args.webhooks,
        if args.webhook_delivery { "yes" } else { "no" }
    );
    print_table(&rows(engine, &measured));
    if let Some(freshness) = freshness {
        freshness.print();
    }
    report_errors(&measured)
}

/// One run of the bench: the server, the clients' HTTP client and the load.
struct Bench<'a> {
    /// The server under test.
    server: &'a Server,
    /// The shared HTTP client, which follows no redirects.
    client: reqwest::Client,
    /// The load of each load scenario.
    load: Arc<Load>,
    /// Recipients of `send`.
    recipients: u64,
    /// Where `send` delivers, as the table names it.
    sink: &'static str,
    /// Saved segments kept live during the tracking scenarios.
    segments: u32,
    /// Scoring models kept live during the tracking scenarios.
    score_models: u32,
    /// Automations that the load's events do not trigger, kept during the tracking scenarios.
    automations: u32,
    /// Webhook subscriptions kept live during the tracking scenarios.
    webhooks: u32,
    /// Where they deliver.
    receiver: webhooks::Receiver,
}

impl Bench<'_> {
    /// The server's API v3.
    fn api(&self) -> Api<'_> {
        self.server.api(&self.client)
    }

    /// Sets the account up for the chosen scenarios, then runs them one after the other; with
    /// live segments, the `event` scenario is probed for freshness.
    async fn measure_all(
        &self,
        scenarios: &[Scenario],
    ) -> anyhow::Result<(Vec<Measured>, Option<Freshness>)> {
        let (client, base, keys) = (&self.client, &self.server.base, &self.server.keys);
        let tracking = [
            Scenario::Collect,
            Scenario::Event,
            Scenario::Batch,
            Scenario::Tag,
        ];
        let mut probes = None;
        let mut tagging = Tagging::default();
        if scenarios.iter().any(|s| tracking.contains(s)) {
            eprintln!("bench: setting up tracking through API v3");
            tagging.contacts = setup::prepare(client, base, keys).await?;
            if scenarios.contains(&Scenario::Tag) {
                tagging.tags = setup::create_tags(&self.api()).await?;
            }
            if self.segments > 0 {
                eprintln!("bench: saving {} segments of mixed kinds", self.segments);
                segments::save(&self.api(), self.segments).await?;
                probes = Some(freshness::save(&self.api()).await?);
            }
            if self.score_models > 0 {
                eprintln!("bench: creating {} scoring models", self.score_models);
                scoring::save(&self.api(), self.score_models).await?;
            }
            if self.automations > 0 {
                eprintln!("bench: creating {} automations", self.automations);
                automation_runs::save_unmatched(&self.api(), self.automations).await?;
            }
            if self.webhooks > 0 {
                eprintln!("bench: creating {} webhooks", self.webhooks);
                webhooks::save(&self.api(), self.webhooks, self.receiver.url()).await?;
            }
        }
        let tagging = Arc::new(tagging);
        let clicks = if scenarios.contains(&Scenario::Click) {
            eprintln!("bench: setting up a campaign to click through API v3");
            let (store, key) = (&self.server.store, &self.server.token_key);
            Some(prepare_clicks(&self.api(), store, key).await?)
        } else {
            None
        };
        let mut measured = Vec::with_capacity(scenarios.len());
        let mut fresh = None;
        for &scenario in scenarios {
            let one = match (scenario, &probes) {
                (Scenario::Send, _) => {
                    let store = &self.server.store;
                    send::measure(&self.api(), store, self.recipients, self.sink).await?
                }
                (Scenario::Event, Some(probes)) => {
                    let (server, api) = (self.server, self.api());
                    let length = self.load.warmup + self.load.duration;
                    let (one, probed) = tokio::join!(
                        self.measure(scenario, clicks.as_ref(), &tagging),
                        freshness::measure(&api, &server.store, &server.membership, probes, length)
                    );
                    fresh = Some(probed?);
                    one?
                }
                _ => self.measure(scenario, clicks.as_ref(), &tagging).await?,
            };
            measured.push(one);
        }
        Ok((measured, fresh))
    }

    /// The clicks counted on `campaign`'s links; 0 without a campaign.
    async fn link_clicks(&self, campaign: Option<i64>) -> anyhow::Result<u64> {
        match campaign {
            Some(campaign) => self.api().link_clicks(campaign).await,
            None => Ok(0),
        }
    }

    /// Runs one load scenario. For a tracking scenario (and `click`), also checks with the
    /// server that every event acknowledged in the measured window is stored, and tells how the
    /// writer grouped them; for `click`, that every click is counted on the campaign's links.
    async fn measure(
        &self,
        scenario: Scenario,
        clicks: Option<&Clicks>,
        tagging: &Arc<Tagging>,
    ) -> anyhow::Result<Measured> {
        let (client, server, load) = (&self.client, self.server, &self.load);
        eprintln!(
            "bench: {} on {}, {} clients{}, {} s warm-up + {} s measured",
            scenario.label(),
            server.engine,
            load.concurrency,
            load.rate
                .map_or_else(String::new, |rate| format!(" at {rate} requests/s")),
            load.warmup.as_secs(),
            load.duration.as_secs(),
        );
        let target = Arc::new(Target {
            client: client.clone(),
            url: format!("{}{}", server.base, scenario.path()),
            keys: server.keys.clone(),
            scenario,
            clients: load.concurrency,
            link_tokens: clicks.map_or_else(Vec::new, |c| c.tokens.clone()).into(),
            tagging: Arc::clone(tagging),
        });
        if scenario.events_per_request().is_none() {
            let tally = run_scenario(target, Arc::clone(load)).await?;
            return Ok(Measured::load(scenario, tally, load));
        }
        let clicked = clicks
            .filter(|_| scenario == Scenario::Click)
            .map(|clicks| clicks.campaign);
        let clicked_before = self.link_clicks(clicked).await?;
        let before = ServerCounts::read(client, &server.base, &server.keys).await?;
        let tally = run_scenario(target, Arc::clone(load)).await?;
        let measured = Measured::load(scenario, tally, load);
        let after = ServerCounts::read(client, &server.base, &server.keys).await?;
        let clicked = self
            .link_clicks(clicked)
            .await?
            .saturating_sub(clicked_before);
        let change = after.since(&before);
        let acknowledged = measured.events().unwrap_or(0);
        eprintln!("bench: {}", change.describe(acknowledged));
        if change.durable_events < acknowledged {
            bail!(
                "{}: {acknowledged} events were acknowledged but only {} were stored",
                scenario.label(),
                change.durable_events
            );
        }
        if scenario == Scenario::Click {
            eprintln!("bench: the campaign's links counted {clicked} clicks (warm-up included)");
            if clicked < acknowledged {
                bail!("{acknowledged} clicks were redirected but the links count only {clicked}");
            }
        }
        Ok(measured)
    }
}

/// An HTTP client that goes straight to the server, whatever proxy the environment names, and
/// follows no redirects (a click's 302 is its answer).
fn http_client(concurrency: u32) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(usize::try_from(concurrency).unwrap_or(usize::MAX))
        .build()
        .context("building the HTTP client")
}
