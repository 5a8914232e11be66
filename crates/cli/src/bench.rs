//! `tracklane bench`: measures `POST /api/3/contact/sync` against a route that does nothing
//! (`POST /_bench/noop`), on the same in-process server in the same run, and prints a table.
//!
//! The server is built on `127.0.0.1:0` over a fresh database: SQLite in a new temporary
//! directory by default, or the empty database that `--database-url` names (which is how
//! PostgreSQL is benched). The scenarios run one after the other. In each, `--concurrency`
//! clients send requests back to back for `--warmup` seconds, then for `--duration` measured
//! seconds, then stop by themselves. Only responses that arrive in the measured window count:
//! a 2xx is a request (its latency goes into the histogram), anything else, or no response at
//! all, is an error. Every contact sync carries a new email, so each one is a real insert.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracklane_server::config::{LogFormat, SettingsLayer};
use tracklane_server::startup::Application;
use tracklane_server::telemetry;

/// The slowest latency the histograms hold: one minute, in microseconds.
const MAX_LATENCY_MICROS: u64 = 60_000_000;
/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may take to finish its requests in flight and stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an error response body an error message quotes.
const QUOTED_BODY_BYTES: usize = 200;

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
}

/// Starts a server, runs every scenario against it, stops it and prints the table. Fails, after
/// printing the table, when any request failed.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    telemetry::init_logs(LogFormat::Text);
    let server = Server::start(args.database_url).await?;
    let load = Load {
        concurrency: args.concurrency,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };
    let engine = server.engine;
    let measured = measure_all(&server, &load).await;
    server.stop().await?;
    let measured = measured?;
    print_table(&rows(engine, &measured, &load));
    report_errors(&measured)
}

/// How hard and how long each scenario loads the server.
struct Load {
    /// Clients at the same time.
    concurrency: u32,
    /// Load before measuring.
    warmup: Duration,
    /// Measured load.
    duration: Duration,
}

/// What one scenario measured.
struct Measured {
    /// The scenario.
    scenario: Scenario,
    /// What the clients saw in the measured window.
    tally: Tally,
}

/// Runs the scenarios one after the other.
async fn measure_all(server: &Server, load: &Load) -> anyhow::Result<Vec<Measured>> {
    let client = http_client(load.concurrency)?;
    let mut measured = Vec::with_capacity(Scenario::ALL.len());
    for scenario in Scenario::ALL {
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
            api_key: server.api_key.clone(),
            scenario,
        });
        measured.push(Measured {
            scenario,
            tally: run_scenario(target, load).await?,
        });
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
    /// The API key of the account the server created.
    api_key: SecretString,
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
                 (it creates its own account and writes many contacts); \
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
            api_key: account.api_key,
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

/// A benchmarked request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// `POST /_bench/noop`: the cost of HTTP, routing and the middleware alone.
    Noop,
    /// `POST /api/3/contact/sync` creating a new contact.
    ContactSync,
}

impl Scenario {
    /// Every scenario, the baseline first.
    const ALL: [Self; 2] = [Self::Noop, Self::ContactSync];

    /// The name in the table.
    fn label(self) -> &'static str {
        match self {
            Self::Noop => "POST /_bench/noop",
            Self::ContactSync => "POST /api/3/contact/sync",
        }
    }

    /// The path requested.
    fn path(self) -> &'static str {
        match self {
            Self::Noop => "/_bench/noop",
            Self::ContactSync => "/api/3/contact/sync",
        }
    }

    /// The body of client `client`'s request number `n`.
    fn body(self, client: u32, n: u64) -> Value {
        match self {
            Self::Noop => json!({ "bench": true }),
            Self::ContactSync => json!({
                "contact": {
                    "email": format!("bench-{client}-{n}@example.com"),
                    "firstName": "Bench",
                    "lastName": "User",
                }
            }),
        }
    }
}

/// Where and how the clients of one scenario send their requests.
struct Target {
    /// The shared HTTP client (one connection pool).
    client: reqwest::Client,
    /// The full URL.
    url: String,
    /// The key sent in `Api-Token` to the API.
    api_key: SecretString,
    /// What is requested.
    scenario: Scenario,
}

