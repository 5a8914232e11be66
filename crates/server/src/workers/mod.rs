//! Background work that runs beside the HTTP server.
//!
//! # Layout
//! - [`retention`]: anonymous data expiry.
//! - [`sender`]: the campaign sender.
//! - [`membership`]: live segment membership.
//! - [`interrupted`]: what becomes, at start, of the sends a stopped node left half-done.

pub mod interrupted;
pub mod membership;
pub mod retention;
pub mod sender;
