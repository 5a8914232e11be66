//! Tracklane's storage: one [`Store`] over two engines, SQLite (a file in the data directory, the
//! embedded default) and PostgreSQL (for several nodes sharing one database).
//!
//! Both engines run the same SQL through sqlx's `Any` driver; the few places where their dialects
//! differ are in [`sql`]. Migrations for each engine ship inside the binary and run at start.
//!
//! # Layout
//! - [`connect`](Store::connect): pools and per-engine connection settings.
//! - [`error`]: [`StoreError`] and the [`Model`] a missing row was.
//! - [`sql`]: a statement with numbered binds, and the dialect differences.
//! - [`listing`]: one page of a filtered collection, with the total.
//! - [`accounts`]: the installation, accounts and their keys.
//! - [`automations`]: automations and the versions of their definitions.
//! - [`contacts`], [`tags`], [`lists`], [`fields`]: one module per aggregate.
//! - [`bulk_sync`]: many contacts at once, as an import writes them.
//! - [`tracking`]: tracking switches, whitelisted domains and event names, the token key.
//! - [`messages`]: email messages and campaigns.
//! - [`link_actions`]: what a person's click on a campaign's link does.
//! - [`segments`]: segments over all contacts (counts, members) and one contact's facts for
//!   core's one-contact evaluator.
//! - [`scoring`]: lead scoring: models, rules, the ledger of awards and the scores.
//! - [`webhooks`]: webhook subscriptions and their signing secrets.
//! - [`sends`]: sending campaigns: links, the durable send queue, recipient data; `send_status`:
//!   where a send is, apart, for the modules that only read it.
//! - [`campaign_pause`]: pausing a campaign whose deliveries keep failing for reasons that are
//!   not the recipients', and resuming it.
//! - [`link_clicks`]: clicks, opens and unsubscribes per campaign link, and the counters.
//! - [`email_settings`]: link tracking and scanner rules per account.
//! - [`forms`]: forms and their submissions (contact, list, tags and visitor in one go).
//! - [`events`]: the timeline: group-recording events, identification, anonymous expiry.
//! - [`people`]: the people tracking messages name, with their events, in one commit.
//! - `writes`: the one way a write transaction begins and commits, and the writes' health.

pub mod accounts;
pub mod automations;
pub mod bulk_sync;
pub mod campaign_pause;
mod campaign_start;
pub mod contacts;
pub mod email_settings;
pub mod error;
pub mod events;
pub mod exports;
pub mod fields;
mod foreground;
pub mod forms;
pub mod keys;
pub mod link_actions;
pub mod link_clicks;
pub mod listing;
pub mod lists;
pub mod messages;
pub mod people;
mod rebuilds;
mod rows;
pub mod scoring;
pub mod segments;
mod send_status;
pub mod sends;
pub mod sql;
pub mod tags;
pub mod tracking;
pub mod webhooks;

mod writes;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection, Executor};

pub use error::{Model, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The storage engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// An SQLite file in WAL mode, with one writer connection.
    Sqlite,
    /// A PostgreSQL database, possibly shared by several Tracklane nodes.
    Postgres,
}

impl Engine {
    /// The engine a database URL names (`sqlite:` or `postgres:`/`postgresql:`).
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The engine's name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// How many connections a store may open.
#[derive(Debug, Clone, Copy)]
pub struct PoolSize {
    /// Connections for reads (and, on PostgreSQL, writes too).
    pub connections: u32,
}

impl Default for PoolSize {
    fn default() -> Self {
        Self { connections: 8 }
    }
}

/// The store: every read and write of Tracklane goes through it.
///
/// On SQLite, writes go through a pool of exactly one connection (SQLite has one writer at a
/// time; queueing in the pool is cheaper and fairer than retrying on `SQLITE_BUSY`) and reads
/// through a separate pool. On PostgreSQL both are the same pool.
///
/// A writer connection that comes back from a failed statement or COMMIT still inside a
/// transaction is closed, never reused (see [`writer_pool`]): on SQLite a failed COMMIT (a full
/// disk) may end the transaction behind the driver's back, and reusing that connection turned
/// every later write into a savepoint of a transaction that never committed.
#[derive(Clone)]
pub struct Store {
    writer: AnyPool,
    reader: AnyPool,
    engine: Engine,
    writes: Arc<writes::WriteHealth>,
    /// SQLite's `max_page_count` for writer connections (0: none); see [`Store::cap_pages`].
    page_cap: Arc<AtomicU64>,
    /// The most timeline rows one step of a score rule's recompute covers; see
    /// [`Store::with_recompute_step_rows`].
    recompute_step_rows: i64,
}

/// How busy a store's connection pools are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub connections: u32,
    /// Open connections not in use.
    pub idle: u32,
}

