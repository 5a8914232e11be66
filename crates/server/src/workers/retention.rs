//! Data expiry: visits and events never tied to a contact are deleted once older than the
//! retention period (default 30 days), and so are visitors never identified; webhook
//! deliveries leave the delivery log [`LOG_DAYS`] days after they finished.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracklane_core::time::Timestamp;
use tracklane_store::webhooks::log::LOG_DAYS;
use tracklane_store::{Store, StoreError};

use crate::health::{Heartbeats, GRACE};
use crate::state::Clock;

/// How often the worker looks for expired data.
pub const EVERY: Duration = Duration::from_secs(3600);

/// The expiry worker.
#[derive(Clone)]
pub struct Retention {
    store: Store,
    clock: Arc<dyn Clock>,
    keep_days: u32,
}

impl Retention {
    /// A worker keeping anonymous data `keep_days` days.
    pub fn new(store: Store, clock: Arc<dyn Clock>, keep_days: u32) -> Self {
        Self {
            store,
            clock,
            keep_days,
        }
    }

    /// Deletes what has expired by the clock's now; returns how many events went.
    #[tracing::instrument(name = "retention_pass", skip_all)]
    pub async fn run_once(&self) -> Result<u64, StoreError> {
        let keep = i64::from(self.keep_days) * 24 * 3600 * 1_000_000;
        let cutoff = Timestamp(self.clock.now().0.saturating_sub(keep));
        let expired = self.store.expire_anonymous(cutoff).await?;
        if expired > 0 {
            tracing::info!(expired, "deleted expired anonymous events");
        }
        let logged = LOG_DAYS * 24 * 3600 * 1_000_000;
        let finished = Timestamp(self.clock.now().0.saturating_sub(logged));
        let deliveries = self.store.expire_webhook_deliveries(finished).await?;
        if deliveries > 0 {
            tracing::info!(deliveries, "deleted webhook deliveries past the log's days");
        }
        Ok(expired)
    }

    /// Runs now and then every [`EVERY`] until `stop` changes, beating in `health`.
    pub async fn run(self, mut stop: watch::Receiver<bool>, health: Heartbeats) {
        let heart = health.register("retention", EVERY + GRACE);
        loop {
            heart.beat();
            if let Err(error) = self.run_once().await {
                tracing::error!(error = ?error, "data expiry failed");
            }
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
