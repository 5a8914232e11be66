//! Lead scoring over the ledger: models, rules, awards and the scores they sum.
//!
//! # Layout
//! - `models`: scoring models (AC's "scores").
//! - `rules`: rules with their revisions.
//! - [`ledger`]: the awards and scores as read, and manual adjustments.
//! - `settle`: settling contacts' scores as their awards change.
//! - `awarding`: awarding a rule to the timeline rows (or contacts) in a scope.
//! - `awards`: the awards one transaction writes, and the score changes they make.
//! - `holds`: the lock every writer of a contact's scores takes first.
//! - [`live`]: scoring in the membership worker's rounds (rules held while true, expiries).
//! - [`new_rows`]: awarding the rows added to contacts, apart from the rounds.
//! - `recompute`: scoring past behavior again after a rule is added, edited or deleted.

pub(crate) mod awarding;
mod awards;
pub(crate) mod holds;
pub mod ledger;
pub mod live;
mod models;
pub mod new_rows;
mod recompute;
mod rules;
mod settle;

pub use recompute::{Step, RECOMPUTE_STEP_ROWS};
pub use rules::RULES_MAX;