impl Store {
    /// Connects to the database at `url`. Does not run migrations: see [`Store::migrate`].
    /// A SQLite file is created when missing (as `?mode=rwc` asks, unless the URL names a
    /// mode). A PostgreSQL server is tried once first, so that one that refuses connections
    /// fails the call at once, naming its host and port ([`StoreError::Unreachable`]).
    pub async fn connect(url: &str, size: PoolSize) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of_url(url)?;
        let url = match engine {
            Engine::Sqlite => creating_sqlite_file(url),
            Engine::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        if engine == Engine::Postgres {
            try_postgres(&url, &options).await?;
        }
        let page_cap = Arc::new(AtomicU64::new(0));
        let (writer, reader) = match engine {
            Engine::Sqlite => {
                let writer = writer_pool(sqlite_pool(1, page_cap.clone(), WRITER_PRAGMAS))
                    .connect_with(options.clone())
                    .await?;
                let reader = sqlite_pool(size.connections.max(1), Arc::default(), READER_PRAGMAS)
                    .connect_with(options)
                    .await?;
                (writer, reader)
            }
            Engine::Postgres => {
                let pool = writer_pool(
                    AnyPoolOptions::new()
                        .max_connections(size.connections.max(2))
                        .acquire_timeout(Duration::from_secs(10)),
                )
                .connect_with(options)
                .await?;
                (pool.clone(), pool)
            }
        };
        Ok(Self {
            writer,
            reader,
            engine,
            writes: Arc::default(),
            page_cap,
            recompute_step_rows: scoring::RECOMPUTE_STEP_ROWS,
        })
    }

    /// The store with steps of score rules' recomputes covering at most `rows` timeline rows
    /// (but a contact's own, which one step covers whole), instead of
    /// [`scoring::RECOMPUTE_STEP_ROWS`]: tests make a few rows a step.
    pub fn with_recompute_step_rows(mut self, rows: i64) -> Self {
        self.recompute_step_rows = rows.max(1);
        self
    }

    /// Caps the SQLite file at its current size plus `pages` pages (SQLite's
    /// `max_page_count`), on the writer connection and on any it opens later; `None` lifts the
    /// cap. A write past the cap fails with `SQLITE_FULL`, as on a full disk: tests fill the
    /// disk with it. Does nothing on PostgreSQL.
    pub async fn cap_pages(&self, pages: Option<u64>) -> Result<(), StoreError> {
        if self.engine != Engine::Sqlite {
            return Ok(());
        }
        let mut connection = self.writer.acquire().await?;
        let cap = match pages {
            Some(pages) => {
                let used: i64 = sqlx::query_scalar("PRAGMA page_count")
                    .fetch_one(&mut *connection)
                    .await?;
                u64::try_from(used).unwrap_or(0) + pages.max(1)
            }
            None => 0,
        };
        self.page_cap.store(cap, Ordering::SeqCst);
        connection.execute(page_cap_pragma(cap).as_str()).await?;
        Ok(())
    }

