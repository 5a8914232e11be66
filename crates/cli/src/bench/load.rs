//! The load: `concurrency` clients sending one scenario's requests through one shared connection
//! pool, back to back (closed loop) or paced at a total rate, the measured window, and the tally
//! of what they saw in it. Each client stops by itself once the window has closed (a request in
//! flight then may take at most the client's timeout), so a scenario is bounded in time.
//!
//! Paced, the clients take turns: client `c`'s request `n` is due `(n * concurrency + c) / rate`
//! seconds after the start, and is sent then, or at once when the client is late. Its latency is
//! measured from when it was sent; a server that cannot keep up shows as an achieved rate
//! below the target.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;

use super::scenarios::Scenario;
use super::setup::Keys;

/// The slowest latency the histograms hold: one minute, in microseconds.
const MAX_LATENCY_MICROS: u64 = 60_000_000;
/// How much of an error response body an error message quotes.
const QUOTED_BODY_BYTES: usize = 200;

/// How hard and how long each scenario loads the server.
pub struct Load {
    /// Clients at the same time.
    pub concurrency: u32,
    /// Load before measuring.
    pub warmup: Duration,
    /// Measured load.
    pub duration: Duration,
    /// Requests per second over all clients; `None` sends back to back.
    pub rate: Option<u32>,
}

impl Load {
    /// When client `client`'s request number `n` is due, for a load that starts at `start`;
    /// `None` when the load is not paced.
    fn due(&self, start: Instant, client: u32, n: u64) -> Option<Instant> {
        let rate = u128::from(self.rate?.max(1));
        let turn = u128::from(n) * u128::from(self.concurrency) + u128::from(client);
        let nanos = u64::try_from(turn * 1_000_000_000 / rate).unwrap_or(u64::MAX);
        Some(start + Duration::from_nanos(nanos))
    }
}

/// Where and how the clients of one scenario send their requests.
pub struct Target {
    /// The shared HTTP client (one connection pool).
    pub client: reqwest::Client,
    /// The full URL (for `click`, the tracked links' prefix `/l/`).
    pub url: String,
    /// The account's id and keys.
    pub keys: Keys,
    /// What is requested.
    pub scenario: Scenario,
    /// How many clients send requests.
    pub clients: u32,
    /// The tracked-link tokens that `click` follows, in turn.
    pub link_tokens: Arc<[String]>,
    /// The contacts and tags that `tag` pairs.
    pub tagging: Arc<Tagging>,
}

/// The bench contacts and tags, by id, that `tag` puts on them.
#[derive(Debug, Default)]
pub struct Tagging {
    /// The contacts.
    pub contacts: Vec<i64>,
    /// The tags.
    pub tags: Vec<i64>,
}

impl Target {
    /// Sends client `client`'s request number `n` and reads the whole response. Anything but an
    /// acknowledged 2xx is an error, described.
    async fn send(&self, client: u32, n: u64) -> Result<(), String> {
        let response = self
            .scenario
            .request(self, client, n)
            .send()
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| error.to_string())?;
        if self.scenario.accepted(status, &body) {
            return Ok(());
        }
        let quoted = body.get(..QUOTED_BODY_BYTES).unwrap_or(&body);
        Err(format!("{status}: {}", String::from_utf8_lossy(quoted)))
    }
}

/// The measured part of a scenario's time.
#[derive(Debug, Clone, Copy)]
pub struct Window {
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
pub async fn run_scenario(target: Arc<Target>, load: Arc<Load>) -> anyhow::Result<Tally> {
    let start = Instant::now();
    let from = start + load.warmup;
    let window = Window {
        from,
        until: from + load.duration,
    };
    let clients: Vec<_> = (0..load.concurrency)
        .map(|client| {
            let turn = Turn {
                client,
                start,
                window,
            };
            tokio::spawn(client_loop(Arc::clone(&target), Arc::clone(&load), turn))
        })
        .collect();
    let mut total = Tally::new()?;
    for client in clients {
        total.add(client.await.context("a load client failed")??)?;
    }
    Ok(total)
}

/// One client's place in the load.
#[derive(Debug, Clone, Copy)]
struct Turn {
    /// The client's number.
    client: u32,
    /// When the load started.
    start: Instant,
    /// The measured window.
    window: Window,
}

/// One client: sends requests, back to back or when due, until the window closes.
async fn client_loop(target: Arc<Target>, load: Arc<Load>, turn: Turn) -> anyhow::Result<Tally> {
    let Turn {
        client,
        start,
        window,
    } = turn;
    let mut tally = Tally::new()?;
    let mut n = 0;
    while Instant::now() < window.until {
        if let Some(due) = load.due(start, client, n) {
            if due >= window.until {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
        }
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
pub struct Tally {
    /// Acknowledged 2xx responses.
    pub requests: u64,
    /// Other responses and failed requests.
    pub errors: u64,
    /// Latencies of the acknowledged responses, in microseconds.
    latencies: Histogram<u64>,
    /// The first error, described.
    pub first_error: Option<String>,
}

impl Tally {
    /// Nothing seen yet.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            requests: 0,
            errors: 0,
            latencies: Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)
                .context("creating a latency histogram")?,
            first_error: None,
        })
    }

    /// Counts one request that took `latency`.
    pub fn record(&mut self, outcome: Result<(), String>, latency: Duration) {
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

    /// The latency at `quantile`, in milliseconds; `None` when no latency was recorded.
    pub fn latency_ms(&self, quantile: f64) -> Option<f64> {
        (!self.latencies.is_empty())
            .then(|| self.latencies.value_at_quantile(quantile) as f64 / 1000.0)
    }
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
    fn tallies_add_up() {
        let mut first = Tally::new().unwrap();
        first.record(Ok(()), Duration::from_millis(1));
        first.record(Ok(()), Duration::from_millis(3));
        let mut second = Tally::new().unwrap();
        second.record(Err("503 Service Unavailable: busy".into()), Duration::ZERO);
        second.record(Ok(()), Duration::from_millis(2));
        first.add(second).unwrap();
        assert_eq!(first.requests, 3);
        assert_eq!(first.errors, 1);
        assert_eq!(
            first.first_error.as_deref(),
            Some("503 Service Unavailable: busy")
        );
        assert!((first.latency_ms(0.5).unwrap() - 2.0).abs() < 0.01);
        assert_eq!(Tally::new().unwrap().latency_ms(0.5), None);
    }

    #[test]
    fn paced_clients_take_turns_at_the_total_rate() {
        let start = Instant::now();
        let mut load = Load {
            concurrency: 4,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(1),
            rate: None,
        };
        assert_eq!(load.due(start, 1, 9), None, "closed loop: never waits");
        load.rate = Some(1000);
        let after = |client, n| load.due(start, client, n).unwrap() - start;
        assert_eq!(after(0, 0), Duration::ZERO);
        assert_eq!(after(3, 0), Duration::from_millis(3));
        assert_eq!(after(0, 1), Duration::from_millis(4));
        assert_eq!(after(2, 250), Duration::from_millis(1002));
    }
}
