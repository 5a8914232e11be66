//! The installation, its accounts and their keys. Keys are stored only as hashes.

use secrecy::SecretString;
use sqlx::{AnyConnection, Row};
use tracklane_core::cid::TokenKey;
use tracklane_core::ids::AccountId;
use tracklane_core::key::{key_hash, new_key};
use tracklane_core::time::Timestamp;

use crate::{Store, StoreError};

/// What a key opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The REST API (`Api-Token` header).
    Api,
    /// The event collector (`POST /event`'s `key`, the `/v1` write key).
    Event,
}

impl KeyKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Event => "event",
        }
    }
}

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

    /// Creates another account with its keys.
    pub async fn create_account(
        &self,
        name: &str,
        now: Timestamp,
    ) -> Result<NewAccount, StoreError> {
        self.write(async |tx| {
            let account = insert_account(tx, name, now).await?;
            Ok(account)
        })
        .await
    }

    /// Issues a fresh key of `kind` for `account`, revoking the previous ones of that kind.
    pub async fn replace_key(
        &self,
        account: AccountId,
        kind: KeyKind,
        now: Timestamp,
    ) -> Result<SecretString, StoreError> {
        if !self.account_exists(account).await? {
            return Err(StoreError::NotFound {
                model: crate::Model::Account,
                id: account.0,
            });
        }
        self.write(async |tx| {
            sqlx::query(
                "UPDATE account_keys SET revoked_at = $1 \
                 WHERE account_id = $2 AND kind = $3 AND revoked_at IS NULL",
            )
            .bind(now.0)
            .bind(account.0)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
            let key = insert_key(tx, account, kind, now).await?;
            Ok(key)
        })
        .await
    }

    /// The account a key of `kind` opens, if it is valid and not revoked.
    pub async fn account_for_key(
        &self,
        kind: KeyKind,
        key: &SecretString,
    ) -> Result<Option<AccountId>, StoreError> {
        let row = sqlx::query(
            "SELECT account_id FROM account_keys \
             WHERE key_hash = $1 AND kind = $2 AND revoked_at IS NULL",
        )
        .bind(key_hash(key))
        .bind(kind.as_str())
        .fetch_optional(&self.reader)
        .await?;
        Ok(row
            .map(|row| row.try_get("account_id"))
            .transpose()?
            .map(AccountId))
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
    let api_key = insert_key(tx, id, KeyKind::Api, now).await?;
    let event_key = insert_key(tx, id, KeyKind::Event, now).await?;
    Ok(NewAccount {
        id,
        api_key,
        event_key,
    })
}

async fn insert_key(
    tx: &mut AnyConnection,
    account: AccountId,
    kind: KeyKind,
    now: Timestamp,
) -> Result<SecretString, StoreError> {
    let key = new_key().map_err(|_| StoreError::Randomness)?;
    sqlx::query(
        "INSERT INTO account_keys (account_id, kind, key_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(account.0)
    .bind(kind.as_str())
    .bind(key_hash(&key))
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    Ok(key)
}
