//! Lead scoring: models (AC's "scores") whose rules award points for what a contact does or is,
//! a ledger of every award, and a score per contact and model that is the sum of the contact's
//! live awards.
//!
//! # Layout
//! - [`model`]: a scoring model and its validated input.
//! - [`rule`]: a rule (a condition in the segment definition format, points, expiry,
//!   frequency, cap), its validated input, and which of two ways it scores ([`rule::Scoring`]).
//! - [`award`]: one award of the ledger and what caused it.

pub mod award;
pub mod model;
pub mod rule;
