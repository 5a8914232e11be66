//! Automations: their definitions, checked against the account before they are kept, in
//! versions (a contact goes on with the version it entered).
//!
//! # Layout
//! - [`saved`]: creating, reading, editing and deleting automations.
//! - [`runs`]: contacts entering them, and their runs read, listed and removed.
//! - [`bulk`]: a list's or a segment's contacts entering at once.
//! - [`claims`]: the worker's side: claiming due runs and answering their steps' questions.
//! - [`moves`]: moving the runs with their effects.
//! - [`effects`]: the moves' effects, applied plainly, or carefully after a refusal.
//! - [`emails`]: the email steps' sends, queued with the moves.
//! - [`dates`]: the date triggers' rows and firings.
//! - [`posts`]: the webhook steps' deliveries, queued with the moves.
//! - [`history`]: goals reached and paths taken, and the contacts' timeline rows.
//! - [`entries`]: contacts entered by the rows added to them that meet a behavior trigger.

pub mod bulk;
pub mod claims;
pub mod dates;
mod effects;
mod emails;
pub mod entries;
mod history;
pub mod moves;
mod posts;
pub mod runs;
pub mod saved;
