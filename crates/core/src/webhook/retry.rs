//! When a failed delivery is tried again: after a delay that doubles from [`FIRST_DELAY`] up to
//! [`LONGEST_DELAY`], each scaled by a random factor between 0.8 and 1.2 (jitter, so that a
//! receiver that comes back is not met by every retry at once), or after the receiver's own
//! `Retry-After` when it asks for longer (up to [`LONGEST_DELAY`]); and not at all once the
//! delivery has been tried for [`HORIZON`].

use std::time::Duration;

/// The delay before the second attempt.
pub const FIRST_DELAY: Duration = Duration::from_secs(5);
/// The longest delay between two attempts.
pub const LONGEST_DELAY: Duration = Duration::from_secs(3600);
/// How long after its first attempt a delivery is still tried.
pub const HORIZON: Duration = Duration::from_secs(24 * 3600);

/// The delay before the attempt after `failed` failed attempts (1 for the first failure),
/// with `jitter` in `0.0..1.0` (a uniform random draw) and the receiver's `Retry-After`.
pub fn delay(failed: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    let doubled = FIRST_DELAY
        .checked_mul(1 << failed.saturating_sub(1).min(20))
        .unwrap_or(LONGEST_DELAY)
        .min(LONGEST_DELAY);
    let scaled = doubled.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    match retry_after {
        Some(asked) => scaled.max(asked.min(LONGEST_DELAY)),
        None => scaled,
    }
}

/// Whether a delivery first tried `since_first` ago may be tried again after `next`.
pub fn within_horizon(since_first: Duration, next: Duration) -> bool {
    since_first.saturating_add(next) <= HORIZON
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_up_to_an_hour() {
        assert_eq!(delay(1, 0.5, None), Duration::from_secs(5));
        assert_eq!(delay(2, 0.5, None), Duration::from_secs(10));
        assert_eq!(delay(3, 0.0, None), Duration::from_secs(16));
        assert_eq!(delay(3, 1.0, None), Duration::from_secs(24));
        assert_eq!(delay(30, 0.5, None), LONGEST_DELAY);
        assert_eq!(delay(u32::MAX, 1.0, None), LONGEST_DELAY.mul_f64(1.2));
    }

    #[test]
    fn retry_after_is_honoured_when_longer_and_bounded() {
        let asked = Duration::from_secs(120);
        assert_eq!(delay(1, 0.5, Some(asked)), asked);
        assert_eq!(delay(1, 0.5, Some(Duration::from_secs(1))), FIRST_DELAY);
        assert_eq!(
            delay(1, 0.5, Some(Duration::from_secs(999_999))),
            LONGEST_DELAY
        );
    }

    #[test]
    fn attempts_stop_after_a_day() {
        assert!(within_horizon(Duration::from_secs(3600), LONGEST_DELAY));
        assert!(!within_horizon(HORIZON, Duration::from_secs(1)));
        // About 30 attempts fit in a day: the first ones close together, then hourly.
        let mut since = Duration::ZERO;
        let mut attempts = 1;
        while within_horizon(since, delay(attempts, 0.5, None)) {
            since += delay(attempts, 0.5, None);
            attempts += 1;
        }
        assert!((25..=35).contains(&attempts), "{attempts}");
    }
}
