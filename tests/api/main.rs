//! End-to-end tests of the API v3: the real server on a random port, each test once on SQLite
//! and once on PostgreSQL.

mod auth;
mod bounds;
mod browser;
mod connections;
mod contacts;
mod events;
mod fields;
mod forms;
mod full_disk;
mod history;
mod lists;
mod mail;
mod mail_failures;
mod messages;
mod nodes;
mod nul_text;
mod ops;
mod pages;
mod personalization;
mod scanner;
mod score_ledger;
mod scores;
mod segment_agreement;
mod segment_campaigns;
mod segment_live;
mod segment_world;
mod segments;
mod sending;
mod smtp;
mod tags;
mod tokens;
mod tracking;
mod webhook_attempts;
mod webhooks;
mod whitelist;
