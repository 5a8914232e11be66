//! An account's named keys: several API keys and event keys, each created, listed (name,
//! created, last used; never the secret) and revoked on its own, so that one integration's key
//! is rotated without breaking the others. Keys are stored only as hashes.

use secrecy::SecretString;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, KeyId};
use tracklane_core::invalid::Invalid;
use tracklane_core::key::{key_hash, new_key};
use tracklane_core::page::Page;
use tracklane_core::text::{required, NAME_MAX};
use tracklane_core::time::Timestamp;

use crate::listing::{owned_row, page_of, Listed};
use crate::sql::Statement;
use crate::{Engine, Model, Store, StoreError};

/// The most keys an account holds that are not revoked.
pub const MAX_ACTIVE_KEYS: i64 = 100;

/// How stale a key's `last_used_at` may be: a key's use is written at most once in this time,
/// so that a busy integration does not make every request a write.
pub const LAST_USED_PRECISION_MICROS: i64 = 60_000_000;

/// What a key opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The REST API (`Api-Token` header).
    Api,
    /// The event collector (`POST /event`'s `key`, the `/v1` write key).
    Event,
}

impl KeyKind {
    /// The stored and answered name: `api` or `event`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Event => "event",
        }
    }

    /// The kind named `api` or `event`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "api" => Some(Self::Api),
            "event" => Some(Self::Event),
            _ => None,
        }
    }
}

/// One of an account's keys, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountKey {
    /// The key's id.
    pub id: KeyId,
    /// What it opens.
    pub kind: KeyKind,
    /// Its name (the integration that uses it).
    pub name: String,
    /// Whether it may create, list and revoke the account's keys through the API.
    pub manages_keys: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last opened a request, to within [`LAST_USED_PRECISION_MICROS`].
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

/// A key just created, with its secret: shown once, since only its hash is kept.
#[derive(Debug)]
pub struct NewKey {
    /// The key.
    pub key: AccountKey,
    /// Its secret.
    pub secret: SecretString,
}

/// A key to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDraft {
    kind: KeyKind,
    name: String,
    manages_keys: bool,
}

impl KeyDraft {
    /// A key of `kind` named `name` (required, at most 255 characters). Only an API key may
    /// manage keys.
    pub fn new(kind: KeyKind, name: Option<&str>, manages_keys: bool) -> Result<Self, Invalid> {
        let name = required("name", name, NAME_MAX)?;
        if manages_keys && kind != KeyKind::Api {
            return Err(Invalid::bad_value(
                "manageKeys",
                "only an API key can manage keys",
            ));
        }
        Ok(Self {
            kind,
            name,
            manages_keys,
        })
    }
}

/// What a valid key opened: its account, and whether it manages keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUse {
    /// The account.
    pub account: AccountId,
    /// The key.
    pub key: KeyId,
    /// Whether the key may manage the account's keys.
    pub manages_keys: bool,
}

const KEY_COLUMNS: &str = "id, kind, name, manages_keys, created_at, last_used_at, revoked_at";

fn read_key(row: &AnyRow) -> Result<AccountKey, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(AccountKey {
        id: KeyId(row.try_get("id")?),
        kind: KeyKind::parse(&kind).unwrap_or(KeyKind::Api),
        name: row.try_get("name")?,
        manages_keys: row.try_get::<i64, _>("manages_keys")? != 0,
        created_at: Timestamp(row.try_get("created_at")?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(Timestamp),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp),
    })
}

