//! The server under test: built in this process on a free port of 127.0.0.1 over a fresh
//! database, serving until the bench stops it.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context};
use axum::routing::post;
use axum::{Json, Router};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracklane_core::cid::TokenKey;
use tracklane_server::config::SettingsLayer;
use tracklane_server::startup::Application;
use tracklane_server::workers::membership::Membership;
use tracklane_server::workers::webhooks::Webhooks;
use tracklane_store::Store;

use super::campaign::Api;
use super::scenarios::Scenario;
use super::setup::Keys;

/// How long the server may take to finish its requests in flight and stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// The server's SMTP rate during the bench, messages/s: high enough never to be the limit.
const SMTP_RATE: u32 = 100_000;

/// The server under test, running in this process.
pub(super) struct Server {
    /// `http://127.0.0.1:PORT`.
    pub(super) base: String,
    /// The database engine's name.
    pub(super) engine: &'static str,
    /// The id and keys of the account the server created.
    pub(super) keys: Keys,
    /// The server's store, for the bulk import of `send`.
    pub(super) store: Store,
    /// The server's key for link tokens, for `click`.
    pub(super) token_key: TokenKey,
    /// The server's membership worker, whose transitions the freshness probes read.
    pub(super) membership: Membership,
    /// The server's webhook worker, which `--webhook-burst` starts itself.
    pub(super) webhooks: Webhooks,
    /// Tells the server to stop.
    stop: oneshot::Sender<()>,
    /// The task serving requests.
    serving: JoinHandle<std::io::Result<()>>,
    /// The data directory, deleted when the bench ends.
    _data_dir: TempDir,
}

/// Another node over the server's PostgreSQL database: its workers (the automation runner,
/// the sender, the membership worker) share the work with the server's, while the bench's
/// requests go to the server.
pub(super) struct Peer {
    /// Tells the node to stop.
    stop: oneshot::Sender<()>,
    /// The task serving the node.
    serving: JoinHandle<std::io::Result<()>>,
    /// The node's data directory, deleted when the bench ends.
    _data_dir: TempDir,
}

/// A node's settings over `database_url` (or SQLite in `data_dir`), on a free port of
/// 127.0.0.1.
fn settings(
    data_dir: &TempDir,
    database_url: Option<String>,
    smtp_url: Option<String>,
    webhook_delivery: bool,
) -> anyhow::Result<tracklane_server::config::Settings> {
    SettingsLayer {
        listen: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
        data_dir: Some(data_dir.path().to_owned()),
        database_url,
        smtp_url,
        smtp_rate: Some(SMTP_RATE),
        // The bench's webhook receiver is on localhost.
        allow_private_webhooks: Some(true),
        webhook_delivery: Some(webhook_delivery),
        ..SettingsLayer::default()
    }
    .resolve(SettingsLayer::default())
}

/// A route that does nothing: the baseline the benchmarks compare with, served by the bench's
/// server only.
async fn noop() -> Json<serde_json::Value> {
    Json(serde_json::json!({}))
}

/// A new temporary data directory.
fn data_dir() -> anyhow::Result<TempDir> {
    tempfile::Builder::new()
        .prefix("tracklane-bench-")
        .tempdir()
        .context("creating a temporary data directory")
}

/// Serves `app` in a task until told to stop.
fn serve(app: Application) -> (oneshot::Sender<()>, JoinHandle<std::io::Result<()>>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until_stopped(async {
        let _sent_or_dropped = stopped.await;
    }));
    (stop, serving)
}

/// Stops a node and waits for it to finish.
async fn stop_node(
    stop: oneshot::Sender<()>,
    serving: JoinHandle<std::io::Result<()>>,
) -> anyhow::Result<()> {
    // An error means the node has stopped already: awaiting it tells why.
    let _already_stopped = stop.send(());
    tokio::time::timeout(STOP_TIMEOUT, serving)
        .await
        .context("the server did not stop in time")?
        .context("the server task failed")?
        .context("serving")
}

impl Peer {
    /// Starts another node over `database_url` (PostgreSQL, where the server runs), delivering
    /// mail to `smtp_url`.
    pub(super) async fn start(
        database_url: String,
        smtp_url: Option<String>,
    ) -> anyhow::Result<Self> {
        let data_dir = data_dir()?;
        let settings = settings(&data_dir, Some(database_url), smtp_url, true)?;
        let app = Application::build(settings)
            .await
            .context("starting another node")?;
        let (stop, serving) = serve(app);
        Ok(Self {
            stop,
            serving,
            _data_dir: data_dir,
        })
    }

    /// Stops the node, waits for it to finish and deletes its data directory.
    pub(super) async fn stop(self) -> anyhow::Result<()> {
        stop_node(self.stop, self.serving).await
    }
}

impl Server {
    /// Builds the server on a free port of 127.0.0.1 over `database_url` (or SQLite in a new
    /// temporary directory), delivering mail to `smtp_url` (or the outbox), and starts serving.
    /// The database must be empty.
    pub(super) async fn start(
        database_url: Option<String>,
        smtp_url: Option<String>,
        webhook_delivery: bool,
    ) -> anyhow::Result<Self> {
        let data_dir = data_dir()?;
        let settings = settings(&data_dir, database_url, smtp_url, webhook_delivery)?;
        let mut app = Application::build(settings)
            .await
            .context("starting the server")?
            .with_routes(Router::new().route(Scenario::Noop.path(), post(noop)));
        let engine = app.state().store.engine().name();
        let Some(account) = app.take_new_account() else {
            app.state().store.close().await;
            bail!(
                "the database already has an account: `tracklane bench` needs an empty database \
                 (it creates its own account and writes many contacts and events); \
                 pass the URL of a new, empty database"
            );
        };
        let base = format!("http://127.0.0.1:{}", app.port());
        // Not the whole state: its handle on the ingest writer would keep the writer, and so
        // the server, from stopping.
        let store = app.state().store.clone();
        let token_key = app.state().token_key.clone();
        let membership = app.membership();
        let webhooks = app.webhooks();
        let (stop, serving) = serve(app);
        Ok(Self {
            base,
            engine,
            keys: Keys {
                actid: account.id.0,
                api_key: account.api_key,
                event_key: account.event_key,
            },
            store,
            token_key,
            membership,
            webhooks,
            stop,
            serving,
            _data_dir: data_dir,
        })
    }

    /// The server's API v3 through `client`.
    pub(super) fn api<'a>(&'a self, client: &'a reqwest::Client) -> Api<'a> {
        Api {
            client,
            base: &self.base,
            keys: &self.keys,
        }
    }

    /// Stops the server, waits for it to finish and deletes its data directory.
    pub(super) async fn stop(self) -> anyhow::Result<()> {
        stop_node(self.stop, self.serving).await
    }
}
