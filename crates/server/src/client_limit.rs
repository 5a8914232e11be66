//! A limit on how often one client address may do something (submit a form), as a token bucket
//! per address (`governor`'s GCRA): a burst of the whole per-minute allowance, then one more each
//! `60 / rate` seconds. Addresses not seen for a while are forgotten, so memory stays bounded.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How many addresses are remembered before the idle ones are swept.
const SWEEP_AT: usize = 10_000;

/// A per-client-address limit.
pub struct ClientLimit {
    /// `None` when there is no limit.
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl ClientLimit {
    /// At most `rate` per minute per address; 0 for no limit.
    pub fn per_minute(rate: u32) -> Self {
        Self {
            limiter: NonZeroU32::new(rate).map(|rate| RateLimiter::keyed(Quota::per_minute(rate))),
        }
    }

    /// Counts one more for `client`, or says how long it must wait when over the limit.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > SWEEP_AT {
            limiter.retain_recent();
        }
        limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
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
    fn zero_means_no_limit() {
        let limit = ClientLimit::per_minute(0);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!((0..100).all(|_| limit.check(ip).is_ok()));
    }
}
