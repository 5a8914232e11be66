//! Building and running the application.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::{middleware, Router};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower_http::trace::TraceLayer;
use tracklane_store::accounts::{Installation, NewAccount};
use tracklane_store::{PoolSize, Store};

use crate::client_limit::ClientLimit;
use crate::config::Settings;
use crate::health::Heartbeats;
use crate::ingest::Ingest;
use crate::mailer::Mailer;
use crate::state::{AppState, Clock, SystemClock};
use crate::track::gate::Gate;
use crate::workers::automations::Runner;
use crate::workers::membership::Membership;
use crate::workers::retention::Retention;
use crate::workers::sender::Sender;
use crate::workers::webhooks::Webhooks;
use crate::{api_v3, limits, ops, page_headers, serve, telemetry, track};

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    router: Router,
    state: AppState,
    new_account: Option<NewAccount>,
    writer: JoinHandle<()>,
    retention: Retention,
    sender: Sender,
    membership: Membership,
    automations: Runner,
    webhooks: Webhooks,
}

impl Application {
    /// Prepares the database (creating the data directory, migrating, creating the first account
    /// on first start) and binds the listener. Port 0 picks a free port: see [`Self::port`].
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Like [`Self::build`], with a clock of the caller's.
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        settings.check_reachable()?;
        let store = open_store(&settings).await?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let metrics_listener = match settings.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("listening on {address} for /metrics"))?,
            ),
            None => None,
        };
        let mut settings = settings;
        if settings.public_url.is_empty() {
            settings.public_url = format!("http://{}", listener.local_addr()?);
        }
        let mailer = Mailer::from_settings(&settings).context("the mailer")?;
        // Last of all, once nothing else can fail: the keys of the first account are shown only
        // once, by the caller, right after this returns.
        let Installation {
            token_key,
            new_account,
        } = store
            .open_installation(clock.now())
            .await
            .context("opening the installation (its first account, the token key)")?;
        let (ingest, writer) = Ingest::start(store.clone(), clock.clone(), settings.ingest_queue);
        let retention = Retention::new(
            store.clone(),
            clock.clone(),
            settings.anonymous_retention_days,
        );
        let sending = Arc::new(Notify::new());
        let sender = Sender::new(
            store.clone(),
            mailer.clone(),
            clock.clone(),
            token_key.clone(),
            settings.public_url.clone(),
            sending.clone(),
        );
        let membership = Membership::new(store.clone(), clock.clone());
        let automations = Runner::new(store.clone(), clock.clone(), sending.clone());
        let webhooks = Webhooks::new(
            store.clone(),
            clock.clone(),
            settings.allow_private_webhooks,
        )
        .context("the webhook client")?;
        let form_limit = Arc::new(ClientLimit::per_minute(settings.form_rate_per_minute));
        let state = AppState {
            form_limit,
            gate: Arc::new(Gate::new(store.clone())),
            store,
            settings: Arc::new(settings),
            clock,
            metrics: telemetry::prometheus(),
            ingest,
            token_key,
            sending,
            mailer,
            heartbeats: Heartbeats::default(),
        };
        if metrics_listener.is_none() && state.settings.metrics_token.is_none() {
            tracing::warn!(
                "/metrics is served to anyone on the public address: set --metrics-listen (an \
                 address of its own) or --metrics-token (a bearer token) to keep it private"
            );
        }
        Ok(Self {
            listener,
            metrics_listener,
            router: router(state.clone(), Router::new()),
            state,
            new_account,
            writer,
            retention,
            sender,
            membership,
            automations,
            webhooks,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |addr| addr.port())
    }

    /// The account this start created (only on the very first start), with its keys.
    pub fn take_new_account(&mut self) -> Option<NewAccount> {
        self.new_account.take()
    }

    /// Serves `extra` beside the server's own routes, behind the same layers, so that a route
    /// of the caller's (the bench's do-nothing baseline) costs what the middleware costs them.
    pub fn with_routes(mut self, extra: Router<AppState>) -> Self {
        self.router = router(self.state.clone(), extra);
        self
    }

    /// The shared state (the store, the clock).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The anonymous-data expiry worker (it also runs by itself every hour while serving).
    pub fn retention(&self) -> Retention {
        self.retention.clone()
    }

    /// The campaign sender (it also runs by itself while serving), to drive step by step in
    /// tests ([`Sender::run_once`], [`Sender::settle_interrupted`]).
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// The segment membership worker (it also runs by itself while serving), to drive round
    /// by round in tests ([`Membership::run_once`]) or to subscribe to transitions.
    pub fn membership(&self) -> Membership {
        self.membership.clone()
    }

    /// The automation runner (it also runs by itself while serving), to drive pass by pass in
    /// tests ([`Runner::run_once`]).
    pub fn automations(&self) -> Runner {
        self.automations.clone()
    }

    /// The webhook worker (it also runs by itself while serving), to drive round by round in
    /// tests ([`Webhooks::run_once`]).
    pub fn webhooks(&self) -> Webhooks {
        self.webhooks.clone()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight, lets the writer
    /// commit what it holds, and closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let health = &self.state.heartbeats;
        let retention = tokio::spawn(self.retention.run(stopped.clone(), health.clone()));
        let sender = tokio::spawn(self.sender.run(stopped.clone(), health.clone()));
        let membership = tokio::spawn(self.membership.run(stopped.clone(), health.clone()));
        let automations = tokio::spawn(self.automations.run(stopped.clone(), health.clone()));
        let delivering = self.state.settings.webhook_delivery;
        let webhook_health = health.clone();
        let webhooks = tokio::spawn(async move {
            if delivering {
                self.webhooks.run(stopped, webhook_health).await;
            }
        });
        let metrics = self.metrics_listener.map(|listener| {
            let mut stopping = stop.subscribe();
            let router = ops::metrics_router(self.state.clone());
            tokio::spawn(async move {
                let stopped = async move {
                    let _ = stopping.changed().await;
                };
                if let Err(error) = axum::serve(listener, router)
                    .with_graceful_shutdown(stopped)
                    .await
                {
                    tracing::error!(%error, "serving /metrics failed");
                }
            })
        });
        let served = serve::serve(self.listener, self.router, &self.state.settings, shutdown).await;
        let _ = stop.send(true);
        let deadline = Instant::now() + DRAIN;
        if let Some(metrics) = metrics {
            drain("metrics", metrics, deadline).await;
        }
        let store = self.state.store.clone();
        drop(self.state);
        drain("retention", retention, deadline).await;
        drain("sender", sender, deadline).await;
        drain("segment membership", membership, deadline).await;
        drain("automations", automations, deadline).await;
        drain("webhooks", webhooks, deadline).await;
        drain("ingest writer", self.writer, deadline).await;
        store.close().await;
        served
    }
}

