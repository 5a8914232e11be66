//! The end-to-end test harness: starts the real server on a random port against a fresh
//! database of either engine and talks HTTP to it.
//!
//! PostgreSQL comes from `TRACKLANE_TEST_POSTGRES_URL` (a server URL whose user may create
//! databases) when it is set; otherwise the harness starts a throwaway cluster of its own, once
//! per test process, which stops and deletes itself when the process ends (see [`postgres`]).
//! Every test gets a database of its own.
//!
//! # Layout
//! - [`TestApp`]: one server, its keys, its workers, and fixtures made through the API.
//! - [`http`]: the requests a test sends to it, answering [`Answer`]s.
//! - [`postgres`]: the throwaway cluster.
//! - [`smtp`]: a real SMTP server on localhost that keeps what it receives ([`SmtpSink`]).
//! - [`scripted_smtp`]: an SMTP server whose answers a test scripts ([`ScriptedSmtp`]).
//! - [`receiver`]: a webhook receiver whose answers a test scripts ([`receiver::Receiver`]).
//! - [`wait_for_files`]: waits for mail to land in a folder (the outbox, a Maildir).
//! - [`both_engines!`]: runs each test function once per engine.

pub mod http;
pub mod postgres;
pub mod receiver;
pub mod scripted_smtp;
pub mod smtp;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::sync::oneshot;
use tracklane_core::cid::TokenKey;
use tracklane_core::ids::AccountId;
use tracklane_core::time::Timestamp;
use tracklane_server::config::{Settings, SettingsLayer};
use tracklane_server::startup::Application;
use tracklane_server::state::{Clock, ManualClock};
use tracklane_server::telemetry::log_filter;
use tracklane_server::workers::automations::Runner;
use tracklane_server::workers::membership::Membership;
use tracklane_server::workers::retention::Retention;
use tracklane_server::workers::sender::Sender;
use tracklane_server::workers::webhooks::Webhooks;
/// A storage engine to test against: the store's own.
pub use tracklane_store::Engine;
use tracklane_store::Store;

pub use http::Answer;
pub use scripted_smtp::ScriptedSmtp;
pub use smtp::SmtpSink;

/// With `TEST_LOG` set, the servers' logs (at `RUST_LOG`'s levels, or the server's default
/// ones) go to the test's output, which a failing test shows.
fn show_logs_when_asked() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _already_set = tracing_subscriber::fmt()
            .with_env_filter(log_filter())
            .with_test_writer()
            .try_init();
    }
}

/// A running server with a fresh database and its first account.
pub struct TestApp {
    /// The engine behind the server.
    pub engine: Engine,
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The first account.
    pub account: AccountId,
    /// The first account's API key.
    pub api_key: String,
    /// The first account's event key.
    pub event_key: String,
    /// The server's store, for setting up what the API cannot (other accounts).
    pub store: Store,
    /// The server's clock: it stands still until a test moves it.
    pub clock: Arc<ManualClock>,
    /// The anonymous-data expiry worker, to run on demand.
    pub retention: Retention,
    /// The campaign sender, to drive step by step (it also runs by itself).
    pub sender: Sender,
    /// The segment membership worker, to drive round by round (it also runs by itself).
    pub membership: Membership,
    /// The automation runner, to drive pass by pass (it also runs by itself).
    pub automations: Runner,
    /// The webhook worker, to drive round by round (it also runs by itself).
    pub webhooks: Webhooks,
    token_key: TokenKey,
    client: reqwest::Client,
    settings: Settings,
    shutdown: Option<oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts a server on `engine` with the default settings.
    pub async fn spawn(engine: Engine) -> Self {
        Self::spawn_with(engine, SettingsLayer::default()).await
    }

    /// Starts a server on `engine` whose site tracking whitelist may hold local sites
    /// (`localhost`, `127.0.0.1`), as a developer's may.
    pub async fn spawn_for_local_sites(engine: Engine) -> Self {
        let settings = SettingsLayer {
            allow_local_sites: Some(true),
            ..SettingsLayer::default()
        };
        Self::spawn_with(engine, settings).await
    }

