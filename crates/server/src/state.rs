//! What every handler shares.

use std::sync::Arc;

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
}

impl AppState {
    /// The current time of the state's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