impl Target {
    /// Sends client `client`'s request number `n` and reads the whole response. Anything but a
    /// 2xx is an error, described.
    async fn send(&self, client: u32, n: u64) -> Result<(), String> {
        let mut request = self
            .client
            .post(&self.url)
            .json(&self.scenario.body(client, n));
        if self.scenario == Scenario::ContactSync {
            request = request.header("Api-Token", self.api_key.expose_secret());
        }
        let response = request.send().await.map_err(|error| error.to_string())?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| error.to_string())?;
        if status.is_success() {
            return Ok(());
        }
        let quoted = body.get(..QUOTED_BODY_BYTES).unwrap_or(&body);
        Err(format!("{status}: {}", String::from_utf8_lossy(quoted)))
    }
}

/// The measured part of a scenario's time.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// The end of the warm-up.
    from: Instant,
    /// The end of the load.
    until: Instant,
}

impl Window {
    /// Whether a response that arrived at `at` counts.
    fn counts(self, at: Instant) -> bool {
        self.from <= at && at < self.until
    }
}

/// Runs the scenario of `target` with `load.concurrency` clients and adds up what they saw.
async fn run_scenario(target: Arc<Target>, load: &Load) -> anyhow::Result<Tally> {
    let from = Instant::now() + load.warmup;
    let window = Window {
        from,
        until: from + load.duration,
    };
    let clients: Vec<_> = (0..load.concurrency)
        .map(|client| tokio::spawn(client_loop(Arc::clone(&target), client, window)))
        .collect();
    let mut total = Tally::new()?;
    for client in clients {
        total.add(client.await.context("a load client failed")??)?;
    }
    Ok(total)
}

/// One client: sends requests back to back until the window closes.
async fn client_loop(target: Arc<Target>, client: u32, window: Window) -> anyhow::Result<Tally> {
    let mut tally = Tally::new()?;
    let mut n = 0;
    while Instant::now() < window.until {
        let started = Instant::now();
        let outcome = target.send(client, n).await;
        let arrived = Instant::now();
        n += 1;
        if window.counts(arrived) {
            tally.record(outcome, arrived - started);
        }
    }
    Ok(tally)
}

/// What clients saw in a measured window.
struct Tally {
    /// 2xx responses.
    requests: u64,
    /// Other responses and failed requests.
    errors: u64,
    /// Latencies of the 2xx responses, in microseconds.
    latencies: Histogram<u64>,
    /// The first error, described.
    first_error: Option<String>,
}

impl Tally {
    /// Nothing seen yet.
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            requests: 0,
            errors: 0,
            latencies: Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)
                .context("creating a latency histogram")?,
            first_error: None,
        })
    }

    /// Counts one request that took `latency`.
    fn record(&mut self, outcome: Result<(), String>, latency: Duration) {
        match outcome {
            Ok(()) => {
                self.requests += 1;
                let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                self.latencies.saturating_record(micros.max(1));
            }
            Err(error) => {
                self.errors += 1;
                self.first_error.get_or_insert(error);
            }
        }
    }

    /// Adds what another client saw.
    fn add(&mut self, other: Tally) -> anyhow::Result<()> {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latencies
            .add(&other.latencies)
            .context("adding latency histograms")?;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        Ok(())
    }

    /// The latency at `quantile`, in milliseconds.
    fn latency_ms(&self, quantile: f64) -> f64 {
        self.latencies.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// One line of the table.
struct Row {
    /// The database engine.
    engine: &'static str,
    /// The scenario's label.
    scenario: &'static str,
    /// 2xx responses in the measured window.
    requests: u64,
    /// Errors in the measured window.
    errors: u64,
    /// 2xx responses per second.
    per_second: f64,
    /// Median latency, in milliseconds.
    p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    p99_ms: f64,
    /// Throughput relative to the baseline, when the baseline has any.
    ratio: Option<f64>,
}

/// The table's lines: one per measurement, with throughput relative to the no-op baseline.
fn rows(engine: &'static str, measured: &[Measured], load: &Load) -> Vec<Row> {
    let seconds = load.duration.as_secs_f64();
    let per_second = |tally: &Tally| tally.requests as f64 / seconds;
    let baseline = measured
        .iter()
        .find(|m| m.scenario == Scenario::Noop)
        .map(|m| per_second(&m.tally))
        .filter(|&rate| rate > 0.0);
    measured
        .iter()
        .map(|m| Row {
            engine,
            scenario: m.scenario.label(),
            requests: m.tally.requests,
            errors: m.tally.errors,
            per_second: per_second(&m.tally),
            p50_ms: m.tally.latency_ms(0.50),
            p99_ms: m.tally.latency_ms(0.99),
            ratio: baseline.map(|base| per_second(&m.tally) / base),
        })
        .collect()
}

/// The table's header.
const HEADER: [&str; 8] = [
    "engine", "scenario", "requests", "errors", "req/s", "p50 ms", "p99 ms", "ratio",
];

impl Row {
    /// The row's cells, in the order of [`HEADER`].
    fn cells(&self) -> Vec<String> {
        vec![
            self.engine.to_owned(),
            self.scenario.to_owned(),
            self.requests.to_string(),
            self.errors.to_string(),
            format!("{:.0}", self.per_second),
            format!("{:.2}", self.p50_ms),
            format!("{:.2}", self.p99_ms),
            self.ratio
                .map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.2}")),
        ]
    }
}

