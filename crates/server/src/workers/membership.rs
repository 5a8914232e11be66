//! Live segment membership. Each committed change that could alter a contact's answers queues
//! the contact (the store's triggers, in the change's own transaction); this worker takes the
//! queue in rounds, reads the round's contacts' facts at once (of their timelines, only the
//! rows the conditions need), re-evaluates only the segments that read that kind of change with
//! core's one-contact evaluator, and records who entered and left in one transaction per round.
//! After each round it rests as long as the round worked, so that a flood of changes never
//! takes more than half its time from ingest. It also computes a segment's members whole after
//! it is saved or edited, and wakes a contact again when a time window will move its answer.
//! Transitions are published on an internal stream that later features (automations)
//! subscribe to. Beside the rounds runs the [`Scorer`], which awards the rows added to
//! contacts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};
use tracklane_core::ids::{AccountId, ContactId, SegmentId};
use tracklane_core::score;
use tracklane_core::score::rule::ScoreRule;
use tracklane_core::segment::saved::Segment;
use tracklane_core::segment::{ContactFacts, Definition, Reads};
use tracklane_core::time::Timestamp;
use tracklane_store::scoring::live::ScoreWork;
use tracklane_store::scoring::Step;
use tracklane_store::segments::members::Transition;
use tracklane_store::segments::membership::{Change, Check, NextCheck, Settled};
use tracklane_store::{Store, StoreError};

use super::scoring::Scorer;
use crate::health::{Heartbeat, Heartbeats, GRACE};
use crate::startup::report_exit;
use crate::state::Clock;

/// The most checks one round settles (in one transaction).
pub const ROUND: i64 = 256;
/// The longest the worker sleeps without looking at the queue (changes made by another node
/// of the same PostgreSQL database wake nobody here).
pub const IDLE_LOOK: Duration = Duration::from_secs(1);
/// How long the worker rests after a round that checked contacts, as a share of the round's
/// time.
const REST: f64 = 1.0;
/// How many transitions the stream keeps for a subscriber that lags.
const STREAM_CAPACITY: usize = 4096;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Segments whose members were computed whole, and steps of scoring rules' recomputes
    /// (not those another worker held).
    pub computed: usize,
    /// Contacts checked.
    pub checked: usize,
    /// Contacts that entered or left a segment.
    pub transitions: usize,
    /// Contacts found with new rows to score (see [`Scorer`]; some may be held by another
    /// worker's transaction).
    pub scored: usize,
    /// Scores that changed.
    pub score_changes: usize,
}

/// The membership worker.
#[derive(Clone)]
pub struct Membership {
    store: Store,
    clock: Arc<dyn Clock>,
    stream: broadcast::Sender<Transition>,
    scorer: Scorer,
}

