//! Automations: their definitions, checked against the account before they are kept, in
//! versions (a contact goes on with the version it entered).
//!
//! # Layout
//! - [`saved`]: creating, reading, editing and deleting automations.

pub mod saved;
