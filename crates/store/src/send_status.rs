//! Where a send is, as its row stores it: apart from [`crate::sends`], so that the modules
//! that only read sends' statuses (clicks, campaign starts, segments) do not import it.

/// Where a send is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Waiting for its turn.
    Queued = 0,
    /// Claimed and being handed over.
    HandingOver = 1,
    /// Accepted by the mail server (or written to the outbox).
    Sent = 2,
    /// Refused for good: the contact is bounced.
    Bounced = 3,
    /// Was being handed over when a node stopped: not sent again.
    Uncertain = 4,
    /// Dropped while queued, by a stop of its campaign.
    Cancelled = 5,
}