/// How long a shutdown waits for the background tasks to stop, once the requests in flight are
/// answered.
const DRAIN: Duration = Duration::from_secs(30);

/// Waits until `deadline` for a background task to stop and logs how it ended; one still
/// running then is aborted (what it had not committed is not written, and was not
/// acknowledged), and the log says so.
async fn drain(task: &str, mut handle: JoinHandle<()>, deadline: Instant) {
    match tokio::time::timeout_at(deadline, &mut handle).await {
        Ok(ended) => report_exit(task, ended),
        Err(_) => {
            handle.abort();
            tracing::error!(task, "did not stop in time: aborted");
        }
    }
}

/// Logs how a background task ended: a panic is an error worth seeing, not a silent stop.
pub(crate) fn report_exit(task: &str, ended: Result<(), tokio::task::JoinError>) {
    match ended {
        Ok(()) => tracing::info!(task, "stopped"),
        Err(error) if error.is_panic() => tracing::error!(task, %error, "panicked"),
        Err(error) => tracing::warn!(task, %error, "was cancelled"),
    }
}

/// Connects to the configured database (creating the data directory for the embedded one) and
/// brings its schema up to date.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    if settings.uses_embedded_database() {
        writable_dir(&settings.data_dir, "data directory")?;
    }
    let size = PoolSize {
        connections: settings.db_pool_size,
    };
    let store = Store::connect(settings.database_url().expose_secret(), size)
        .await
        .context("connecting to the database")?;
    store.migrate().await.context("migrating the database")?;
    tracing::info!(engine = store.engine().name(), "database ready");
    Ok(store)
}

/// Creates `dir` when missing and checks that this process can write in it; a refusal names
/// the directory and the user the process runs as.
pub fn writable_dir(dir: &std::path::Path, what: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .and_then(|()| tempfile::tempfile_in(dir).map(drop))
        .with_context(|| {
            format!(
                "the {what} {} cannot be created or written by the user {} that runs \
                 Tracklane: create it and give that user write access, or choose another \
                 with --data-dir",
                dir.display(),
                running_user()
            )
        })
}

/// The name of the user this process runs as (its uid when it has no name).
fn running_user() -> String {
    whoami::fallible::username().unwrap_or_else(|_| "(unknown)".to_owned())
}

/// Every route of the server, and `extra` (see [`Application::with_routes`]), behind the same
/// layers.
fn router(state: AppState, extra: Router<AppState>) -> Router {
    let max_body = state.settings.max_body_bytes;
    let routes = Router::new()
        .merge(api_v3::routes(state.clone()))
        .merge(ops::routes(&state.settings))
        .merge(track::routes())
        .merge(extra)
        .layer(DefaultBodyLimit::max(max_body));
    let routes = page_headers::with_page_headers(routes);
    limits::with_deadlines(routes, &state.settings)
        .layer(middleware::from_fn(telemetry::track_requests))
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::request_span))
        .with_state(state)
}

/// A future that completes on Ctrl-C or SIGTERM. The signal handlers are installed by this
/// call, not when the future is first polled, so call it before the server starts listening: a
/// signal that arrives in between is then not lost.
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("interrupted: finishing requests in flight"),
            _ = terminate.recv() => tracing::info!("terminated: finishing requests in flight"),
        }
    })
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("interrupted: finishing requests in flight");
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// Sets its flag when dropped, as an aborted task's future is.
    struct Dropped(Arc<AtomicBool>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_task_that_does_not_stop_by_the_deadline_is_aborted() {
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = Dropped(dropped.clone());
        let stuck = tokio::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        let deadline = Instant::now() + Duration::from_millis(20);
        drain("stuck", stuck, deadline).await;
        for _ in 0..100 {
            if dropped.load(Ordering::SeqCst) {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the stuck task was not aborted");
    }
}
