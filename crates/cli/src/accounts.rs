//! `tracklane account new|list` and `tracklane key new|list|revoke`: the accounts of an
//! installation (an agency's brands) and each account's named keys.

use anyhow::{bail, Context};
use clap::Subcommand;
use secrecy::ExposeSecret;
use serde_json::json;
use tracklane_core::ids::{AccountId, KeyId};
use tracklane_core::time::Timestamp;
use tracklane_store::accounts::NewAccount;
use tracklane_store::keys::{KeyDraft, KeyKind};
use tracklane_store::Store;

use crate::{every_page, DatabaseArgs};

/// `tracklane account ...`.
#[derive(Subcommand)]
pub enum AccountCommand {
    /// Create an account and print its id and keys (shown only once).
    New {
        /// The account's name (a brand, a client).
        name: String,
        /// Print `{"actid":..,"api_key":..,"event_key":..}` instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// List the accounts with their unrevoked keys.
    List(DatabaseArgs),
}

/// `tracklane key ...`.
#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create a named key and print its secret (shown only once).
    New {
        /// The key's name: the integration that will use it.
        #[arg(long)]
        name: String,
        /// An event key (for `POST /event` and `/v1`) instead of an API key.
        #[arg(long)]
        event: bool,
        /// Let the API key create, list and revoke the account's keys through `/api/3/keys`.
        #[arg(long)]
        manage_keys: bool,
        /// The account [default: the first account].
        #[arg(long)]
        account: Option<i64>,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// List an account's keys (never their secrets), revoked ones included.
    List {
        /// The account [default: the first account].
        #[arg(long)]
        account: Option<i64>,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// Revoke a key: it stops opening anything at once.
    Revoke {
        /// The key's id, as `key list` shows it.
        id: i64,
        /// The account [default: the first account].
        #[arg(long)]
        account: Option<i64>,
        #[command(flatten)]
        config: DatabaseArgs,
    },
}

/// Runs an account command.
pub async fn account(command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::New { name, json, config } => {
            let store = config.open().await?;
            let account = store.create_account(&name, Timestamp::now()).await?;
            if json {
                print_json(&account);
            } else {
                print_new_account("Tracklane created the account", &account);
            }
        }
        AccountCommand::List(config) => {
            let store = config.open().await?;
            println!(
                "{:>6}  {:<25}  {:<25}  {:>8}  {:>10}",
                "actid", "name", "created", "API keys", "event keys"
            );
            for account in store.accounts().await? {
                println!(
                    "{:>6}  {:<25}  {:<25}  {:>8}  {:>10}",
                    account.id,
                    account.name,
                    account.created_at.to_api(),
                    account.api_keys,
                    account.event_keys
                );
            }
        }
    }
    Ok(())
}

/// Runs a key command.
pub async fn key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::New {
            name,
            event,
            manage_keys,
            account,
            config,
        } => {
            let store = config.open().await?;
            let account = chosen_account(&store, account).await?;
            let kind = if event { KeyKind::Event } else { KeyKind::Api };
            let draft = KeyDraft::new(kind, Some(&name), manage_keys)?;
            let created = store.create_key(account, draft, Timestamp::now()).await?;
            println!("{}", created.secret.expose_secret());
        }
        KeyCommand::List { account, config } => {
            let store = config.open().await?;
            let account = chosen_account(&store, account).await?;
            println!(
                "{:>6}  {:<5}  {:<25}  {:<6}  {:<25}  {:<25}  {:<25}",
                "id", "kind", "name", "manage", "created", "last used", "revoked"
            );
            for key in every_page(|page| store.keys(account, page)).await? {
                println!(
                    "{:>6}  {:<5}  {:<25}  {:<6}  {:<25}  {:<25}  {:<25}",
                    key.id,
                    key.kind.as_str(),
                    key.name,
                    if key.manages_keys { "yes" } else { "no" },
                    key.created_at.to_api(),
                    key.last_used_at
                        .map_or("never".to_owned(), Timestamp::to_api),
                    key.revoked_at.map_or("-".to_owned(), Timestamp::to_api),
                );
            }
        }
        KeyCommand::Revoke {
            id,
            account,
            config,
        } => {
            let store = config.open().await?;
            let account = chosen_account(&store, account).await?;
            let key = store
                .revoke_key(account, KeyId(id), Timestamp::now())
                .await?;
            println!(
                "Revoked key {} ({}, {}).",
                key.id,
                key.kind.as_str(),
                key.name
            );
        }
    }
    Ok(())
}

/// Prints a new account's id and keys as JSON.
pub fn print_json(account: &NewAccount) {
    println!(
        "{}",
        json!({
            "actid": account.id.to_string(),
            "api_key": account.api_key.expose_secret(),
            "event_key": account.event_key.expose_secret(),
        })
    );
}

/// Prints a new account's id and keys under `headline`.
pub fn print_new_account(headline: &str, account: &NewAccount) {
    println!("{headline}. Keep these keys: they are shown only once.");
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

/// The account named by `--account`, or the first one.
pub async fn chosen_account(store: &Store, account: Option<i64>) -> anyhow::Result<AccountId> {
    match account {
        Some(id) if store.account_exists(AccountId(id)).await? => Ok(AccountId(id)),
        Some(id) => bail!("there is no account {id}"),
        None => store
            .first_account()
            .await?
            .context("there is no account yet: run `tracklane init` first"),
    }
}