    /// Starts a server on `engine` whose webhooks may go to private receivers (the tests'
    /// receivers on localhost).
    pub async fn spawn_for_webhooks(engine: Engine) -> Self {
        let settings = SettingsLayer {
            allow_private_webhooks: Some(true),
            ..SettingsLayer::default()
        };
        Self::spawn_with(engine, settings).await
    }

    /// Starts a server on `engine` with some settings of the caller's.
    pub async fn spawn_with(engine: Engine, mut settings: SettingsLayer) -> Self {
        show_logs_when_asked();
        let data_dir = tempfile::tempdir().expect("a temporary data directory");
        settings.listen = Some("127.0.0.1:0".parse().expect("an address"));
        settings.data_dir = Some(data_dir.path().to_path_buf());
        if engine == Engine::Postgres {
            settings.database_url = Some(postgres::fresh_database().await);
        }
        let settings = settings
            .resolve(SettingsLayer::default())
            .expect("valid settings");
        let clock = Arc::new(ManualClock::new(Timestamp::now()));
        let mut app = Application::build_with_clock(settings.clone(), clock.clone())
            .await
            .expect("the server starts");
        let account = app
            .take_new_account()
            .expect("a fresh database gets a first account");
        let mut started = Self {
            engine,
            address: String::new(),
            account: account.id,
            api_key: account.api_key.expose_secret().to_owned(),
            event_key: account.event_key.expose_secret().to_owned(),
            store: app.state().store.clone(),
            clock,
            retention: app.retention(),
            sender: app.sender(),
            membership: app.membership(),
            automations: app.automations(),
            webhooks: app.webhooks(),
            token_key: app.state().token_key.clone(),
            client: reqwest::Client::new(),
            settings,
            shutdown: None,
            serving: None,
            _data_dir: data_dir,
        };
        started.serve(app);
        started
    }

