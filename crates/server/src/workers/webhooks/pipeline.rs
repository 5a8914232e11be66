//! The worker's continuous run. Deliveries are taken as room frees, each attempt runs as its
//! own task once its receiver host has a free connection, and a recorder writes outcomes in
//! batches as they come: a slow receiver holds only its own share, never a round of everyone
//! else's (see [`super::shares`]).
//!
//! A delivery that waits too long for its host, or that is still waiting when the worker
//! stops, is given back unmade and is due again at once. Attempts under way when the worker
//! stops are finished and recorded before it returns.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tracklane_core::ids::WebhookId;
use tracklane_core::time::Timestamp;
use tracklane_store::webhooks::deliveries::{AttemptRecord, DueDelivery};

use super::shares::{Shares, Taken};
use super::{Webhooks, DISPATCH, IDLE, LEASE};
use crate::health::Heartbeat;

/// The most deliveries taken by one claim.
const CLAIM: usize = 128;
/// The least room worth a claim.
const CLAIM_LEAST: usize = 16;
/// How long a taken delivery waits for a connection to its receiver host before it is given
/// back (an attempt then still ends well within its lease).
const HOST_WAIT: Duration = Duration::from_secs(30);
/// The most outcomes recorded in one transaction.
const RECORD: usize = 128;

/// What became of a taken delivery.
enum Done {
    /// Its attempt was made at this time, with this outcome.
    Made(DueDelivery, AttemptRecord, Timestamp),
    /// It was not attempted, and goes back.
    Unmade(DueDelivery),
}

/// Runs the worker until `stop` changes, beating `heart` after each feed.
pub(super) async fn run(worker: Webhooks, mut stop: watch::Receiver<bool>, heart: Heartbeat) {
    let shares = Shares::default();
    let freed = Arc::new(Notify::new());
    let (done, outcomes) = mpsc::unbounded_channel();
    let recorder = tokio::spawn(record(
        worker.clone(),
        outcomes,
        shares.clone(),
        freed.clone(),
    ));
    let mut attempts = JoinSet::new();
    let mut turn = WebhookId(0);
    while !*stop.borrow() {
        heart.beat();
        let fed = feed(&worker, &shares, &done, &mut attempts, &stop, &mut turn).await;
        let busy = match fed {
            Ok(busy) => busy,
            Err(error) => {
                tracing::error!(error = ?error, "a webhook claim failed");
                false
            }
        };
        while attempts.try_join_next().is_some() {}
        if !busy {
            tokio::select! {
                () = tokio::time::sleep(IDLE) => {}
                () = freed.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }
    drop(done);
    while attempts.join_next().await.is_some() {}
    if let Err(panic) = recorder.await {
        tracing::error!(error = ?panic, "the webhook recorder failed");
    }
}

/// Turns recorded changes into deliveries and takes as many due ones as there is room for,
/// the subscriptions taking turns from the one after `turn` (which moves on to the last one
/// served, or back to the first when the others had too few); answers whether there may be
/// more to do at once.
async fn feed(
    worker: &Webhooks,
    shares: &Shares,
    done: &mpsc::UnboundedSender<(Taken, Done)>,
    attempts: &mut JoinSet<()>,
    stop: &watch::Receiver<bool>,
    turn: &mut WebhookId,
) -> Result<bool, tracklane_store::StoreError> {
    let store = &worker.store;
    let dispatched = store
        .dispatch_webhook_changes(DISPATCH, worker.clock.now())
        .await?;
    let asked = shares.room().min(CLAIM);
    if asked < CLAIM_LEAST {
        return Ok(false);
    }
    let mut claimed = 0;
    loop {
        let after = *turn;
        let due = store
            .claim_webhook_deliveries(
                worker.clock.now(),
                LEASE,
                (asked - claimed) as i64,
                after,
                &shares.saturated(),
            )
            .await?;
        claimed += due.len();
        *turn = match due.last() {
            Some(last) if claimed == asked => last.webhook,
            _ => WebhookId(0),
        };
        for delivery in due {
            let (taken, host) = shares.take(&delivery);
            attempts.spawn(attempt(
                worker.clone(),
                delivery,
                (taken, host),
                done.clone(),
                stop.clone(),
            ));
        }
        if claimed == asked || after == WebhookId(0) {
            return Ok(dispatched > 0 || claimed == asked);
        }
    }
}

/// Makes `delivery`'s attempt once its host has a free connection, and passes on what came
/// of it.
async fn attempt(
    worker: Webhooks,
    delivery: DueDelivery,
    (taken, host): (Taken, Arc<Semaphore>),
    done: mpsc::UnboundedSender<(Taken, Done)>,
    mut stop: watch::Receiver<bool>,
) {
    let permit = tokio::select! {
        permit = tokio::time::timeout(HOST_WAIT, host.acquire_owned()) => {
            permit.ok().and_then(Result::ok)
        }
        _ = stop.wait_for(|stopped| *stopped) => None,
    };
    let outcome = match permit {
        Some(permit) => {
            let (record, at) = worker.attempt(&delivery).await;
            drop(permit);
            Done::Made(delivery, record, at)
        }
        None => Done::Unmade(delivery),
    };
    // The recorder outlives every attempt.
    let _ = done.send((taken, outcome));
}

/// Records outcomes in batches as they come, gives back the unmade deliveries, and frees
/// their room.
async fn record(
    worker: Webhooks,
    mut outcomes: mpsc::UnboundedReceiver<(Taken, Done)>,
    shares: Shares,
    freed: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(RECORD);
    while outcomes.recv_many(&mut batch, RECORD).await > 0 {
        let mut made = Vec::new();
        let mut unmade = Vec::new();
        for (taken, outcome) in batch.drain(..) {
            shares.give_back(&taken);
            match outcome {
                Done::Made(delivery, record, at) => made.push((delivery, record, at)),
                Done::Unmade(delivery) => unmade.push(delivery.id),
            }
        }
        // A failure leaves the deliveries leased: they are attempted again after the lease.
        if let Err(error) = worker.record(&made).await {
            tracing::error!(error = ?error, "recording webhook attempts failed");
        }
        let now = worker.clock.now();
        if let Err(error) = worker.store.release_webhook_deliveries(&unmade, now).await {
            tracing::error!(error = ?error, "giving back webhook deliveries failed");
        }
        freed.notify_one();
    }
}
