//! The load: `concurrency` clients sending one scenario's requests back to back through one
//! shared connection pool, the measured window, and the tally of what they saw in it. Each
//! client stops by itself once the window has closed (a request in flight then may take at
//! most the client's timeout), so a scenario is bounded in time.

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
}

/// Where and how the clients of one scenario send their requests.
pub struct Target {
    /// The shared HTTP client (one connection pool).
    pub client: reqwest::Client,
    /// The full URL.
    pub url: String,
    /// The account's id and keys.
    pub keys: Keys,
    /// What is requested.
    pub scenario: Scenario,
}

impl Target {
    /// Sends client `client`'s request number `n` and reads the whole response. Anything but an
    /// acknowledged 2xx is an error, described.
    async fn send(&self, client: u32, n: u64) -> Result<(), String> {
        let response = self
            .scenario
            .request(&self.client, &self.url, &self.keys, client, n)
            .send()
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| error.to_string())?;
        if status.is_success() && self.scenario.acknowledged(&body) {
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
pub async fn run_scenario(target: Arc<Target>, load: &Load) -> anyhow::Result<Tally> {
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

    /// The latency at `quantile`, in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        self.latencies.value_at_quantile(quantile) as f64 / 1000.0
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
        assert!((first.latency_ms(0.5) - 2.0).abs() < 0.01);
    }
}
