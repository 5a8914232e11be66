//! Each account's and each receiver's share of a worker's attempts. A worker keeps at most
//! [`TAKEN`] deliveries taken at once; one account at most [`ACCOUNT_TAKEN`] of them, so that
//! a burst in one account leaves the rest to the others; one receiver host (a name or
//! address and a port) at most [`HOST_TAKEN`], of which [`HOST_IN_FLIGHT`] are attempted at
//! the same time, so that a slow receiver holds a few connections while the fast ones get the
//! rest. The counts live only as
//! long as their deliveries are taken: nothing here grows with the number of receivers ever
//! seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;
use tracklane_core::ids::{AccountId, WebhookId};
use tracklane_store::webhooks::deliveries::{DueDelivery, Saturated};

/// The most deliveries a worker has taken at once.
pub const TAKEN: usize = 256;
/// The most deliveries of one account a worker has taken at once.
pub const ACCOUNT_TAKEN: usize = TAKEN / 2;
/// The most deliveries to one receiver host a worker has taken at once.
pub const HOST_TAKEN: usize = 64;
/// The most attempts at one receiver host made at the same time.
pub const HOST_IN_FLIGHT: usize = 16;

/// The deliveries a worker has taken, counted by account and receiver host.
#[derive(Debug, Default, Clone)]
pub struct Shares {
    inner: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    taken: usize,
    accounts: HashMap<AccountId, usize>,
    hosts: HashMap<String, Host>,
}

/// One receiver host's taken deliveries.
#[derive(Debug)]
struct Host {
    taken: usize,
    webhooks: HashMap<WebhookId, usize>,
    in_flight: Arc<Semaphore>,
}

/// A delivery's place in the shares, given back by [`Shares::give_back`].
#[derive(Debug, Clone)]
pub struct Taken {
    account: AccountId,
    webhook: WebhookId,
    host: String,
}

impl Shares {
    /// How many more deliveries the worker may take.
    pub fn room(&self) -> usize {
        TAKEN.saturating_sub(self.counts().taken)
    }

    /// The subscriptions and accounts a claim leaves alone: the accounts at their share, and
    /// the subscriptions to receiver hosts at theirs.
    pub fn saturated(&self) -> Saturated {
        let counts = self.counts();
        let accounts = counts
            .accounts
            .iter()
            .filter(|(_, taken)| **taken >= ACCOUNT_TAKEN)
            .map(|(account, _)| *account)
            .collect();
        let webhooks = counts
            .hosts
            .values()
            .filter(|host| host.taken >= HOST_TAKEN)
            .flat_map(|host| host.webhooks.keys().copied())
            .collect();
        Saturated { webhooks, accounts }
    }

    /// Counts `delivery` as taken; answers its place, and the permits of its receiver host.
    pub fn take(&self, delivery: &DueDelivery) -> (Taken, Arc<Semaphore>) {
        let host = reqwest::Url::parse(&delivery.url)
            .ok()
            .and_then(|url| {
                let port = url.port_or_known_default()?;
                url.host_str().map(|host| format!("{host}:{port}"))
            })
            .unwrap_or_default();
        let mut counts = self.counts();
        counts.taken += 1;
        *counts.accounts.entry(delivery.account).or_default() += 1;
        let entry = counts.hosts.entry(host.clone()).or_insert_with(|| Host {
            taken: 0,
            webhooks: HashMap::new(),
            in_flight: Arc::new(Semaphore::new(HOST_IN_FLIGHT)),
        });
        entry.taken += 1;
        *entry.webhooks.entry(delivery.webhook).or_default() += 1;
        let permits = entry.in_flight.clone();
        let taken = Taken {
            account: delivery.account,
            webhook: delivery.webhook,
            host,
        };
        (taken, permits)
    }

    /// Counts a taken delivery as done.
    pub fn give_back(&self, taken: &Taken) {
        let mut counts = self.counts();
        counts.taken = counts.taken.saturating_sub(1);
        if let Some(account) = counts.accounts.get_mut(&taken.account) {
            *account -= 1;
            if *account == 0 {
                counts.accounts.remove(&taken.account);
            }
        }
        if let Some(host) = counts.hosts.get_mut(&taken.host) {
            host.taken -= 1;
            if let Some(webhook) = host.webhooks.get_mut(&taken.webhook) {
                *webhook -= 1;
                if *webhook == 0 {
                    host.webhooks.remove(&taken.webhook);
                }
            }
            if host.taken == 0 {
                counts.hosts.remove(&taken.host);
            }
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use tracklane_core::ids::WebhookDeliveryId;

    use super::*;

    fn delivery(id: i64, account: i64, webhook: i64, url: &str) -> DueDelivery {
        DueDelivery {
            id: WebhookDeliveryId(id),
            account: AccountId(account),
            webhook: WebhookId(webhook),
            url: url.to_owned(),
            secret: SecretString::from("whsec_x"),
            content_type: "application/x-www-form-urlencoded".to_owned(),
            body: String::new(),
            attempts: 0,
            first_attempt_at: None,
        }
    }

    #[test]
    fn an_account_at_its_share_and_a_busy_host_are_left_alone_until_given_back() {
        let shares = Shares::default();
        let mut held = Vec::new();
        // The slow host's share is full, the fast one has a few, others one each.
        for id in 0..ACCOUNT_TAKEN as i64 {
            let (webhook, url) = match id {
                _ if id < HOST_TAKEN as i64 => (1, "https://slow.example/in".to_owned()),
                _ if id < HOST_TAKEN as i64 + 10 => (2, "https://fast.example/in".to_owned()),
                _ => (id, format!("https://h{id}.example/in")),
            };
            held.push(shares.take(&delivery(id, 1, webhook, &url)).0);
        }
        let saturated = shares.saturated();
        assert_eq!(saturated.accounts, [AccountId(1)]);
        assert_eq!(saturated.webhooks, [WebhookId(1)]);
        assert_eq!(shares.room(), TAKEN - ACCOUNT_TAKEN);

        for taken in &held {
            shares.give_back(taken);
        }
        assert_eq!(shares.saturated(), Saturated::default());
        assert_eq!(shares.room(), TAKEN);
        assert!(shares.counts().hosts.is_empty(), "no host is remembered");
    }
}
