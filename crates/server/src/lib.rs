//! Tracklane's HTTP server: the ActiveCampaign-compatible API v3 and the operations routes, over
//! the [`tracklane_store::Store`].
//!
//! The service is a library: [`startup::Application::build`] prepares the data directory and the
//! database, binds the listener and exposes its port; [`startup::Application::run_until_stopped`]
//! serves until a shutdown signal and then finishes the requests in flight.
//!
//! # Layout
//! - [`config`]: typed settings from flags, `TRACKLANE_*` variables and a TOML file.
//! - [`startup`]: building and running the application.
//! - [`state`]: what every handler shares, including the [`state::Clock`].
//! - [`api_v3`]: `/api/3/...`: auth, errors, extractors, one module per resource.
//! - [`ops`]: `/healthz` and `/metrics`.
//! - [`health`]: the background workers' heartbeats, which `/healthz` reads.
//! - [`track`]: the snippet, its collector, `POST /event` and the `/v1` Segment-style API.
//! - [`ingest`]: the group-commit writer every tracked visit and event goes through.
//! - [`campaigns`]: starting campaigns, at once or at their scheduled time.
//! - [`workers`]: background work: anonymous data expiry, the campaign sender, live segment
//!   membership and scoring, automations, webhook deliveries.
//! - [`mailer`]: mail delivery over SMTP or into the outbox folder, with retry delays.
//! - [`serve`]: connections: header and idle deadlines, the connection cap, graceful shutdown.
//! - [`limits`]: deadlines for request bodies and whole requests.
//! - [`page_headers`]: `nosniff` on every answer; no framing and no referrer for HTML pages.
//! - [`telemetry`]: logs (text or JSON) and request metrics.
//! - [`client_ip`]: the client's address (`X-Forwarded-For` only from trusted proxies).
//! - [`client_limit`]: per-client-address rate limits.
//! - [`unstorable`]: finding text no engine stores (a NUL character) in request input.
//! - [`webhooks`]: what webhook deliveries may reach (receivers' resolved addresses).

#![recursion_limit = "256"]

pub mod api_v3;
pub mod campaigns;
pub mod client_ip;
pub mod client_limit;
pub mod config;
pub mod health;
pub mod ingest;
pub mod limits;
pub mod mailer;
pub mod ops;
pub mod page_headers;
pub mod serve;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod track;
pub mod unstorable;
pub mod webhooks;
pub mod workers;
