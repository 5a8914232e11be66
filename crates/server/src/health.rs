//! The background workers' heartbeats, which `/healthz` reads: each worker's loop beats after
//! every round, and a worker whose last beat is older than its deadline is late (it hangs, or
//! one of its rounds takes far longer than any should); one whose loop ended while serving (a
//! panic) is stopped at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a worker may go without a beat before it counts as late, beyond its longest rest.
pub const GRACE: Duration = Duration::from_secs(600);

/// The workers that report in, by name.
#[derive(Debug, Clone, Default)]
pub struct Heartbeats {
    workers: Arc<Mutex<BTreeMap<&'static str, Pulse>>>,
}

#[derive(Debug, Clone, Copy)]
struct Pulse {
    /// The last beat, or `None` once the worker's loop has ended.
    last: Option<Instant>,
    /// How long after the last beat the worker counts as late.
    deadline: Duration,
}

/// The workers that are not well, by what is wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unwell {
    /// Workers whose last beat is older than their deadline.
    pub late: Vec<&'static str>,
    /// Workers whose loop ended.
    pub stopped: Vec<&'static str>,
}

impl Unwell {
    /// Whether every worker is well.
    pub fn is_empty(&self) -> bool {
        self.late.is_empty() && self.stopped.is_empty()
    }
}

impl Heartbeats {
    /// Registers `worker`, which must beat at least every `deadline`; it has beaten now. The
    /// worker counts as stopped once the answer is dropped (its loop ended, or panicked).
    pub fn register(&self, worker: &'static str, deadline: Duration) -> Heartbeat {
        let pulse = Pulse {
            last: Some(Instant::now()),
            deadline,
        };
        self.workers().insert(worker, pulse);
        Heartbeat {
            beats: self.clone(),
            worker,
        }
    }

    /// The workers that are late or stopped.
    pub fn unwell(&self) -> Unwell {
        let now = Instant::now();
        let mut unwell = Unwell::default();
        for (&worker, pulse) in self.workers().iter() {
            match pulse.last {
                None => unwell.stopped.push(worker),
                Some(last) if now.duration_since(last) > pulse.deadline => {
                    unwell.late.push(worker);
                }
                Some(_) => {}
            }
        }
        unwell
    }

    fn workers(&self) -> MutexGuard<'_, BTreeMap<&'static str, Pulse>> {
        self.workers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One worker's registration: its loop beats it after each round, and dropping it (the loop
/// ending) marks the worker stopped.
#[derive(Debug)]
pub struct Heartbeat {
    beats: Heartbeats,
    worker: &'static str,
}

impl Heartbeat {
    /// The worker is alive now.
    pub fn beat(&self) {
        self.set_last(Some(Instant::now()));
    }

    /// Records the worker's last beat (`None`: its loop ended).
    fn set_last(&self, last: Option<Instant>) {
        if let Some(pulse) = self.beats.workers().get_mut(self.worker) {
            pulse.last = last;
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.set_last(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_is_late_after_its_deadline_until_it_beats_and_stopped_when_its_loop_ends() {
        let beats = Heartbeats::default();
        let prompt = beats.register("prompt", Duration::from_secs(60));
        let slow = beats.register("slow", Duration::from_millis(10));
        assert!(beats.unwell().is_empty(), "both just beat");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(beats.unwell().late, ["slow"]);
        slow.beat();
        assert!(beats.unwell().is_empty(), "the slow one beat again");
        drop(prompt);
        let unwell = beats.unwell();
        assert_eq!(unwell.stopped, ["prompt"]);
        assert!(unwell.late.is_empty());
    }

    #[test]
    fn a_worker_whose_task_panics_is_stopped() {
        let beats = Heartbeats::default();
        let heart = beats.register("fragile", Duration::from_secs(60));
        let ended = std::thread::spawn(move || {
            let _heart = heart;
            panic!("a bug in a round");
        })
        .join();
        assert!(ended.is_err());
        assert_eq!(beats.unwell().stopped, ["fragile"]);
    }
}
