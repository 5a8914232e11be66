//! How long to wait before retrying a message after a transient failure.

use std::time::Duration;

/// The delay before the first retry.
pub const FIRST_RETRY: Duration = Duration::from_secs(30);
/// The longest delay between two attempts.
pub const LONGEST_RETRY: Duration = Duration::from_secs(3600);

/// The delay before retrying after failed attempt number `attempt` (1 for the first failure):
/// 30 s, then doubling (1 min, 2 min, 4 min, ...) up to one hour. No jitter: retries are rows with
/// a wake-up time, and the rate limit already spreads the sends out.
pub fn backoff(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    FIRST_RETRY
        .checked_mul(1 << doublings)
        .map_or(LONGEST_RETRY, |delay| delay.min(LONGEST_RETRY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_starts_at_thirty_seconds_and_doubles() {
        assert_eq!(backoff(0), FIRST_RETRY);
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(2), Duration::from_secs(60));
        assert_eq!(backoff(3), Duration::from_secs(120));
        assert_eq!(backoff(7), Duration::from_secs(1920));
    }

    #[test]
    fn the_delay_is_capped_at_one_hour() {
        assert_eq!(backoff(8), LONGEST_RETRY);
        assert_eq!(backoff(40), LONGEST_RETRY);
        assert_eq!(backoff(u32::MAX), LONGEST_RETRY);
    }

    #[test]
    fn the_delay_never_shrinks() {
        for attempt in 0..100 {
            assert!(backoff(attempt) <= backoff(attempt + 1));
        }
    }
}
