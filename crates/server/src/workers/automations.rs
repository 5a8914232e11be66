//! Running automations: each pass takes the runs that are due under a lease, answers the
//! conditions their steps ask (one query per step and batch), walks each run on from its step
//! (the pure `walk` of core) and commits the walks with their effects in one transaction. Runs
//! and their waits are rows: a restart, a crash or a second node loses nothing, and a stale
//! claim's walk is not committed (its epoch moved on).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tracklane_core::automation::walk::{Answers, Effect, Outcome, Place};
use tracklane_core::automation::Definition;
use tracklane_core::ids::{AutomationId, ContactId};
use tracklane_core::time::Timestamp;
use tracklane_store::automations::claims::Claimed;
use tracklane_store::automations::moves::{Destination, Move, Moved};
use tracklane_store::{Store, StoreError};

use super::membership::IDLE_LOOK;
use crate::health::{Heartbeats, GRACE};
use crate::state::Clock;

/// The most runs one pass takes.
pub const BATCH: i64 = 500;
/// How long a claim holds its runs: a worker that stops holds them no longer.
pub const LEASE: Duration = Duration::from_secs(60);
/// The shortest time between passes that find nothing to do.
const LOOK_AFTER: Duration = Duration::from_millis(20);
/// The most definitions (automation versions) kept read.
const DEFINITIONS_KEPT: usize = 1_024;

/// Definitions read, by automation and version (versions never change).
type Definitions = HashMap<(AutomationId, i64), Arc<Definition>>;

/// A step that asks a condition, of an automation's version.
type ConditionStep = (AutomationId, i64, usize);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Runs taken.
    pub claimed: usize,
    /// What the move did.
    pub moved: Moved,
}

/// The definitions of automation versions read, at most [`DEFINITIONS_KEPT`] (versions never
/// change, so a kept one is never stale).
#[derive(Clone, Default)]
pub(crate) struct DefinitionCache {
    kept: Arc<Mutex<Definitions>>,
}

