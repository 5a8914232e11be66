//! Tracklane's pure domain: the plain types and functions that say what a contact, a tag, a list
//! or a custom field is, and which inputs are acceptable. Nothing here does I/O.
//!
//! # Layout
//! - [`ids`]: typed identifiers (`ContactId`, `TagId`, ...).
//! - [`time`]: [`time::Timestamp`], the one time type, and its API rendering.
//! - [`invalid`]: [`invalid::Invalid`], why an input was refused and which attribute was wrong.
//! - [`text`]: bounded text attributes.
//! - [`email`]: [`email::ContactEmail`], a normalised, validated address.
//! - [`contact`], [`tag`], [`list`], [`field`]: raw inputs and the validated drafts and patches
//!   built from them.
//! - [`message`]: email messages and campaigns.
//! - [`page`]: pagination (`limit`, `offset`).
//! - [`key`]: API and event keys: generation and the hash that is stored.
//! - [`visit`]: page URLs, matching whitelisted domains, visitor ids and when a site visit
//!   starts.
//! - [`site_domain`]: what the site tracking whitelist may hold (Public Suffix List aware).
//! - [`device`]: desktop, mobile, tablet or bot, from the user agent.
//! - [`event`]: events to record and recorded ones, page visits and custom events.
//! - [`template`]: personalization of messages: merge tags, fallbacks, conditional blocks.
//! - [`cid`]: the encrypted contact token (`tl_cid`) of tracked links.
//! - [`links`]: tracked links of a message's HTML part: finding and rewriting them.
//! - [`link_action`]: what a click on a campaign's link does to the contact.
//! - [`scanner`]: whether a click or an open was made by a mail scanner or bot, not a person.
//! - [`form`]: form definitions, their embeddable snippet, and reading a submission.
//! - [`score`]: lead scoring: models, rules and the ledger of awards.
//! - [`segment`]: the definition format of segments (and scoring, automation conditions, goals
//!   and waits), its validation, and the one-contact evaluator.
//! - [`automation`]: automation definitions (triggers, steps, their checks).
//! - [`webhook`]: webhook subscriptions, their event types and the receivers they may reach.

pub mod automation;
pub mod cid;
pub mod contact;
pub mod device;
pub mod email;
pub mod email_body;
pub mod event;
pub mod field;
pub mod form;
pub mod ids;
pub mod invalid;
pub mod key;
pub mod link_action;
pub mod links;
pub mod list;
pub mod message;
pub mod page;
pub mod scanner;
pub mod score;
pub mod segment;
pub mod site_domain;
pub mod tag;
pub mod template;
pub mod text;
pub mod time;
pub mod visit;
pub mod webhook;
