//! `tracklane bench`: measures the API and the tracking surfaces against a route that does
//! nothing (`POST /_bench/noop`), on the same in-process server in the same run, and prints a
//! table.
//!
//! The server is built on `127.0.0.1:0` over a fresh database: SQLite in a new temporary
//! directory by default, or the empty database that `--database-url` names (which is how
//! PostgreSQL is benched). Before the tracking scenarios run, the bench sets the account up
//! through API v3 as a user would: site and event tracking on, the bench domain and event name
//! whitelisted, and [`scenarios::CONTACTS`] contacts to send events for.
//!
//! The scenarios run one after the other. In each, `--concurrency` clients send requests back to
//! back for `--warmup` seconds, then for `--duration` measured seconds, then stop by themselves.
//! Only responses that arrive in the measured window count: an acknowledged 2xx is a request
//! (its latency goes into the histogram), anything else — any other status (a 503 from a full
//! ingest queue too), a 2xx that does not say it recorded, or no response at all — is an error.
//!
//! # Layout
//! - `mod.rs`: the flags, the run, and the in-process server.
//! - [`setup`]: the account's set-up through API v3, and what the server reports afterwards.
//! - [`scenarios`]: what each scenario requests.
//! - [`load`]: the clients, the measured window and their tally.
//! - [`report`]: the table and the error summary.

mod load;
mod report;
mod scenarios;
mod setup;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracklane_server::config::{LogFormat, SettingsLayer};
use tracklane_server::startup::Application;
use tracklane_server::telemetry;

use load::{run_scenario, Load, Target};
use report::{print_table, report_errors, rows, Measured};
use scenarios::Scenario;
use setup::{Keys, ServerCounts};

/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may take to finish its requests in flight and stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// Scenarios to run, comma-separated; noop, the baseline, always runs [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
}

/// Starts a server, runs the chosen scenarios against it, stops it and prints the table.
/// Fails, after printing the table, when any request failed.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    telemetry::init_logs(LogFormat::Text);
    let scenarios = scenarios::selected(&args.scenarios);
    let server = Server::start(args.database_url).await?;
    let load = Load {
        concurrency: args.concurrency,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };
    let engine = server.engine;
    let measured = measure_all(&server, &scenarios, &load).await;
    server.stop().await?;
    let measured = measured?;
    print_table(&rows(engine, &measured, &load));
    report_errors(&measured)
}

/// Sets the account up when a tracking scenario is chosen, then runs the scenarios one after
/// the other.
async fn measure_all(
    server: &Server,
    scenarios: &[Scenario],
    load: &Load,
) -> anyhow::Result<Vec<Measured>> {
    let client = http_client(load.concurrency)?;
    if scenarios.iter().any(|s| s.events_per_request().is_some()) {
        eprintln!("bench: setting up tracking through API v3");
        setup::prepare(&client, &server.base, &server.keys).await?;
    }
    let mut measured = Vec::with_capacity(scenarios.len());
    for &scenario in scenarios {
        measured.push(measure(server, &client, scenario, load).await?);
    }
    Ok(measured)
}

/// Runs one scenario. For a tracking scenario, also checks with the server that every event
/// acknowledged in the measured window is stored, and tells how the writer grouped them.
async fn measure(
    server: &Server,
    client: &reqwest::Client,
    scenario: Scenario,
    load: &Load,
) -> anyhow::Result<Measured> {
    eprintln!(
        "bench: {} on {}, {} clients, {} s warm-up + {} s measured",
        scenario.label(),
        server.engine,
        load.concurrency,
        load.warmup.as_secs(),
        load.duration.as_secs(),
    );
    let target = Arc::new(Target {
        client: client.clone(),
        url: format!("{}{}", server.base, scenario.path()),
        keys: server.keys.clone(),
        scenario,
    });
    if scenario.events_per_request().is_none() {
        let tally = run_scenario(target, load).await?;
        return Ok(Measured { scenario, tally });
    }
    let before = ServerCounts::read(client, &server.base, &server.keys).await?;
    let tally = run_scenario(target, load).await?;
    let measured = Measured { scenario, tally };
    let after = ServerCounts::read(client, &server.base, &server.keys).await?;
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
    Ok(measured)
}

/// An HTTP client that goes straight to the server, whatever proxy the environment names.
fn http_client(concurrency: u32) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(usize::try_from(concurrency).unwrap_or(usize::MAX))
        .build()
        .context("building the HTTP client")
}

/// The server under test, running in this process.
struct Server {
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// The database engine's name.
    engine: &'static str,
    /// The id and keys of the account the server created.
    keys: Keys,
    /// Tells the server to stop.
    stop: oneshot::Sender<()>,
    /// The task serving requests.
    serving: JoinHandle<std::io::Result<()>>,
    /// The data directory, deleted when the bench ends.
    _data_dir: TempDir,
}

impl Server {
    /// Builds the server on a free port of 127.0.0.1 over `database_url` (or SQLite in a new
    /// temporary directory) and starts serving. The database must be empty.
    async fn start(database_url: Option<String>) -> anyhow::Result<Self> {
        let data_dir = tempfile::Builder::new()
            .prefix("tracklane-bench-")
            .tempdir()
            .context("creating a temporary data directory")?;
        let settings = SettingsLayer {
            listen: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
            data_dir: Some(data_dir.path().to_owned()),
            database_url,
            ..SettingsLayer::default()
        }
        .resolve(SettingsLayer::default())?;
        let mut app = Application::build(settings)
            .await
            .context("starting the server")?;
        let engine = app.state().store.engine().name();
        let Some(account) = app.take_new_account() else {
            app.state().store.close().await;
            bail!(
                "the database already has an account: `tracklane bench` needs an empty database \
                 (it creates its own account and writes many contacts and events); \
                 pass the URL of a new, empty database"
            );
        };
        let base = format!("http://127.0.0.1:{}", app.port());
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(app.run_until_stopped(async {
            let _sent_or_dropped = stopped.await;
        }));
        Ok(Self {
            base,
            engine,
            keys: Keys {
                actid: account.id.0,
                api_key: account.api_key,
                event_key: account.event_key,
            },
            stop,
            serving,
            _data_dir: data_dir,
        })
    }

    /// Stops the server, waits for it to finish and deletes its data directory.
    async fn stop(self) -> anyhow::Result<()> {
        // An error means the server has stopped already: awaiting it tells why.
        let _already_stopped = self.stop.send(());
        tokio::time::timeout(STOP_TIMEOUT, self.serving)
            .await
            .context("the server did not stop in time")?
            .context("the server task failed")?
            .context("serving")
    }
}