    /// Brings the schema up to date. Safe to run from several nodes at once: PostgreSQL
    /// migrations hold an advisory lock.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.writer).await?;
        self.rebuild_tables().await?;
        self.type_field_values().await?;
        Ok(())
    }

    /// The engine behind this store.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.reader.execute("SELECT 1").await?;
        Ok(())
    }

    /// The database's size in bytes (SQLite: its pages, the write-ahead log's included;
    /// PostgreSQL: the database's), for the bench's bytes per row.
    pub async fn database_bytes(&self) -> Result<i64, StoreError> {
        let sql = match self.engine {
            Engine::Sqlite => {
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            }
            Engine::Postgres => "SELECT pg_database_size(current_database())",
        };
        Ok(sqlx::query_scalar(sql).fetch_one(&self.writer).await?)
    }

    /// Connection counts over all pools.
    pub fn pool_stats(&self) -> PoolStats {
        let pools: &[&AnyPool] = match self.engine {
            Engine::Sqlite => &[&self.writer, &self.reader],
            Engine::Postgres => &[&self.writer],
        };
        pools.iter().fold(
            PoolStats {
                connections: 0,
                idle: 0,
            },
            |sum, pool| PoolStats {
                connections: sum.connections + pool.size(),
                idle: sum.idle + u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            },
        )
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// Pragmas of the writer connection only: a page cache of 64 MiB (SQLite's default is 2 MiB),
/// so that a large transaction (a scorer step's awards) does not spill pages to the WAL
/// before its commit, and the indexes that every write walks stay in memory.
const WRITER_PRAGMAS: &[&str] = &["PRAGMA cache_size = -65536"];

/// Pragmas of the reader connections only: the database is read through a memory map (up to
/// 1 GiB of address space), which spares large scans (segment counts) a system call per page.
/// The writer keeps plain reads, so that a write never meets an I/O error as a signal.
const READER_PRAGMAS: &[&str] = &["PRAGMA mmap_size = 1073741824"];

/// A SQLite URL that creates its file when missing: `?mode=rwc` added unless it names a mode
/// or an in-memory database.
fn creating_sqlite_file(url: &str) -> String {
    let names_a_mode = url
        .split_once('?')
        .is_some_and(|(_, query)| query.split('&').any(|pair| pair.starts_with("mode=")));
    if names_a_mode || url.contains(":memory:") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}mode=rwc")
}

/// Opens and closes one connection to the PostgreSQL server at `url`, so that one that cannot
/// be reached is reported at once with its host and port (never the user or the password),
/// rather than after the pool's acquire time-out.
async fn try_postgres(url: &str, options: &AnyConnectOptions) -> Result<(), StoreError> {
    match sqlx::AnyConnection::connect_with(options).await {
        Ok(connection) => {
            let _ = connection.close().await;
            Ok(())
        }
        Err(sqlx::Error::Io(error)) => {
            let parsed = url::Url::parse(url).ok();
            let host = parsed
                .as_ref()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_else(|| "localhost".to_owned());
            let port = parsed.as_ref().and_then(url::Url::port).unwrap_or(5432);
            Err(StoreError::Unreachable {
                server: format!("{host}:{port}"),
                reason: error.to_string(),
            })
        }
        Err(other) => Err(other.into()),
    }
}

/// SQLite connections: WAL so readers never block the writer, `synchronous = FULL` so that a
/// commit is on disk before it is acknowledged, foreign keys on, a busy timeout as a last
/// resort, `extra`, and the page cap of [`Store::cap_pages`] when one is set.
fn sqlite_pool(
    connections: u32,
    page_cap: Arc<AtomicU64>,
    extra: &'static [&'static str],
) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |connection, _meta| {
            let cap = page_cap.load(Ordering::SeqCst);
            Box::pin(async move {
                for pragma in [
                    "PRAGMA journal_mode = WAL",
                    "PRAGMA synchronous = FULL",
                    "PRAGMA foreign_keys = ON",
                    "PRAGMA busy_timeout = 5000",
                ]
                .iter()
                .chain(extra)
                {
                    connection.execute(*pragma).await?;
                }
                if cap > 0 {
                    connection.execute(page_cap_pragma(cap).as_str()).await?;
                }
                Ok(())
            })
        })
}

/// The pragma that sets SQLite's page cap (`0`: the largest SQLite allows).
fn page_cap_pragma(cap: u64) -> String {
    let cap = if cap == 0 {
        u64::from(u32::MAX) - 1
    } else {
        cap
    };
    format!("PRAGMA max_page_count = {cap}")
}

/// The writer's pool: a connection that comes back still inside a transaction (its COMMIT or
/// ROLLBACK failed) is closed instead of being handed to the next write, which would otherwise
/// run inside that dead transaction. A committed write comes back outside one, at no cost; for
/// any other, the ping first lets the rollback that the dropped transaction queued run.
fn writer_pool(options: AnyPoolOptions) -> AnyPoolOptions {
    options.after_release(|connection, _meta| {
        Box::pin(async move {
            if !connection.is_in_transaction() {
                return Ok(true);
            }
            connection.ping().await?;
            let clean = !connection.is_in_transaction();
            if !clean {
                tracing::warn!("a writer connection is left inside a failed transaction: closed");
            }
            Ok(clean)
        })
    })
}
