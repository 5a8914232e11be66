//! The webhook worker: turns recorded changes into deliveries, then makes the due deliveries'
//! attempts, several at once, and records what came of each: continuously while serving
//! ([`pipeline`], with each account's and receiver's share in [`shares`]), or round by round
//! ([`Webhooks::run_once`], for tests). See
//! [`crate::webhooks::attempt`] for what an answer means, and
//! [`tracklane_core::webhook::retry`] for when a delivery is tried again). A delivery is taken
//! under a lease longer than an attempt, so that one a stopped node was making is made again
//! once its lease is over: a receiver may get a delivery twice (at least once), always under
//! the same `webhook-id`.

mod pipeline;
pub mod shares;

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::sync::watch;
use tracklane_core::ids::WebhookId;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::retry;
use tracklane_store::webhooks::deliveries::{
    AttemptRecord, DeliveryStatus, DueDelivery, Saturated,
};
use tracklane_store::{Store, StoreError};

use crate::health::{Heartbeats, GRACE};
use crate::state::Clock;
use crate::webhooks::attempt::{Deliverer, Outcome, Outgoing};

/// How long an attempt may take.
pub const ATTEMPT_DEADLINE: Duration = Duration::from_secs(10);
/// How long a taken delivery is left to its worker.
const LEASE: Duration = Duration::from_secs(60);
/// Changes turned into deliveries at once.
const DISPATCH: i64 = 1_000;
/// How long the worker sleeps when it found nothing to do.
const IDLE: Duration = Duration::from_millis(250);

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Deliveries made from changes.
    pub dispatched: usize,
    /// Attempts made.
    pub attempted: usize,
}

/// The webhook worker.
#[derive(Clone)]
pub struct Webhooks {
    store: Store,
    clock: Arc<dyn Clock>,
    deliverer: Deliverer,
}

impl Webhooks {
    /// A worker over `store` whose attempts reach private receivers only when
    /// `allow_private`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        allow_private: bool,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            store,
            clock,
            deliverer: Deliverer::new(allow_private, ATTEMPT_DEADLINE)?,
        })
    }

    /// One round: the changes recorded so far become deliveries, and up to
    /// [`shares::TAKEN`] deliveries due now are attempted, all at once, and recorded.
    #[tracing::instrument(name = "webhook_round", skip_all)]
    pub async fn run_once(&self) -> Result<Round, StoreError> {
        let dispatched = self
            .store
            .dispatch_webhook_changes(DISPATCH, self.clock.now())
            .await?;
        let due = self
            .store
            .claim_webhook_deliveries(
                self.clock.now(),
                LEASE,
                shares::TAKEN as i64,
                WebhookId(0),
                &Saturated::default(),
            )
            .await?;
        let attempted = due.len();
        let made: Vec<(DueDelivery, AttemptRecord, Timestamp)> = stream::iter(due)
            .map(|delivery| async move {
                let (record, at) = self.attempt(&delivery).await;
                (delivery, record, at)
            })
            .buffer_unordered(shares::TAKEN)
            .collect()
            .await;
        self.record(&made).await?;
        Ok(Round {
            dispatched,
            attempted,
        })
    }

    /// Records attempts made, in one transaction.
    async fn record(
        &self,
        made: &[(DueDelivery, AttemptRecord, Timestamp)],
    ) -> Result<(), StoreError> {
        let recorded: Vec<_> = made
            .iter()
            .map(|(delivery, record, at)| (delivery.id, delivery.webhook, record.clone(), *at))
            .collect();
        self.store.record_webhook_attempts(&recorded).await?;
        for (delivery, record, _) in made {
            if record.status == DeliveryStatus::Gone {
                tracing::warn!(
                    webhook = delivery.webhook.0,
                    account = delivery.account.0,
                    "a receiver answered 410 Gone: its webhook is disabled"
                );
            }
        }
        Ok(())
    }

    /// Makes one attempt at `delivery`; answers what to record, and when it was made.
    async fn attempt(&self, delivery: &DueDelivery) -> (AttemptRecord, Timestamp) {
        let message_id = format!("msg_{}", delivery.id.0);
        let outgoing = Outgoing {
            message_id: &message_id,
            url: &delivery.url,
            content_type: &delivery.content_type,
            body: &delivery.body,
            secret: &delivery.secret,
        };
        let at = self.clock.now();
        let outcome = self.deliverer.attempt(&outgoing, at).await;
        (judge(delivery, outcome, at), at)
    }

    /// Makes attempts continuously until `stop` changes (see [`pipeline`]), beating in
    /// `health`.
    pub async fn run(self, stop: watch::Receiver<bool>, health: Heartbeats) {
        pipeline::run(self, stop, health.register("webhooks", GRACE)).await;
    }
}

/// Where a delivery stands after an attempt made at `at` came to `outcome`.
fn judge(delivery: &DueDelivery, outcome: Outcome, at: Timestamp) -> AttemptRecord {
    match outcome {
        Outcome::Delivered { status, excerpt } => AttemptRecord {
            status: DeliveryStatus::Delivered,
            http_status: Some(status),
            detail: excerpt,
        },
        Outcome::Gone { excerpt } => AttemptRecord {
            status: DeliveryStatus::Gone,
            http_status: Some(410),
            detail: excerpt,
        },
        Outcome::Failed { status, detail } => AttemptRecord {
            status: DeliveryStatus::Failed,
            http_status: status,
            detail,
        },
        Outcome::Retry {
            status,
            retry_after,
            detail,
        } => {
            let failed = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
            let delay = retry::delay(failed, jitter(delivery), retry_after);
            let first = delivery.first_attempt_at.unwrap_or(at);
            let since_first =
                Duration::from_micros(u64::try_from(at.0 - first.0).unwrap_or_default());
            let status_now = if retry::within_horizon(since_first, delay) {
                let micros = i64::try_from(delay.as_micros()).unwrap_or(i64::MAX / 2);
                DeliveryStatus::Pending(Timestamp(at.0 + micros))
            } else {
                DeliveryStatus::Failed
            };
            AttemptRecord {
                status: status_now,
                http_status: status,
                detail,
            }
        }
    }
}

/// A draw in `0.0..1.0` that differs from delivery to delivery and attempt to attempt, so
/// that retries after one outage spread out.
fn jitter(delivery: &DueDelivery) -> f64 {
    let mixed = (delivery.id.0 as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((delivery.attempts as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}
