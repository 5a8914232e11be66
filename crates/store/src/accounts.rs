//! The installation and its accounts, each created with an API key and an event key (see
//! [`crate::keys`]).

use secrecy::SecretString;
use sqlx::{AnyConnection, Row};
use tracklane_core::cid::TokenKey;
use tracklane_core::ids::AccountId;
use tracklane_core::text::{required, NAME_MAX};
use tracklane_core::time::Timestamp;

use crate::keys::{insert_key, KeyDraft, KeyKind};
use crate::{Store, StoreError};

/// The name of the keys an account is created with: its API key, which manages keys, and its
/// event key.
pub const OWNER_KEY: &str = "owner";

/// A new account and its keys, shown once: only their hashes are kept.
#[derive(Debug)]
pub struct NewAccount {
    /// The account id (AC's `actid`).
    pub id: AccountId,
    /// The API key.
    pub api_key: SecretString,
    /// The event key.
    pub event_key: SecretString,
}

/// An account, as `tracklane account list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    /// The account id (AC's `actid`).
    pub id: AccountId,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// How many API keys it holds that are not revoked.
    pub api_keys: i64,
    /// How many event keys it holds that are not revoked.
    pub event_keys: i64,
}

/// What a server needs of its installation at start.
#[derive(Debug)]
pub struct Installation {
    /// The key of contact tokens (`tl_cid`) and link tokens.
    pub token_key: TokenKey,
    /// The first account, created by this start: only the one caller (of possibly several
    /// nodes starting at once) that created it gets it.
    pub new_account: Option<NewAccount>,
}

impl Store {
    /// Creates the first account when the installation is new. Returns it only to the one caller
    /// (of possibly several nodes starting at once) that created it.
    pub async fn bootstrap(&self, now: Timestamp) -> Result<Option<NewAccount>, StoreError> {
        Ok(self.open_installation(now).await?.new_account)
    }

    /// In one commit: creates the installation with its token key and first account when it is
    /// new (or the token key of an installation that has none yet), and reads the token key.
    /// A server calls it last at start, once nothing else can fail, so that the first account's
    /// keys, shown once, are never created by a start that then fails.
    pub async fn open_installation(&self, now: Timestamp) -> Result<Installation, StoreError> {
        let fresh = TokenKey::generate_hex().map_err(|_| StoreError::Randomness)?;
        self.write(async |tx| {
            let claimed = sqlx::query(
                "INSERT INTO installation (id, created_at, token_key) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(now.0)
            .bind(&fresh)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE installation SET token_key = $1 WHERE id = 1 AND token_key IS NULL",
            )
            .bind(&fresh)
            .execute(&mut *tx)
            .await?;
            let stored: Option<String> =
                sqlx::query_scalar("SELECT token_key FROM installation WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await?;
            let token_key = stored
                .as_deref()
                .and_then(TokenKey::from_hex)
                .ok_or(StoreError::Randomness)?;
            let new_account = if claimed == 0 {
                None
            } else {
                Some(insert_account(tx, "Default", now).await?)
            };
            Ok(Installation {
                token_key,
                new_account,
            })
        })
        .await
    }

    /// Creates another account with its keys. Its name is required, at most 255 characters.
    pub async fn create_account(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<NewAccount, StoreError> {
        let name = required("name", Some(name), NAME_MAX)?;
        self.write(async |tx| {
            let account = insert_account(tx, &name, now).await?;
            Ok(account)
        })
        .await
    }

    /// Every account, oldest first, with how many keys of each kind it holds unrevoked.
    pub async fn accounts(&self) -> Result<Vec<AccountSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.name, a.created_at, \
             (SELECT COUNT(*) FROM account_keys k WHERE k.account_id = a.id \
              AND k.kind = 'api' AND k.revoked_at IS NULL) AS api_keys, \
             (SELECT COUNT(*) FROM account_keys k WHERE k.account_id = a.id \
              AND k.kind = 'event' AND k.revoked_at IS NULL) AS event_keys \
             FROM accounts a ORDER BY a.id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AccountSummary {
                    id: AccountId(row.try_get("id")?),
                    name: row.try_get("name")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                    api_keys: row.try_get("api_keys")?,
                    event_keys: row.try_get("event_keys")?,
                })
            })
            .collect()
    }

    /// Whether `account` exists.
    pub async fn account_exists(&self, account: AccountId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT id FROM accounts WHERE id = $1")
            .bind(account.0)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.is_some())
    }

    /// The oldest account, the one commands act on when none is named.
    pub async fn first_account(&self) -> Result<Option<AccountId>, StoreError> {
        let row = sqlx::query("SELECT id FROM accounts ORDER BY id LIMIT 1")
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|row| row.try_get("id")).transpose()?.map(AccountId))
    }
}

async fn insert_account(
    tx: &mut AnyConnection,
    name: &str,
    now: Timestamp,
) -> Result<NewAccount, StoreError> {
    let id: i64 =
        sqlx::query("INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
    let id = AccountId(id);
    let owner = KeyDraft::new(KeyKind::Api, Some(OWNER_KEY), true)?;
    let api_key = insert_key(tx, id, &owner, now).await?.secret;
    let events = KeyDraft::new(KeyKind::Event, Some(OWNER_KEY), false)?;
    let event_key = insert_key(tx, id, &events, now).await?.secret;
    Ok(NewAccount {
        id,
        api_key,
        event_key,
    })
}