/// Prints the rows under the header, each column as wide as its widest cell.
fn print_table(rows: &[Row]) {
    let mut lines = vec![HEADER.map(str::to_owned).to_vec()];
    lines.extend(rows.iter().map(Row::cells));
    let mut widths = [0; HEADER.len()];
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.len());
        }
    }
    for line in &lines {
        let padded: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    }
}

/// Fails when any request failed, quoting the first failure of each scenario.
fn report_errors(measured: &[Measured]) -> anyhow::Result<()> {
    let failed: Vec<String> = measured
        .iter()
        .filter(|m| m.tally.errors > 0)
        .map(|m| {
            format!(
                "{}: {} errors, the first: {}",
                m.scenario.label(),
                m.tally.errors,
                m.tally.first_error.as_deref().unwrap_or("unknown")
            )
        })
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    bail!("some requests failed:\n{}", failed.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_responses_inside_the_window_count() {
        let from = Instant::now();
        let window = Window {
            from,
            until: from + Duration::from_secs(1),
        };
        assert!(!window.counts(from - Duration::from_millis(1)));
        assert!(window.counts(from));
        assert!(!window.counts(from + Duration::from_secs(1)));
    }

    #[test]
    fn sync_bodies_carry_unique_emails() {
        let first = Scenario::ContactSync.body(3, 7);
        let second = Scenario::ContactSync.body(3, 8);
        assert_eq!(first["contact"]["email"], "bench-3-7@example.com");
        assert_ne!(first["contact"]["email"], second["contact"]["email"]);
    }

    #[test]
    fn the_ratio_is_relative_to_the_noop_baseline() {
        let mut noop = Tally::new().unwrap();
        let mut sync = Tally::new().unwrap();
        for _ in 0..100 {
            noop.record(Ok(()), Duration::from_millis(1));
        }
        for _ in 0..25 {
            sync.record(Ok(()), Duration::from_millis(4));
        }
        sync.record(Err("500".into()), Duration::from_millis(4));
        let measured = [
            Measured {
                scenario: Scenario::Noop,
                tally: noop,
            },
            Measured {
                scenario: Scenario::ContactSync,
                tally: sync,
            },
        ];
        let load = Load {
            concurrency: 1,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(2),
        };
        let rows = rows("sqlite", &measured, &load);
        assert_eq!(rows[0].ratio, Some(1.0));
        assert_eq!(rows[1].ratio, Some(0.25));
        assert_eq!(rows[1].per_second, 12.5);
        assert_eq!(rows[1].errors, 1);
        assert!(report_errors(&measured).is_err());
    }
}
