//! How busy the writer is with foreground writes (requests, tracking): the share of the last
//! window of [`WINDOW`] during which one was under way (waiting for the writer or holding it).
//! Background work (webhook deliveries) gives way while that share is
//! [`SATURATED`] or more, so that a burst is not slowed down by the work it makes; below it,
//! background work goes at once, and stays prompt.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The window whose busy share is measured.
const WINDOW: Duration = Duration::from_millis(100);
/// The busy share from which the writer counts as saturated.
const SATURATED: f64 = 0.75;

/// The writer's foreground load.
#[derive(Debug, Default)]
pub(crate) struct Foreground {
    load: Mutex<Load>,
}

#[derive(Debug, Default)]
struct Load {
    /// Foreground writes under way.
    under_way: usize,
    /// Since when one has been under way, counted into the window from then.
    busy_since: Option<Instant>,
    /// When the current window started.
    window_start: Option<Instant>,
    /// How long one was under way in the current window, before `busy_since`.
    busy_in_window: Duration,
    /// The busy share of the last window that ended.
    last_share: f64,
}

impl Load {
    /// Ends the current window when it is over at `now`.
    fn roll(&mut self, now: Instant) {
        let start = *self.window_start.get_or_insert(now);
        let length = now.duration_since(start);
        if length < WINDOW {
            return;
        }
        let mut busy = self.busy_in_window;
        if let Some(since) = self.busy_since.as_mut() {
            busy += now.duration_since(*since);
            *since = now;
        }
        self.last_share = busy.as_secs_f64() / length.as_secs_f64();
        self.window_start = Some(now);
        self.busy_in_window = Duration::ZERO;
    }
}

/// A foreground write under way, counted until it is dropped.
pub(crate) struct UnderWay<'a>(&'a Foreground);

impl Drop for UnderWay<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut load = self.0.load();
        load.roll(now);
        load.under_way -= 1;
        if load.under_way == 0 {
            if let Some(since) = load.busy_since.take() {
                load.busy_in_window += now.duration_since(since);
            }
        }
    }
}

impl Foreground {
    /// Counts a foreground write as under way until the answer is dropped.
    pub(crate) fn enter(&self) -> UnderWay<'_> {
        let now = Instant::now();
        let mut load = self.load();
        load.roll(now);
        if load.under_way == 0 {
            load.busy_since = Some(now);
        }
        load.under_way += 1;
        UnderWay(self)
    }

    /// Whether the writer was busy with foreground writes for [`SATURATED`] of the last
    /// window or more.
    pub(crate) fn saturated(&self) -> bool {
        let mut load = self.load();
        load.roll(Instant::now());
        load.last_share >= SATURATED
    }

    fn load(&self) -> MutexGuard<'_, Load> {
        self.load.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_busy_for_most_of_a_window_is_saturated_and_an_idle_one_is_not() {
        let foreground = Foreground::default();
        assert!(!foreground.saturated());
        {
            let _first = foreground.enter();
            let _second = foreground.enter();
            std::thread::sleep(WINDOW + Duration::from_millis(10));
            assert!(foreground.saturated(), "busy for the whole window");
        }
        std::thread::sleep(WINDOW + Duration::from_millis(10));
        foreground.enter();
        assert!(!foreground.saturated(), "idle for the last window");
    }
}
