//! Background work that runs beside the HTTP server.
//!
//! # Layout
//! - [`retention`]: anonymous data expiry.
//! - [`sender`]: the campaign sender.
//! - [`interrupted`]: what becomes, at start, of the sends a stopped node left half-done.

pub mod interrupted;
pub mod retention;
pub mod sender;