impl DefinitionCache {
    /// The definition of a version, read once.
    pub(crate) async fn get(
        &self,
        store: &Store,
        automation: AutomationId,
        version: i64,
    ) -> Result<Arc<Definition>, StoreError> {
        let key = (automation, version);
        if let Some(known) = self.kept().get(&key) {
            return Ok(known.clone());
        }
        let read = Arc::new(store.automation_version(automation, version).await?);
        let mut kept = self.kept();
        if kept.len() >= DEFINITIONS_KEPT {
            kept.clear();
        }
        kept.insert(key, read.clone());
        Ok(read)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Definitions> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The automation runner.
#[derive(Clone)]
pub struct Runner {
    store: Store,
    clock: Arc<dyn Clock>,
    definitions: DefinitionCache,
    sending: Arc<Notify>,
}

impl Runner {
    /// A runner over `store`; `sending` wakes the sender when a move queued an email.
    pub fn new(store: Store, clock: Arc<dyn Clock>, sending: Arc<Notify>) -> Self {
        Self {
            store,
            clock,
            definitions: DefinitionCache::default(),
            sending,
        }
    }

    /// One pass: fires the date triggers that are due, then takes up to [`BATCH`] due runs and
    /// moves them.
    #[tracing::instrument(name = "automation_pass", skip_all)]
    pub async fn run_once(&self) -> Result<Pass, StoreError> {
        let now = self.clock.now();
        self.store.fire_dates(now).await?;
        let lease = i64::try_from(LEASE.as_micros()).unwrap_or(i64::MAX);
        let claimed = self
            .store
            .claim_runs(now, BATCH, Timestamp(now.0.saturating_add(lease)))
            .await?;
        if claimed.is_empty() {
            return Ok(Pass::default());
        }
        let mut definitions = Vec::with_capacity(claimed.len());
        for run in &claimed {
            let definition = self
                .definitions
                .get(&self.store, run.automation, run.version);
            definitions.push(definition.await?);
        }
        let answers = self.answers(&claimed, &definitions, now).await?;
        let moves: Vec<Move> = claimed
            .iter()
            .zip(&definitions)
            .map(|(run, definition)| {
                let known = answers.get(&run.run.0).cloned().unwrap_or_default();
                walk(run, definition, &known, now)
            })
            .collect();
        let moved = self.store.move_runs(&moves, now).await?;
        let emails = moves
            .iter()
            .flat_map(|one| &one.effects)
            .any(|(_, effect)| matches!(effect, Effect::SendEmail(_) | Effect::Notify { .. }));
        if emails {
            self.sending.notify_one();
        }
        Ok(Pass {
            claimed: claimed.len(),
            moved,
        })
    }

    /// What each run's walk knows of its contact's conditions, by run id: whether it meets
    /// the condition of the step it is at, and which goals ahead of it it meets. One query
    /// per condition step of a version and batch.
    async fn answers(
        &self,
        claimed: &[Claimed],
        definitions: &[Arc<Definition>],
        now: Timestamp,
    ) -> Result<BTreeMap<i64, Answers>, StoreError> {
        let mut asking: BTreeMap<ConditionStep, Vec<(&Claimed, Option<usize>)>> = BTreeMap::new();
        let mut by_key = BTreeMap::new();
        for (run, definition) in claimed.iter().zip(definitions) {
            let Some((index, _)) = definition.step(&run.step) else {
                continue;
            };
            let place = Place {
                step: index,
                since: run.since,
            };
            let first = definition.asks_first(run.run, place, now);
            let mut asked = definition.goals_ahead(index);
            asked.extend(first.filter(|step| !asked.contains(step)));
            for step in asked {
                let key = (run.automation, run.version, step);
                asking.entry(key).or_default().push((run, first));
                by_key.insert(key, definition.clone());
            }
        }
        let mut answers: BTreeMap<i64, Answers> = BTreeMap::new();
        for (key, runs) in asking {
            let Some(condition) = by_key[&key].condition_of(key.2) else {
                continue;
            };
            let account = runs[0].0.account;
            let contacts: Vec<ContactId> = runs.iter().map(|(run, _)| run.contact).collect();
            let meeting = self
                .store
                .contacts_meeting(account, condition, &contacts, now)
                .await?;
            for (run, first) in runs {
                let met = meeting.contains(&run.contact);
                let known = answers.entry(run.run.0).or_default();
                if first == Some(key.2) {
                    known.first = Some((key.2, met));
                } else if met {
                    known.goals_met.push(key.2);
                }
            }
        }
        Ok(answers)
    }

    /// Runs passes until `stop` changes: at once while runs are due, else after the next
    /// committed write, when the next run is due, or after [`IDLE_LOOK`]; beats in `health`.
    pub async fn run(self, mut stop: watch::Receiver<bool>, health: Heartbeats) {
        let heart = health.register("automations", GRACE);
        let mut commits = self.store.commits();
        loop {
            heart.beat();
            let pause = match self.run_once().await {
                Ok(pass) if pass.claimed as i64 == BATCH => Duration::ZERO,
                Ok(_) => self.until_next_due().await,
                Err(error) => {
                    tracing::error!(error = ?error, "an automation pass failed");
                    IDLE_LOOK
                }
            };
            if *stop.borrow() {
                return;
            }
            if pause.is_zero() {
                continue;
            }
            // Under a flood of commits, a pass every [`LOOK_AFTER`] at most: looking after each
            // one would take the ingest's cores for two reads per commit.
            tokio::select! {
                () = tokio::time::sleep(LOOK_AFTER.min(pause)) => {}
                _ = stop.changed() => return,
            }
            tokio::select! {
                _ = commits.changed() => {}
                () = tokio::time::sleep(pause.saturating_sub(LOOK_AFTER)) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// How long until the next run or date trigger is due, at most [`IDLE_LOOK`].
    async fn until_next_due(&self) -> Duration {
        let (run, date) = (self.store.next_run_due(), self.store.next_date_due());
        let next = match (run.await, date.await) {
            (Ok(run), Ok(date)) => run.into_iter().chain(date).min(),
            _ => None,
        };
        match next {
            Some(due) => {
                let wait = due.0.saturating_sub(self.clock.now().0).max(0);
                Duration::from_micros(wait.unsigned_abs()).min(IDLE_LOOK)
            }
            None => IDLE_LOOK,
        }
    }
}

/// The move of one claimed run: a walk of its definition from its step.
fn walk(run: &Claimed, definition: &Definition, answers: &Answers, now: Timestamp) -> Move {
    let id_of = |index: usize| definition.steps()[index].id.clone();
    let Some((index, _)) = definition.step(&run.step) else {
        // A step the version does not have cannot be stored (runs take their steps from their
        // own version); were it so, the run ends rather than loop.
        return Move {
            claimed: run.clone(),
            effects: Vec::new(),
            passed: Vec::new(),
            reached: Vec::new(),
            paths: Vec::new(),
            destination: Destination::Ended,
        };
    };
    let place = Place {
        step: index,
        since: run.since,
    };
    let walked = definition.walk(run.run, place, answers, now);
    let destination = match walked.outcome {
        Outcome::At { step, since, due } => Destination::At {
            step: id_of(step),
            since,
            due,
            watching: definition.watches(step),
        },
        Outcome::Completed => Destination::Completed,
        Outcome::Ended => Destination::Ended,
    };
    Move {
        claimed: run.clone(),
        effects: walked
            .effects
            .into_iter()
            .map(|(step, effect)| (id_of(step), effect))
            .collect(),
        passed: walked.passed.into_iter().map(id_of).collect(),
        reached: walked.reached.into_iter().map(id_of).collect(),
        paths: walked
            .paths
            .into_iter()
            .map(|(split, path)| (id_of(split), path))
            .collect(),
        destination,
    }
}
