//! What the trackers may record for each account — its switches, whitelisted domains, event
//! names and email settings —, which account an event key opens and which contact an email is,
//! cached for a moment so that the collector does not ask the database on every request. API
//! changes on this node take effect at once ([`Gate::forget`]); changes made on another node
//! within [`TTL`].
//!
//! Each cache holds at most [`CAPACITY`] answers (`moka`, evicting the least used), so that
//! requests naming made-up accounts, keys or emails cannot grow memory without bound; answers
//! that name nothing (an unknown account or key) are cached too, within the same bound.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use secrecy::SecretString;
use tracklane_core::email::ContactEmail;
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::key::key_hash;
use tracklane_core::time::Timestamp;
use tracklane_store::email_settings::EmailSettings;
use tracklane_store::keys::KeyKind;
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

/// The most answers each cache holds.
pub const CAPACITY: u64 = 100_000;

/// The cache in front of the store.
pub struct Gate {
    store: Store,
    rules: Cache<AccountId, Option<Arc<Rules>>>,
    event_keys: Cache<String, Option<AccountId>>,
    contacts: Cache<(AccountId, String), ContactId>,
}

/// An empty cache of at most `capacity` answers, each used for [`TTL`].
fn short_lived<K, V>(capacity: u64) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(capacity)
        .time_to_live(TTL)
        .support_invalidation_closures()
        .build()
}

impl Gate {
    /// An empty cache over `store`.
    pub fn new(store: Store) -> Self {
        Self::with_capacity(store, CAPACITY)
    }

    /// An empty cache over `store` whose caches hold at most `capacity` answers each.
    pub fn with_capacity(store: Store, capacity: u64) -> Self {
        Self {
            store,
            rules: short_lived(capacity),
            event_keys: short_lived(capacity),
            contacts: short_lived(capacity),
        }
    }

    /// The account's rules, or `None` when there is no such account.
    pub async fn rules(&self, account: AccountId) -> Result<Option<Arc<Rules>>, StoreError> {
        if let Some(fresh) = self.rules.get(&account) {
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
        self.rules.insert(account, rules.clone());
        Ok(rules)
    }

    /// Drops the account's cached rules (after the API changed them).
    pub fn forget(&self, account: AccountId) {
        self.rules.invalidate(&account);
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
        if let Some(contact) = self.contacts.get(&key) {
            return Ok(Some(contact));
        }
        let found = contact_for_email(&self.store, account, email, create, now).await?;
        if let Some(contact) = found {
            self.contacts.insert(key, contact);
        }
        Ok(found)
    }

    /// Forgets the account's event keys (after one was revoked), so that a revoked key stops
    /// opening the collector at once on this node.
    pub fn forget_event_keys(&self, account: AccountId) {
        let _closures_are_supported = self
            .event_keys
            .invalidate_entries_if(move |_, opened| *opened == Some(account));
    }

    /// Forgets the account's remembered emails (after a contact was deleted or changed email).
    pub fn forget_contacts(&self, account: AccountId) {
        let _closures_are_supported = self
            .contacts
            .invalidate_entries_if(move |(owner, _), _| *owner == account);
    }

    /// The account an event key opens (noting its use at `now`).
    pub async fn account_for_event_key(
        &self,
        key: &SecretString,
        now: Timestamp,
    ) -> Result<Option<AccountId>, StoreError> {
        let hash = key_hash(key);
        if let Some(fresh) = self.event_keys.get(&hash) {
            return Ok(fresh);
        }
        let account = self
            .store
            .open_key(KeyKind::Event, key, now)
            .await?
            .map(|opened| opened.account);
        self.event_keys.insert(hash, account);
        Ok(account)
    }

    /// How many answers the caches hold, once their pending evictions have run.
    #[cfg(test)]
    fn remembered(&self) -> u64 {
        self.rules.run_pending_tasks();
        self.event_keys.run_pending_tasks();
        self.contacts.run_pending_tasks();
        self.rules.entry_count() + self.event_keys.entry_count() + self.contacts.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracklane_store::PoolSize;

    /// A fresh SQLite store and its first account.
    async fn store() -> (Store, AccountId, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let store = Store::connect(&url, PoolSize::default()).await.unwrap();
        store.migrate().await.unwrap();
        let account = store.bootstrap(Timestamp::now()).await.unwrap().unwrap().id;
        (store, account, dir)
    }

    #[tokio::test]
    async fn made_up_accounts_keys_and_emails_stay_within_the_capacity() {
        let (store, account, _dir) = store().await;
        let gate = Gate::with_capacity(store, 50);
        for n in 0..200 {
            assert!(gate.rules(AccountId(1_000 + n)).await.unwrap().is_none());
            let key = SecretString::from(format!("made-up-key-{n}"));
            assert!(gate
                .account_for_event_key(&key, Timestamp::now())
                .await
                .unwrap()
                .is_none());
            let email = ContactEmail::parse(&format!("p{n}@example.com")).unwrap();
            gate.contact_for_email(account, &email, true, Timestamp::now())
                .await
                .unwrap();
        }
        assert!(gate.remembered() <= 3 * 50, "{}", gate.remembered());
    }

    #[tokio::test]
    async fn forgetting_an_account_drops_its_answers_at_once() {
        let (store, account, _dir) = store().await;
        let gate = Gate::new(store);
        let email = ContactEmail::parse("ada@example.com").unwrap();
        let contact = gate
            .contact_for_email(account, &email, true, Timestamp::now())
            .await
            .unwrap();
        assert!(contact.is_some());
        assert!(gate.rules(account).await.unwrap().is_some());
        gate.forget(account);
        gate.forget_contacts(account);
        assert!(gate.rules.get(&account).is_none());
        assert!(gate
            .contacts
            .get(&(account, email.as_str().to_owned()))
            .is_none());
    }
}
