//! A limit on how often one client address may do something (submit a form), as a token bucket
//! per address (`governor`'s GCRA): a burst of the whole per-minute allowance, then one more each
//! `60 / rate` seconds. The buckets live in a `moka` cache of at most [`CAPACITY`] addresses; an
//! address not seen for a minute (its bucket full again) is forgotten, and past the capacity the
//! least used are, so that requests from ever new addresses cannot grow memory without bound.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use moka::sync::Cache;

/// The most addresses remembered.
pub const CAPACITY: u64 = 100_000;

/// How long an address's bucket takes to fill up again: after that, forgetting it changes
/// nothing.
const REFILL: Duration = Duration::from_secs(60);

/// A per-client-address limit.
pub struct ClientLimit {
    /// `None` when there is no limit.
    limit: Option<(Quota, Cache<IpAddr, Arc<DefaultDirectRateLimiter>>)>,
}

impl ClientLimit {
    /// At most `rate` per minute per address; 0 for no limit.
    pub fn per_minute(rate: u32) -> Self {
        Self::with_capacity(rate, CAPACITY)
    }

    /// At most `rate` per minute per address, remembering at most `capacity` addresses.
    pub fn with_capacity(rate: u32, capacity: u64) -> Self {
        Self {
            limit: NonZeroU32::new(rate).map(|rate| {
                let buckets = Cache::builder()
                    .max_capacity(capacity)
                    .time_to_idle(REFILL)
                    .build();
                (Quota::per_minute(rate), buckets)
            }),
        }
    }

    /// Counts one more for `client`, or says how long it must wait when over the limit.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let Some((quota, buckets)) = &self.limit else {
            return Ok(());
        };
        buckets
            .get_with(client, || Arc::new(RateLimiter::direct(*quota)))
            .check()
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// How many addresses are remembered, once pending evictions have run.
    #[cfg(test)]
    fn remembered(&self) -> u64 {
        self.limit.as_ref().map_or(0, |(_, buckets)| {
            buckets.run_pending_tasks();
            buckets.entry_count()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_own_allowance() {
        let limit = ClientLimit::per_minute(2);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limit.check(one).is_ok());
        assert!(limit.check(one).is_ok());
        let wait = limit.check(one).unwrap_err();
        assert!(wait > Duration::from_secs(20) && wait <= Duration::from_secs(30));
        assert!(limit.check(two).is_ok());
    }

    #[test]
    fn ever_new_addresses_stay_within_the_capacity() {
        let limit = ClientLimit::with_capacity(10, 100);
        for n in 0..1_000u32 {
            let ip = IpAddr::from(std::net::Ipv6Addr::from(u128::from(n)));
            assert!(limit.check(ip).is_ok());
        }
        assert!(limit.remembered() <= 100, "{}", limit.remembered());
    }

    #[test]
    fn zero_means_no_limit() {
        let limit = ClientLimit::per_minute(0);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!((0..100).all(|_| limit.check(ip).is_ok()));
    }
}