impl Membership {
    /// A worker over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            scorer: Scorer::new(store.clone(), clock.clone()),
            store,
            clock,
            stream: broadcast::channel(STREAM_CAPACITY).0,
        }
    }

    /// Every transition from now on, as it commits.
    pub fn subscribe(&self) -> broadcast::Receiver<Transition> {
        self.stream.subscribe()
    }

    /// One round and one step of the scorer (the worker runs them side by side; tests drive
    /// both through this).
    pub async fn run_once(&self) -> Result<Round, StoreError> {
        let mut round = self.round().await?;
        let step = self.scorer.step(ContactId(0)).await?;
        round.scored = step.found;
        round.score_changes += step.score_changes;
        Ok(round)
    }

    /// One round: computes the segments waiting for it, then settles up to [`ROUND`] due
    /// checks.
    #[tracing::instrument(name = "membership_round", skip_all)]
    async fn round(&self) -> Result<Round, StoreError> {
        let now = self.clock.now();
        let mut round = Round::default();
        for (account, segment) in self.store.segments_to_compute().await? {
            // One segment that fails is logged and tried again next round; the others go on.
            match self
                .store
                .compute_segment_members(account, segment, now)
                .await
            {
                Ok(Some(transitions)) => {
                    tracing::info!(
                        segment = segment.0,
                        transitions = transitions.len(),
                        "segment members computed"
                    );
                    round.computed += 1;
                    round.transitions += transitions.len();
                    self.publish(transitions);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(segment = segment.0, error = ?error, "computing a segment failed");
                }
            }
        }
        for (account, rule) in self.store.score_rules_to_step().await? {
            // One step per rule and round, so that rounds of checks go on meanwhile.
            match self.store.recompute_score_rule(account, rule, now).await {
                Ok(Step::Idle) => {}
                Ok(Step::Scored | Step::Swept) => round.computed += 1,
                Ok(Step::Counted(changes)) => {
                    tracing::info!(rule = rule.0, changes, "score rule counted");
                    round.computed += 1;
                    round.score_changes += changes;
                }
                Err(error) => {
                    tracing::error!(rule = rule.0, error = ?error, "recomputing a score rule failed");
                }
            }
        }
        let checks = self.store.due_segment_checks(now, ROUND).await?;
        round.checked = checks.len();
        let mut accounts: BTreeMap<AccountId, Vec<Check>> = BTreeMap::new();
        for check in checks {
            accounts.entry(check.account).or_default().push(check);
        }
        let mut settled = Vec::with_capacity(round.checked);
        let mut rules = BTreeMap::new();
        for (account, checks) in accounts {
            // An account whose checks fail stays queued for the next round; the others go on.
            match self.check(account, &checks, now).await {
                Ok((mut some, account_rules)) => {
                    settled.append(&mut some);
                    rules.insert(account, account_rules);
                }
                Err(error) => {
                    tracing::error!(account = account.0, contacts = checks.len(), error = ?error, "segment checks failed");
                }
            }
        }
        if !settled.is_empty() {
            let (transitions, scores) = self
                .store
                .settle_segment_checks(&settled, &rules, now)
                .await?;
            round.transitions += transitions.len();
            round.score_changes += scores.len();
            self.publish(transitions);
        }
        Ok(round)
    }

    /// Re-evaluates, for each of an account's checks, the segments that read what changed
    /// for its contact, reading the contacts' facts at once.
    async fn check(
        &self,
        account: AccountId,
        checks: &[Check],
        now: Timestamp,
    ) -> Result<(Vec<Settled>, Vec<ScoreRule>), StoreError> {
        let segments = self.store.account_segments(account).await?;
        let rules = self.store.account_score_rules(account).await?;
        let reads: Vec<Reads> = segments
            .iter()
            .map(|segment| segment.definition.reads())
            .collect();
        // A wake-up (a window moved, or a segment that reads time was computed) evaluates every
        // segment that reads time and finds the contact's next wake-up again; a change
        // evaluates the segments that read that kind of change, and keeps the pending wake-up
        // when it comes first (one that is early only makes a check that changes nothing).
        let waking = |check: &Check| {
            check.reasons.meets(Reads::TIME) || check.wake_at.is_some_and(|at| at <= now)
        };
        let needed: Vec<Vec<usize>> = checks
            .iter()
            .map(|check| {
                let waking = waking(check);
                (0..segments.len())
                    .filter(|&i| {
                        reads[i].meets(check.reasons) || (waking && reads[i].meets(Reads::TIME))
                    })
                    .collect()
            })
            .collect();
        let scoring: Vec<Scoring> = checks
            .iter()
            .map(|check| Scoring::needed(&rules, check, waking(check)))
            .collect();
        let read: BTreeSet<usize> = needed.iter().flatten().copied().collect();
        let held_rules: BTreeSet<usize> = scoring
            .iter()
            .flat_map(|scoring| scoring.while_true.iter().copied())
            .collect();
        let definitions: Vec<&Definition> = read
            .iter()
            .map(|&i| &segments[i].definition)
            .chain(held_rules.iter().map(|&i| &rules[i].rule.definition))
            .collect();
        let contacts: Vec<ContactId> = checks
            .iter()
            .zip(needed.iter().zip(&scoring))
            .filter(|(_, (needed, scoring))| !needed.is_empty() || !scoring.while_true.is_empty())
            .map(|(check, _)| check.contact)
            .collect();
        let held_of: Vec<&ScoreRule> = held_rules.iter().map(|&i| &rules[i]).collect();
        let (facts, members, held) = tokio::join!(
            self.store
                .needed_facts(account, &contacts, &definitions, now),
            self.store.contacts_segments(&contacts),
            self.store.held_score_awards(&contacts, &held_of)
        );
        let (facts, members, held) = (facts?, members?, held?);
        let settled =
            checks
                .iter()
                .zip(needed.iter().zip(scoring))
                .map(|(&check, (needed, scoring))| {
                    let pending = check.wake_at.filter(|_| !waking(&check));
                    let work = |while_true| ScoreWork {
                        settle: scoring.settle,
                        while_true,
                    };
                    if needed.is_empty() && scoring.while_true.is_empty() {
                        return Settled {
                            check,
                            changes: Vec::new(),
                            next: pending.map_or(NextCheck::OnChange, NextCheck::At),
                            scoring: work(Vec::new()),
                        };
                    }
                    let Some(facts) = facts.get(&check.contact) else {
                        // A deleted contact: its memberships, awards and queue row went with it.
                        return Settled {
                            check,
                            changes: Vec::new(),
                            next: NextCheck::OnChange,
                            scoring: ScoreWork::default(),
                        };
                    };
                    let needed: Vec<(&Segment, Reads)> =
                        needed.iter().map(|&i| (&segments[i], reads[i])).collect();
                    let member_of = members.get(&check.contact);
                    let mut settled = evaluate(check, &needed, facts, member_of, pending, now);
                    let mut while_true = Vec::new();
                    for &i in &scoring.while_true {
                        let rule = &rules[i];
                        let holds = rule.rule.definition.matches(facts, now);
                        if holds != held.contains(&(check.contact, rule.id)) {
                            while_true.push((rule.id, holds));
                        }
                        if rule.rule.definition.reads().meets(Reads::TIME) {
                            if let Some(at) = rule.rule.definition.next_change(facts, now) {
                                settled.next = settled.next.earliest(at);
                            }
                        }
                    }
                    settled.scoring = work(while_true);
                    settled
                });
        Ok((settled.collect(), rules))
    }

    fn publish(&self, transitions: Vec<Transition>) {
        for transition in transitions {
            // Nobody listening is fine: the transitions are stored.
            let _ = self.stream.send(transition);
        }
    }

    /// Runs rounds until `stop` changes: at once while there is work, else after the next
    /// committed write, at the next wake-up, or after [`IDLE_LOOK`]; the rounds and the
    /// scorer beat in `health`.
    pub async fn run(self, mut stop: watch::Receiver<bool>, health: Heartbeats) {
        let scorer = tokio::spawn(self.scorer.clone().run(stop.clone(), health.clone()));
        self.run_rounds(&mut stop, &health.register("segment membership", GRACE))
            .await;
        report_exit("scorer", scorer.await);
    }

    /// Runs rounds (without the scorer's steps, which run beside them) until `stop` changes.
    async fn run_rounds(&self, stop: &mut watch::Receiver<bool>, heart: &Heartbeat) {
        let mut commits = self.store.commits();
        loop {
            heart.beat();
            let started = Instant::now();
            let outcome = self.round().await;
            if outcome.as_ref().is_ok_and(|round| round.checked > 0) {
                // Under a flood of changes the worker rests as long as it worked, so that it
                // takes at most half its time from ingest, and a busy contact's changes
                // coalesce into one check.
                tokio::select! {
                    () = tokio::time::sleep(started.elapsed().mul_f64(REST)) => {}
                    _ = stop.changed() => return,
                }
            }
            let pause = match outcome {
                Ok(round) if round.checked as i64 == ROUND || round.computed > 0 => Duration::ZERO,
                Ok(_) => self.until_next_check().await,
                Err(error) => {
                    tracing::error!(error = ?error, "a segment membership round failed");
                    IDLE_LOOK
                }
            };
            if pause.is_zero() {
                if *stop.borrow() {
                    return;
                }
                continue;
            }
            tokio::select! {
                _ = commits.changed() => {}
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// How long until the earliest queued check is due, at most [`IDLE_LOOK`].
    async fn until_next_check(&self) -> Duration {
        match self.store.next_segment_check().await {
            Ok(Some(due)) => {
                let micros = due.0.saturating_sub(self.clock.now().0).max(1);
                Duration::from_micros(u64::try_from(micros).unwrap_or(1)).min(IDLE_LOOK)
            }
            Ok(None) => IDLE_LOOK,
            Err(error) => {
                tracing::error!(error = ?error, "reading when the next segment check is due failed");
                IDLE_LOOK
            }
        }
    }
}

/// One check's outcome: the `needed` segments (with what they read) whose answer for the
/// contact differs from its stored memberships, and its next wake-up: the earliest of `pending`
/// and those of the needed segments that read time.
fn evaluate(
    check: Check,
    needed: &[(&Segment, Reads)],
    facts: &ContactFacts,
    member_of: Option<&BTreeSet<SegmentId>>,
    pending: Option<Timestamp>,
    now: Timestamp,
) -> Settled {
    let mut changes = Vec::new();
    let mut wake_at = pending;
    for &(segment, reads) in needed {
        let is = segment.definition.matches(facts, now);
        if is != member_of.is_some_and(|ids| ids.contains(&segment.id)) {
            changes.push(Change {
                segment: segment.id,
                revision: segment.revision,
                entered: is,
            });
        }
        if reads.meets(Reads::TIME) {
            if let Some(at) = segment.definition.next_change(facts, now) {
                wake_at = Some(wake_at.map_or(at, |earliest| earliest.min(at)));
            }
        }
    }
    Settled {
        check,
        changes,
        next: wake_at.map_or(NextCheck::OnChange, NextCheck::At),
        scoring: ScoreWork::default(),
    }
}

/// Which of an account's scoring rules held while true (by index) a check asks to evaluate
/// (rules over single behaviors score new rows whatever the check asks).
struct Scoring {
    /// Those that read what changed, and at a wake-up those that read time.
    while_true: Vec<usize>,
    /// Whether to settle the contact's scores: a wake-up (awards may have expired).
    settle: bool,
}

impl Scoring {
    fn needed(rules: &[ScoreRule], check: &Check, waking: bool) -> Self {
        let while_true = rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| {
                let reads = rule.rule.definition.reads();
                score::rule::Scoring::of(&rule.rule.definition) == score::rule::Scoring::WhileTrue
                    && (reads.meets(check.reasons) || (waking && reads.meets(Reads::TIME)))
            })
            .map(|(i, _)| i)
            .collect();
        Self {
            while_true,
            settle: waking,
        }
    }
}
