//! The `tracklane` binary: `serve`, `init`, `migrate`, `import contacts`, `account`, `key`,
//! `bench`.
//!
//! # Layout
//! - `main.rs`: the command line and the small commands.
//! - [`accounts`]: `tracklane account new|list`, `tracklane key new|list|revoke`.
//! - [`export`]: `tracklane export contacts|timeline`.
//! - [`import`]: `tracklane import contacts FILE.csv`.
//! - [`bench`]: `tracklane bench`, contact sync against a no-op route.

mod accounts;
mod bench;
mod export;
mod import;

use std::future::Future;
use std::path::PathBuf;

use accounts::{AccountCommand, KeyCommand};
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use tracklane_core::ids::ListId;
use tracklane_core::page::{Page, MAX_LIMIT};
use tracklane_core::time::Timestamp;
use tracklane_server::config::{Settings, SettingsLayer};
use tracklane_server::startup::{open_store, shutdown_signal, Application};
use tracklane_server::telemetry;
use tracklane_store::listing::Listed;
use tracklane_store::{Store, StoreError};

/// mimalloc: under many concurrent requests glibc's allocator spends its time on arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tracklane: self-hosted behavioral tracking and marketing automation.
#[derive(Parser)]
#[command(name = "tracklane", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (creates the data directory, the database and the first account as needed).
    Serve(Box<Configured>),
    /// Create the database and the first account, and print its keys.
    Init {
        /// Print `{"actid":..,"api_key":..,"event_key":..}` instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// Bring the database schema up to date, then exit.
    Migrate(DatabaseArgs),
    /// Import data from files.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Export contacts (CSV) or the timeline (JSON lines), in constant memory.
    Export {
        #[command(subcommand)]
        what: export::ExportCommand,
    },
    /// Create and list accounts (one per brand or client).
    Account {
        #[command(subcommand)]
        what: AccountCommand,
    },
    /// Create, list and revoke an account's named API and event keys.
    Key {
        #[command(subcommand)]
        what: KeyCommand,
    },
    /// Load benchmarks: contact sync and the tracking surfaces against a do-nothing route;
    /// prints a table.
    Bench(bench::BenchArgs),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Upsert contacts by email from a CSV file with a header row.
    Contacts {
        /// The CSV file.
        file: PathBuf,
        /// The account to import into [default: the first account].
        #[arg(long)]
        account: Option<i64>,
        /// Subscribe every imported contact to this list (its id).
        #[arg(long)]
        list: Option<i64>,
        #[command(flatten)]
        config: DatabaseArgs,
    },
}

/// The settings of a command that only opens the database: the file's, then these flags.
#[derive(Args, Clone)]
struct DatabaseArgs {
    /// A TOML settings file (keys as the flags, with underscores)
    #[arg(long, env = "TRACKLANE_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the SQLite database [default: ./tracklane-data]
    #[arg(long, env = "TRACKLANE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: postgres://user:pass@host/db for PostgreSQL [default: SQLite in the data
    /// directory]
    #[arg(long, env = "TRACKLANE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl DatabaseArgs {
    fn resolve(self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => SettingsLayer::from_file(path)?,
            None => SettingsLayer::default(),
        };
        let flags = SettingsLayer {
            data_dir: self.data_dir,
            database_url: self.database_url,
            ..SettingsLayer::default()
        };
        flags.resolve(file)
    }

    /// Opens the database the settings name (creating it and migrating it as needed).
    async fn open(self) -> anyhow::Result<Store> {
        open_store(&self.resolve()?).await
    }
}

/// The settings of `serve`: every one.
#[derive(Args)]
struct Configured {
    /// A TOML settings file (keys as the flags, with underscores)
    #[arg(long, env = "TRACKLANE_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsLayer,
}

impl Configured {
    fn resolve(self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => SettingsLayer::from_file(path)?,
            None => SettingsLayer::default(),
        };
        self.settings.resolve(file)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(config) => serve(config.resolve()?).await,
        Command::Init { json, config } => init(config.resolve()?, json).await,
        Command::Migrate(config) => {
            let settings = config.resolve()?;
            telemetry::init_logs(settings.log_format);
            open_store(&settings).await?;
            println!("The database schema is up to date.");
            Ok(())
        }
        Command::Import {
            what:
                ImportCommand::Contacts {
                    file,
                    account,
                    list,
                    config,
                },
        } => {
            let store = config.open().await?;
            let to = import::Destination {
                account: accounts::chosen_account(&store, account).await?,
                list: list.map(ListId),
            };
            import::contacts(&store, to, &file).await
        }
        Command::Account { what } => accounts::account(what).await,
        Command::Key { what } => accounts::key(what).await,
        Command::Export { what } => export::export(what).await,
        Command::Bench(args) => bench::run(args).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init_logs(settings.log_format);
    let listen = settings.listen;
    let shutdown = shutdown_signal().context("listening for shutdown signals")?;
    let mut app = Application::build(settings).await?;
    if let Some(account) = app.take_new_account() {
        accounts::print_new_account("Tracklane created its first account", &account);
    }
    tracing::info!(%listen, port = app.port(), "serving");
    app.run_until_stopped(shutdown).await.context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

async fn init(settings: Settings, json: bool) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    let Some(account) = store.bootstrap(Timestamp::now()).await? else {
        bail!(
            "this installation already has its first account; \
             `tracklane key new --name NAME` creates another key"
        );
    };
    if json {
        accounts::print_json(&account);
    } else {
        accounts::print_new_account("Tracklane created its first account", &account);
    }
    Ok(())
}

/// Every row of a paged collection, read [`MAX_LIMIT`] at a time by `read`.
pub(crate) async fn every_page<T, Read, Reading>(mut read: Read) -> anyhow::Result<Vec<T>>
where
    Read: FnMut(Page) -> Reading,
    Reading: Future<Output = Result<Listed<T>, StoreError>>,
{
    let mut rows = Vec::new();
    let mut page = Page {
        limit: MAX_LIMIT,
        offset: 0,
    };
    loop {
        let listed = read(page).await?;
        rows.extend(listed.items);
        page.offset += page.limit;
        if page.offset >= listed.total {
            return Ok(rows);
        }
    }
}