    /// Stops the server, waiting until its workers have stopped, and starts it again on the
    /// same database, with the same clock (on a new port).
    pub async fn restart(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving
                .await
                .expect("the server stops")
                .expect("the server stops cleanly");
        }
        let app = Application::build_with_clock(self.settings.clone(), self.clock.clone())
            .await
            .expect("the server starts again");
        self.store = app.state().store.clone();
        self.retention = app.retention();
        self.sender = app.sender();
        self.membership = app.membership();
        self.automations = app.automations();
        self.webhooks = app.webhooks();
        self.serve(app);
    }

    /// Serves `app` until the test stops it or ends.
    fn serve(&mut self, app: Application) {
        let (shutdown, stopped) = oneshot::channel::<()>();
        self.address = format!("http://127.0.0.1:{}", app.port());
        self.shutdown = Some(shutdown);
        self.serving = Some(tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        })));
    }

    /// Runs membership rounds until one finds nothing to do and no segment waits to be
    /// computed nor scoring rule has steps to take (the server's own worker may be at one):
    /// every change committed before the call is then reflected in the stored members and
    /// scores. A failed round (PostgreSQL may abort one that deadlocks with the server's
    /// worker) is run again, as the worker does.
    pub async fn settle_segments(&self) {
        let mut failed = None;
        for _ in 0..1000 {
            match self.membership.run_once().await {
                Ok(round) if round.computed == 0 && round.checked == 0 && round.scored == 0 => {
                    let waiting = self.store.segments_to_compute().await.expect("the store");
                    let counting = self.store.score_rules_to_step().await.expect("the store");
                    if waiting.is_empty() && counting.is_empty() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Ok(_) => {}
                Err(error) => failed = Some(error),
            }
        }
        panic!("segment membership did not settle in 1000 rounds (last failure: {failed:?})");
    }

    /// Runs automation passes until no run or date trigger is due at the clock's time (the
    /// server's own runner may hold some): each has then moved as far as it can.
    pub async fn settle_automations(&self) {
        for _ in 0..1000 {
            if let Err(error) = self.automations.run_once().await {
                panic!("an automation pass failed: {error:?}");
            }
            let now = Clock::now(&*self.clock);
            let runs = self.store.runs_due(now).await.expect("the store");
            let dates = self.store.next_date_due().await.expect("the store");
            if runs == 0 && dates.is_none_or(|at| at.0 > now.0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("automations did not settle in 1000 passes");
    }

    /// A plain TCP connection to the server, for speaking HTTP by hand.
    pub async fn connect_raw(&self) -> tokio::net::TcpStream {
        let address = self.address.trim_start_matches("http://");
        tokio::net::TcpStream::connect(address)
            .await
            .expect("the server accepts connections")
    }

    /// The server's database, for a test that opens a connection of its own beside the
    /// server's (to hold a lock, or to break a table on purpose).
    pub fn database_url(&self) -> String {
        self.settings.database_url().expose_secret().to_owned()
    }

    /// The server's data directory (where the SQLite file is; the outbox is its `outbox`
    /// folder).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    /// A new contact with this email; answers its id.
    pub async fn new_contact(&self, email: &str) -> String {
        let contact = serde_json::json!({"contact": {"email": email}});
        self.create("/api/3/contacts", contact).await
    }

    /// A new contact tag with this name; answers its id.
    pub async fn new_tag(&self, name: &str) -> String {
        let tag = serde_json::json!({"tag": {"tag": name, "tagType": "contact"}});
        self.create("/api/3/tags", tag).await
    }

    /// A new list with this name; answers its id.
    pub async fn new_list(&self, name: &str) -> String {
        let list = serde_json::json!({"list": {"name": name}});
        self.create("/api/3/lists", list).await
    }

    /// A draft campaign to `list` of a new message with these attributes (`subject`,
    /// `fromemail`, `html`, `text`: AC's names); answers the campaign's id.
    pub async fn draft_campaign(&self, list: &str, message: Value) -> String {
        let name = message["subject"].clone();
        let message = self
            .create("/api/3/messages", serde_json::json!({ "message": message }))
            .await;
        let campaign =
            serde_json::json!({"campaign": {"name": name, "message": message, "list": list}});
        self.create("/api/3/campaigns", campaign).await
    }

    /// Starts sending `campaign`; fails the test unless it started.
    pub async fn send_campaign(&self, campaign: &str) {
        let path = format!("/api/3/campaigns/{campaign}/send");
        let started = self.post(&path, serde_json::json!({})).await;
        assert_eq!(started.status, 200, "sending {campaign}: {}", started.text);
    }

    /// The API key of a new, second account of the same installation (another tenant).
    pub async fn other_account_key(&self) -> String {
        let other = self
            .store
            .create_account("Other", Timestamp::now())
            .await
            .expect("a second account");
        other.api_key.expose_secret().to_owned()
    }

    /// The installation's token key, to open and seal link and contact tokens as the server
    /// does.
    pub fn token_key(&self) -> TokenKey {
        self.token_key.clone()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Contact drafts of these emails, for syncing many contacts at once through the store.
pub fn contact_drafts<S: Into<String>>(
    emails: impl IntoIterator<Item = S>,
) -> Vec<tracklane_core::contact::ContactDraft> {
    emails
        .into_iter()
        .map(|email| {
            tracklane_core::contact::ContactInput {
                email: Some(email.into()),
                ..tracklane_core::contact::ContactInput::default()
            }
            .into_draft()
            .expect("a valid email")
        })
        .collect()
}

/// The contents of the files in `dir` that `wanted` accepts, sorted by name, once there are at
/// least `count` of them; waits up to `timeout`, polling without blocking the runtime. Fails
/// with the number found when the time is up.
pub async fn wait_for_files(
    dir: &Path,
    count: usize,
    timeout: Duration,
    wanted: impl Fn(&Path) -> bool,
) -> Result<Vec<Vec<u8>>, usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|path| wanted(path));
        if files.len() >= count {
            files.sort();
            return Ok(files
                .iter()
                .map(|path| std::fs::read(path).expect("a readable mail file"))
                .collect());
        }
        if Instant::now() >= deadline {
            return Err(files.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Defines, for each named `async fn name(app: TestApp)`, one test per engine:
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::TestApp::spawn($crate::Engine::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::TestApp::spawn($crate::Engine::Postgres).await).await;
                }
            )*
        }
    };
}
