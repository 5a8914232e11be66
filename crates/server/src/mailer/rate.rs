//! The SMTP sending rate: at most N messages per second from this node.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Spaces sends out evenly: each caller is given the next free slot, one every `1/N` seconds,
/// and sleeps until it comes (a timer, never a busy loop). Clones share the slots, so every task
/// sending through one [`super::Mailer`] counts against the same rate. The limit is per node:
/// several nodes sharing a database each send at this rate.
///
/// Slots are not saved up: after an idle minute the next message goes at once, and the one after
/// it waits its turn, so no burst follows a pause.
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// The time between two sends; `None` when unlimited.
    spacing: Option<Duration>,
    /// The earliest moment the next send may start.
    next_slot: Arc<Mutex<Instant>>,
}

impl RateLimit {
    /// A limit of `per_second` messages per second; 0 means no limit.
    pub fn per_second(per_second: u32) -> Self {
        let spacing = (per_second > 0).then(|| Duration::from_secs(1) / per_second);
        Self {
            spacing,
            next_slot: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Waits for this caller's slot.
    pub async fn wait(&self) {
        let Some(spacing) = self.spacing else {
            return;
        };
        let slot = {
            // The lock is held for two assignments, never across an await; a panic while
            // holding it cannot leave the instant half-written, so a poisoned lock is still good.
            let mut next = self
                .next_slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let slot = (*next).max(Instant::now());
            *next = slot + spacing;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sends_are_spaced_by_the_rate() {
        let limit = RateLimit::per_second(10);
        let start = Instant::now();
        for _ in 0..5 {
            limit.wait().await;
        }
        // The first goes at once, the next four 100 ms apart.
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_the_slots() {
        let limit = RateLimit::per_second(4);
        let start = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let limit = limit.clone();
                tokio::spawn(async move { limit.wait().await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::from_millis(750));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_means_no_limit() {
        let limit = RateLimit::per_second(0);
        let start = Instant::now();
        for _ in 0..1000 {
            limit.wait().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
