//! What the trackers may record for each account — its switches, whitelisted domains, event
//! names and email settings —, which account an event key opens and which contact an email is, cached for a moment so that the collector does
//! not ask the database on every request. API changes on this node take effect at once
//! ([`Gate::forget`]); changes made on another node within [`TTL`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use tracklane_core::email::ContactEmail;
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::key::key_hash;
use tracklane_core::time::Timestamp;
use tracklane_store::accounts::KeyKind;
use tracklane_store::email_settings::EmailSettings;
use tracklane_store::tracking::TrackingSettings;
use tracklane_store::{Store, StoreError};

use super::identify::contact_for_email;

/// How long a cached answer is used.
pub const TTL: Duration = Duration::from_secs(2);

/// An account's tracking rules.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The switches.
    pub settings: TrackingSettings,
    /// Whitelisted domains.
    pub domains: Vec<String>,
    /// Whitelisted event names.
    pub event_names: HashSet<String>,
    /// Link tracking and the scanner rules for campaign mail.
    pub email: EmailSettings,
}

type Cached<T> = Mutex<HashMap<T, (Instant, Option<Arc<Rules>>)>>;

/// The most emails remembered; past that the cache starts afresh.
const CONTACTS_MAX: usize = 100_000;

/// The cache in front of the store.
pub struct Gate {
    store: Store,
    rules: Cached<AccountId>,
    event_keys: Mutex<HashMap<String, (Instant, Option<AccountId>)>>,
    contacts: Mutex<HashMap<(AccountId, String), (Instant, ContactId)>>,
}

impl Gate {
    /// An empty cache over `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            rules: Mutex::default(),
            event_keys: Mutex::default(),
            contacts: Mutex::default(),
        }
    }

    /// The account's rules, or `None` when there is no such account.
    pub async fn rules(&self, account: AccountId) -> Result<Option<Arc<Rules>>, StoreError> {
        if let Some(fresh) = fresh(&self.rules, &account) {
            return Ok(fresh);
        }
        let rules = if self.store.account_exists(account).await? {
            Some(Arc::new(Rules {
                settings: self.store.tracking_settings(account).await?,
                domains: self
                    .store
                    .site_domains(account)
                    .await?
                    .into_iter()
                    .map(|domain| domain.name)
                    .collect(),
                event_names: self.store.event_names(account).await?.into_iter().collect(),
                email: self.store.email_settings(account).await?,
            }))
        } else {
            None
        };
        if let Ok(mut cache) = self.rules.lock() {
            cache.insert(account, (Instant::now(), rules.clone()));
        }
        Ok(rules)
    }

    /// Drops the account's cached rules (after the API changed them).
    pub fn forget(&self, account: AccountId) {
        if let Ok(mut cache) = self.rules.lock() {
            cache.remove(&account);
        }
    }

    /// The contact with this email (see [`contact_for_email`]); found contacts are remembered
    /// for [`TTL`], so that a stream of events for the same people does not read the database
    /// each time.
    pub async fn contact_for_email(
        &self,
        account: AccountId,
        email: &ContactEmail,
        create: bool,
        now: Timestamp,
    ) -> Result<Option<ContactId>, StoreError> {
        let key = (account, email.as_str().to_owned());
        if let Some(contact) = fresh(&self.contacts, &key) {
            return Ok(Some(contact));
        }
        let found = contact_for_email(&self.store, account, email, create, now).await?;
        if let (Some(contact), Ok(mut cache)) = (found, self.contacts.lock()) {
            if cache.len() >= CONTACTS_MAX {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), contact));
        }
        Ok(found)
    }

    /// Forgets the account's remembered emails (after a contact was deleted or changed email).
    pub fn forget_contacts(&self, account: AccountId) {
        if let Ok(mut cache) = self.contacts.lock() {
            cache.retain(|(owner, _), _| *owner != account);
        }
    }

    /// The account an event key opens.
    pub async fn account_for_event_key(
        &self,
        key: &SecretString,
    ) -> Result<Option<AccountId>, StoreError> {
        let hash = key_hash(key);
        if let Some(fresh) = fresh(&self.event_keys, &hash) {
            return Ok(fresh);
        }
        let account = self.store.account_for_key(KeyKind::Event, key).await?;
        if let Ok(mut cache) = self.event_keys.lock() {
            cache.insert(hash, (Instant::now(), account));
        }
        Ok(account)
    }
}

/// The cached value for `key` when it is younger than [`TTL`].
fn fresh<K: std::hash::Hash + Eq, V: Clone>(
    cache: &Mutex<HashMap<K, (Instant, V)>>,
    key: &K,
) -> Option<V> {
    let cache = cache.lock().ok()?;
    let (at, value) = cache.get(key)?;
    (at.elapsed() < TTL).then(|| value.clone())
}
