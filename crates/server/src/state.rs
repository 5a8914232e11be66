//! What every handler shares.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tracklane_core::time::Timestamp;
use tracklane_store::Store;

use crate::config::Settings;

/// Where handlers and workers read the time, so that tests can move it.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until moved: for tests.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(AtomicI64::new(at.0))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// The state shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The settings.
    pub settings: Arc<Settings>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Renders the metrics.
    pub metrics: PrometheusHandle,
    /// The group-commit writer of tracking data.
    pub ingest: crate::ingest::Ingest,
    /// What the trackers may record, per account, cached.
    pub gate: Arc<crate::track::gate::Gate>,
    /// The installation's key for contact tokens (`tl_cid`).
    pub token_key: tracklane_core::cid::TokenKey,
    /// Wakes the campaign sender when a campaign starts.
    pub sending: Arc<tokio::sync::Notify>,
    /// Delivers test sends (campaign mail goes through the sender).
    pub mailer: crate::mailer::Mailer,
    /// How often one client address may submit forms.
    pub form_limit: Arc<crate::client_limit::ClientLimit>,
    /// The background workers' heartbeats, which `/healthz` reads.
    pub heartbeats: crate::health::Heartbeats,
}

impl AppState {
    /// The current time of the state's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
