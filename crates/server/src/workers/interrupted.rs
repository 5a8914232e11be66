//! What becomes, at start, of the sends a stopped node left "handing over" (a SIGKILL, a power
//! cut in the middle of a round).
//!
//! With the outbox transport the outbox tells: a send whose message is whole in the outbox was
//! delivered and becomes sent; one whose message is only in `.partial` (which readers never
//! see) was not, and one with no file at all was never written: both are queued again, and
//! every file left in `.partial` is removed. Over SMTP nobody can tell whether the server got
//! the message, so such sends become "uncertain" and are never sent again: nobody gets a
//! campaign twice. Messages are traced back to their send by their `Message-ID` (see
//! [`crate::mailer::message_id`]).
//!
//! The outbox is one node's folder: with several nodes on one PostgreSQL database, each with
//! the outbox transport, a node starting while another is handing over would queue the other's
//! sends again. Such installations send over SMTP.

use std::collections::HashSet;

use tracklane_store::sends::{Interrupted, Settled};

use super::sender::Sender;
use crate::mailer::OutboxSweep;

/// Sorts the `interrupted` sends by what the outbox holds of them (`None` over SMTP): those
/// whole in the outbox were delivered, the others were not; over SMTP nothing is known, and
/// every one stays in neither list (uncertain).
pub fn sort_interrupted(interrupted: &[i64], outbox: Option<&OutboxSweep>) -> Interrupted {
    let Some(outbox) = outbox else {
        return Interrupted::default();
    };
    let (delivered, undelivered) = interrupted
        .iter()
        .partition(|send| outbox.whole.contains(send));
    Interrupted {
        delivered,
        undelivered,
    }
}

impl Sender {
    /// Settles the sends a stopped node left handing over, as this module says, and logs what
    /// became of them; run at start, before sending.
    pub async fn settle_interrupted(&self) -> anyhow::Result<Settled> {
        let interrupted = self.store.interrupted_sends().await?;
        let wanted: HashSet<i64> = interrupted.iter().copied().collect();
        let outbox = self.mailer.sweep_outbox(wanted).await?;
        if let Some(swept) = outbox.as_ref().filter(|swept| swept.removed > 0) {
            tracing::warn!(
                removed = swept.removed,
                "removed half-written messages from the outbox's .partial folder"
            );
        }
        let sorted = sort_interrupted(&interrupted, outbox.as_ref());
        let settled = self
            .store
            .settle_interrupted_sends(&sorted, self.clock.now())
            .await?;
        if settled != Settled::default() {
            tracing::warn!(
                sent = settled.sent,
                queued_again = settled.queued,
                uncertain = settled.uncertain,
                "settled the sends a stop interrupted (uncertain ones are not sent again)"
            );
        }
        Ok(settled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_tells_what_was_delivered_and_smtp_tells_nothing() {
        let outbox = OutboxSweep {
            whole: HashSet::from([1]),
            partial: HashSet::from([2]),
            removed: 2,
        };
        assert_eq!(
            sort_interrupted(&[1, 2, 3], Some(&outbox)),
            Interrupted {
                delivered: vec![1],
                undelivered: vec![2, 3],
            },
            "whole: sent; half-written or missing: queued again"
        );
        assert_eq!(
            sort_interrupted(&[1, 2, 3], None),
            Interrupted::default(),
            "over SMTP every one stays uncertain"
        );
    }
}
