//! The `tracklane` binary: `serve`, `init`, `migrate`, `import contacts`, `account new-key`,
//! `bench`.
//!
//! # Layout
//! - `main.rs`: the command line and the small commands.
//! - [`import`]: `tracklane import contacts FILE.csv`.
//! - [`bench`]: `tracklane bench`, contact sync against a no-op route.

mod bench;
mod import;

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use secrecy::ExposeSecret;
use tracklane_core::ids::{AccountId, ListId};
use tracklane_core::time::Timestamp;
use tracklane_server::config::{Settings, SettingsLayer};
use tracklane_server::startup::{open_store, shutdown_signal, Application};
use tracklane_server::telemetry;
use tracklane_store::accounts::{KeyKind, NewAccount};
use tracklane_store::Store;

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
    Serve(Configured),
    /// Create the database and the first account, and print its keys.
    Init {
        /// Print `{"actid":..,"api_key":..,"event_key":..}` instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: Configured,
    },
    /// Bring the database schema up to date, then exit.
    Migrate(Configured),
    /// Import data from files.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Manage accounts and their keys.
    Account {
        #[command(subcommand)]
        what: AccountCommand,
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
        config: Configured,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Issue a fresh API key (or event key), revoking the previous one.
    NewKey {
        /// The account [default: the first account].
        #[arg(long)]
        account: Option<i64>,
        /// Replace the event key instead of the API key.
        #[arg(long)]
        event: bool,
        #[command(flatten)]
        config: Configured,
    },
}

/// The settings of any command that opens the database.
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
            let store = open_store(&config.resolve()?).await?;
            let to = import::Destination {
                account: chosen_account(&store, account).await?,
                list: list.map(ListId),
            };
            import::contacts(&store, to, &file).await
        }
        Command::Account {
            what:
                AccountCommand::NewKey {
                    account,
                    event,
                    config,
                },
        } => {
            let store = open_store(&config.resolve()?).await?;
            let account = chosen_account(&store, account).await?;
            let kind = if event { KeyKind::Event } else { KeyKind::Api };
            let key = store.replace_key(account, kind, Timestamp::now()).await?;
            println!("{}", key.expose_secret());
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init_logs(settings.log_format);
    let listen = settings.listen;
    let shutdown = shutdown_signal().context("listening for shutdown signals")?;
    let mut app = Application::build(settings).await?;
    if let Some(account) = app.take_new_account() {
        print_new_account(&account);
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
             `tracklane account new-key` issues a fresh API key"
        );
    };
    if json {
        println!(
            "{}",
            serde_json::json!({
                "actid": account.id.to_string(),
                "api_key": account.api_key.expose_secret(),
                "event_key": account.event_key.expose_secret(),
            })
        );
    } else {
        print_new_account(&account);
    }
    Ok(())
}

fn print_new_account(account: &NewAccount) {
    println!("Tracklane created its first account. Keep these keys: they are shown only once.");
    println!("  account id (actid): {}", account.id);
    println!(
        "  API key (Api-Token header): {}",
        account.api_key.expose_secret()
    );
    println!(
        "  event key (POST /event):    {}",
        account.event_key.expose_secret()
    );
}

async fn chosen_account(store: &Store, account: Option<i64>) -> anyhow::Result<AccountId> {
    match account {
        Some(id) if store.account_exists(AccountId(id)).await? => Ok(AccountId(id)),
        Some(id) => bail!("there is no account {id}"),
        None => store
            .first_account()
            .await?
            .context("there is no account yet: run `tracklane init` first"),
    }
}