impl Store {
    /// Creates a key for `account`; refused when the account already holds
    /// [`MAX_ACTIVE_KEYS`] keys that are not revoked.
    pub async fn create_key(
        &self,
        account: AccountId,
        draft: KeyDraft,
        now: Timestamp,
    ) -> Result<NewKey, StoreError> {
        self.write(async |tx| {
            hold_account(tx, self.engine, account).await?;
            let active: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM account_keys WHERE account_id = $1 AND revoked_at IS NULL",
            )
            .bind(account.0)
            .fetch_one(&mut *tx)
            .await?;
            if active >= MAX_ACTIVE_KEYS {
                return Err(Invalid::bad_value(
                    "key",
                    format!(
                        "an account holds at most {MAX_ACTIVE_KEYS} keys that are not revoked: \
                         revoke one first"
                    ),
                )
                .into());
            }
            insert_key(tx, account, &draft, now).await
        })
        .await
    }

    /// A page of the account's keys, revoked ones included, oldest first.
    pub async fn keys(
        &self,
        account: AccountId,
        page: Page,
    ) -> Result<Listed<AccountKey>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM account_keys WHERE account_id = ");
        filter.push_bind(account.0);
        page_of(&self.reader, KEY_COLUMNS, &filter, "id", page, read_key).await
    }

    /// The account's key `id`.
    pub async fn key(&self, account: AccountId, id: KeyId) -> Result<AccountKey, StoreError> {
        owned_row(
            &self.reader,
            "account_keys",
            KEY_COLUMNS,
            (Model::Key, account, id.0),
            read_key,
        )
        .await
    }

    /// Revokes the account's key `id` (a key revoked already stays as it was). Refused when it
    /// is the account's last key that manages keys: create another first.
    pub async fn revoke_key(
        &self,
        account: AccountId,
        id: KeyId,
        now: Timestamp,
    ) -> Result<AccountKey, StoreError> {
        self.write(async |tx| {
            hold_account(tx, self.engine, account).await?;
            let key = owned_row(
                &mut *tx,
                "account_keys",
                KEY_COLUMNS,
                (Model::Key, account, id.0),
                read_key,
            )
            .await?;
            if key.revoked_at.is_some() {
                return Ok(key);
            }
            if key.manages_keys {
                let managers: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM account_keys \
                     WHERE account_id = $1 AND manages_keys = 1 AND revoked_at IS NULL",
                )
                .bind(account.0)
                .fetch_one(&mut *tx)
                .await?;
                if managers <= 1 {
                    return Err(Invalid::bad_value(
                        "id",
                        "this is the account's last key that manages keys: \
                         create another one first",
                    )
                    .into());
                }
            }
            sqlx::query("UPDATE account_keys SET revoked_at = $1 WHERE id = $2")
                .bind(now.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            Ok(AccountKey {
                revoked_at: Some(now),
                ..key
            })
        })
        .await
    }

    /// What a key of `kind` opens, if it is valid and not revoked. Notes its use when the last
    /// one noted is older than [`LAST_USED_PRECISION_MICROS`]; a failure to note it is logged,
    /// and does not refuse the key.
    pub async fn open_key(
        &self,
        kind: KeyKind,
        key: &SecretString,
        now: Timestamp,
    ) -> Result<Option<KeyUse>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, manages_keys, last_used_at FROM account_keys \
             WHERE key_hash = $1 AND kind = $2 AND revoked_at IS NULL",
        )
        .bind(key_hash(key))
        .bind(kind.as_str())
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let opened = KeyUse {
            account: AccountId(row.try_get("account_id")?),
            key: KeyId(row.try_get("id")?),
            manages_keys: row.try_get::<i64, _>("manages_keys")? != 0,
        };
        let last_used: Option<i64> = row.try_get("last_used_at")?;
        if last_used.is_none_or(|at| now.0 - at >= LAST_USED_PRECISION_MICROS) {
            if let Err(error) = self.note_key_use(opened.key, now).await {
                tracing::warn!(key = %opened.key, %error, "could not note a key's use");
            }
        }
        Ok(Some(opened))
    }

    async fn note_key_use(&self, key: KeyId, now: Timestamp) -> Result<(), StoreError> {
        self.write(async |tx| {
            sqlx::query("UPDATE account_keys SET last_used_at = $1 WHERE id = $2")
                .bind(now.0)
                .bind(key.0)
                .execute(&mut *tx)
                .await?;
            Ok(())
        })
        .await
    }
}

/// Holds the account's row until the transaction ends (PostgreSQL; SQLite has one writer), so
/// that two changes of its keys at once count its keys one after the other: two revokes never
/// leave it without a key that manages keys, two creations never pass [`MAX_ACTIVE_KEYS`].
async fn hold_account(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "SELECT id FROM accounts WHERE id = $1{}",
        engine.lock_for_change()
    ))
    .bind(account.0)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(())
}

/// Inserts a key of the draft's kind and name for `account`, with a fresh secret.
pub(crate) async fn insert_key(
    tx: &mut AnyConnection,
    account: AccountId,
    draft: &KeyDraft,
    now: Timestamp,
) -> Result<NewKey, StoreError> {
    let secret = new_key().map_err(|_| StoreError::Randomness)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO account_keys (account_id, kind, name, manages_keys, key_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(account.0)
    .bind(draft.kind.as_str())
    .bind(&draft.name)
    .bind(i64::from(draft.manages_keys))
    .bind(key_hash(&secret))
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    Ok(NewKey {
        key: AccountKey {
            id: KeyId(id),
            kind: draft.kind,
            name: draft.name.clone(),
            manages_keys: draft.manages_keys,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        },
        secret,
    })
}
