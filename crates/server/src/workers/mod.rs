//! Background work that runs beside the HTTP server.
//!
//! # Layout
//! - [`retention`]: anonymous data expiry.
//! - [`sender`]: the campaign sender.
//! - [`membership`]: live segment membership.
//! - [`scoring`]: awarding the rows added to contacts, beside the membership rounds.
//! - [`interrupted`]: what becomes, at start, of the sends a stopped node left half-done.
//! - [`webhooks`]: webhook deliveries: made from changes, attempted, tried again.
//! - [`automations`]: automation runs: claimed when due, walked, moved with their effects.

pub mod automations;
pub mod interrupted;
pub mod membership;
pub mod retention;
pub mod scoring;
pub mod sender;
pub mod webhooks;
