//! Webhooks on the server's side.
//!
//! - [`receiver`]: whether a receiver may be reached, by the addresses its name resolves to now
//!   (checked when a subscription is saved, and again at each attempt and connection, so that a
//!   name that later resolves to a private address is not delivered to).
//! - [`attempt`]: one signed attempt at a delivery, and what its answer means.

pub mod attempt;
pub mod receiver;
