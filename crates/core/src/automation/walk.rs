//! Where a contact's run goes from the step it is at: the pure part of the runtime. A walk
//! goes through the steps that take no time (tags, lists, fields, scores, branches), collects
//! their effects, and stops at a wait that has not ended, at a condition to evaluate, or at the
//! end. The store applies the effects and moves the run in one transaction.

use chrono::{Datelike, Duration, NaiveDateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::step::{Action, Moment, SplitPath, Unmet};
use super::Definition;
use crate::email::ContactEmail;
use crate::ids::{
    AutomationId, AutomationRunId, ListId, MessageId, ScoreModelId, TagId, WebhookId,
};
use crate::time::Timestamp;

/// A microsecond count of one second.
const SECOND: i64 = 1_000_000;

/// Something a step does to the contact, committed with the run's move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Put the tag on.
    AddTag(TagId),
    /// Take the tag off.
    RemoveTag(TagId),
    /// Subscribe to the list.
    Subscribe(ListId),
    /// Unsubscribe from the list.
    Unsubscribe(ListId),
    /// Set a field.
    SetField {
        /// The standard field's name or the custom field's personalization tag.
        field: String,
        /// The value.
        value: String,
    },
    /// Adjust the score in a model, on its ledger.
    AdjustScore {
        /// The model.
        model: ScoreModelId,
        /// The points.
        points: i64,
        /// After how many days they stop counting.
        expiry_days: Option<i64>,
    },
    /// Enter the contact into another automation.
    StartAutomation(AutomationId),
    /// Send the message to the contact.
    SendEmail(MessageId),
    /// Post the contact to the subscription's receiver.
    Webhook(WebhookId),
    /// Send the message, about the contact, to a fixed address.
    Notify {
        /// Who gets it.
        to: ContactEmail,
        /// The message.
        message: MessageId,
    },
}

/// Where a walk leaves the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// At a step, arrived at `since`, until `due` (when the worker takes it again; none while
    /// it waits for its contact to change).
    At {
        /// The step.
        step: usize,
        /// When the run arrived there (waits count from it, across edits).
        since: Timestamp,
        /// When to take it again.
        due: Option<Timestamp>,
    },
    /// It went past the last step.
    Completed,
    /// An `end` step ended it.
    Ended,
}

/// What a walk did: the effects with their steps, the steps passed, the goals reached, the
/// split paths taken, and where it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// The effects, in order, each with the step that made it.
    pub effects: Vec<(usize, Effect)>,
    /// The steps passed, in order.
    pub passed: Vec<usize>,
    /// The goal steps whose condition the contact met (jumped to, or met there), in order; a
    /// goal passed unmet (`continue`) is not reached.
    pub reached: Vec<usize>,
    /// The A/B splits passed, each with the index of the path taken.
    pub paths: Vec<(usize, usize)>,
    /// Where the run is now.
    pub outcome: Outcome,
}

/// A run's place: the step it is at and when it arrived there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The step.
    pub step: usize,
    /// When it arrived.
    pub since: Timestamp,
}

/// What a walk knows of the contact's conditions, evaluated just before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    /// The first step that asks a condition on the walk's way, before any effect (see
    /// [`Definition::asks_first`]), and whether the contact meets it.
    pub first: Option<(usize, bool)>,
    /// The goals ahead of the run (see [`Definition::goals_ahead`]) whose condition the
    /// contact meets.
    pub goals_met: Vec<usize>,
}

impl Definition {
    /// The first step that asks a condition (`if`, `waitFor`, `goal`) which a walk of run
    /// `run` from `place` at `now` reaches before any effect: the step itself, or one after
    /// waits that are over and splits. None when an effect, a wait not over or the end comes
    /// first. Answered before the walk, it spares the run a pass: a condition met after an
    /// effect of the same walk is asked once that effect is committed.
    pub fn asks_first(&self, run: AutomationRunId, place: Place, now: Timestamp) -> Option<usize> {
        let steps = self.steps();
        let (mut index, mut since) = (place.step, place.since);
        for _ in 0..=steps.len() {
            let step = &steps[index];
            let next = match &step.action {
                Action::If { .. } | Action::WaitFor { .. } | Action::Goal { .. } => {
                    return Some(index)
                }
                Action::Wait(seconds) => {
                    since = Timestamp(since.0.saturating_add(seconds * SECOND));
                    step.next
                }
                Action::WaitUntil(moment) => {
                    since = moment.after(since).max(since);
                    step.next
                }
                Action::Split(paths) => Some(split_path(paths, run, &step.id).1),
                _ => return None,
            };
            if since > now {
                return None;
            }
            index = next?;
        }
        None
    }

    /// The condition the step asks, if it asks one (`if`, `waitFor`, `goal`).
    pub fn condition_of(&self, step: usize) -> Option<&crate::segment::Definition> {
        match &self.steps()[step].action {
            Action::If { condition, .. }
            | Action::WaitFor { condition, .. }
            | Action::Goal { condition, .. } => Some(condition),
            _ => None,
        }
    }

    /// The goal steps a run at `step` may still reach (itself left out): it jumps to one as
    /// soon as the contact meets its condition.
    pub fn goals_ahead(&self, step: usize) -> Vec<usize> {
        let steps = self.steps();
        let mut seen = vec![false; steps.len()];
        let mut stack = vec![step];
        let mut goals = Vec::new();
        while let Some(index) = stack.pop() {
            let current = &steps[index];
            let mut after: Vec<usize> = current.action.branches().into_iter().copied().collect();
            if current.action.goes_on() {
                after.extend(current.next);
            }
            for next in after {
                if !std::mem::replace(&mut seen[next], true) {
                    if next != step && matches!(steps[next].action, Action::Goal { .. }) {
                        goals.push(next);
                    }
                    stack.push(next);
                }
            }
        }
        goals.sort_unstable();
        goals
    }

    /// Whether a run at `step` waits on the contact's changes: it waits for a condition there,
    /// or a goal is ahead of it. Such a run is woken when its contact changes.
    pub fn watches(&self, step: usize) -> bool {
        matches!(
            self.steps()[step].action,
            Action::WaitFor { .. } | Action::Goal { .. }
        ) || !self.goals_ahead(step).is_empty()
    }

    /// Walks run `run` on from `place` at `now`, with the `answers` evaluated just before: a
    /// goal ahead that the contact meets is jumped to first. A condition met later in the walk
    /// stops it there, due at once, so that it is evaluated after this walk's effects are
    /// committed.
    pub fn walk(
        &self,
        run: AutomationRunId,
        place: Place,
        answers: &Answers,
        now: Timestamp,
    ) -> Walk {
        let steps = self.steps();
        let mut walk = Walk {
            effects: Vec::new(),
            passed: Vec::new(),
            reached: Vec::new(),
            paths: Vec::new(),
            outcome: Outcome::Completed,
        };
        let (mut index, mut since) = (place.step, place.since);
        let ahead = self.goals_ahead(place.step);
        if let Some(&goal) = answers.goals_met.iter().find(|goal| ahead.contains(goal)) {
            walk.passed.push(goal);
            walk.reached.push(goal);
            match steps[goal].next {
                Some(next) => (index, since) = (next, now),
                None => return walk,
            }
        }
        // Every loop holds a wait (the definition's checks), so a walk passes each step at
        // most once before it stops; the bound is a guard.
        for _ in 0..=steps.len() {
            let step = &steps[index];
            // The answer read before the walk holds until its first effect.
            let answer = answers
                .first
                .filter(|&(asked, _)| asked == index && walk.effects.is_empty())
                .map(|(_, met)| met);
            let stop = |due: Option<Timestamp>| Outcome::At {
                step: index,
                since,
                due,
            };
            let mut next = step.next;
            match &step.action {
                Action::Wait(seconds) => {
                    let due = Timestamp(since.0.saturating_add(seconds * SECOND));
                    if due > now {
                        walk.outcome = stop(Some(due));
                        return walk;
                    }
                    since = due;
                }
                Action::WaitUntil(moment) => {
                    let due = moment.after(since);
                    if due > now {
                        walk.outcome = stop(Some(due));
                        return walk;
                    }
                    since = due.max(since);
                }
                Action::If {
                    then, otherwise, ..
                } => match answer {
                    Some(met) => next = Some(if met { *then } else { *otherwise }),
                    None => {
                        walk.outcome = stop(Some(now));
                        return walk;
                    }
                },
                Action::WaitFor {
                    timeout, timed_out, ..
                } => match answer {
                    Some(true) => {}
                    Some(false) => {
                        let deadline = timeout
                            .map(|seconds| Timestamp(since.0.saturating_add(seconds * SECOND)));
                        match deadline {
                            Some(deadline) if deadline <= now => {
                                next = timed_out.or(step.next);
                                since = deadline;
                            }
                            _ => {
                                walk.outcome = stop(deadline);
                                return walk;
                            }
                        }
                    }
                    None => {
                        walk.outcome = stop(Some(now));
                        return walk;
                    }
                },
                Action::Goal { unmet, .. } => match (answer, unmet) {
                    (Some(true), _) => walk.reached.push(index),
                    (Some(false), Unmet::Continue) => {}
                    (Some(false), Unmet::Wait) => {
                        walk.outcome = stop(None);
                        return walk;
                    }
                    (Some(false), Unmet::End) => {
                        walk.outcome = Outcome::Ended;
                        return walk;
                    }
                    (None, _) => {
                        walk.outcome = stop(Some(now));
                        return walk;
                    }
                },
                Action::Split(paths) => {
                    let (path, following) = split_path(paths, run, &step.id);
                    walk.paths.push((index, path));
                    next = Some(following);
                }
                Action::End => {
                    walk.passed.push(index);
                    walk.outcome = Outcome::Ended;
                    return walk;
                }
                action => {
                    if let Some(effect) = effect_of(action) {
                        walk.effects.push((index, effect));
                    }
                }
            }
            walk.passed.push(index);
            match next {
                // The next step is arrived at when this one was: a chain of waits keeps its
                // schedule however late the worker takes it.
                Some(following) => index = following,
                None => {
                    walk.outcome = Outcome::Completed;
                    return walk;
                }
            }
        }
        walk.outcome = Outcome::At {
            step: index,
            since,
            due: Some(now),
        };
        walk
    }
}

/// The effect of an action that has one.
fn effect_of(action: &Action) -> Option<Effect> {
    Some(match action {
        Action::AddTag(tag) => Effect::AddTag(*tag),
        Action::RemoveTag(tag) => Effect::RemoveTag(*tag),
        Action::Subscribe(list) => Effect::Subscribe(*list),
        Action::Unsubscribe(list) => Effect::Unsubscribe(*list),
        Action::SetField { field, value } => Effect::SetField {
            field: field.clone(),
            value: value.clone(),
        },
        Action::AdjustScore {
            model,
            points,
            expiry_days,
        } => Effect::AdjustScore {
            model: *model,
            points: *points,
            expiry_days: *expiry_days,
        },
        Action::StartAutomation(automation) => Effect::StartAutomation(*automation),
        Action::SendEmail(message) => Effect::SendEmail(*message),
        Action::Webhook(webhook) => Effect::Webhook(*webhook),
        Action::Notify { to, message } => Effect::Notify {
            to: to.clone(),
            message: *message,
        },
        _ => return None,
    })
}

/// The path of an A/B split that run `run` takes at step `step`: its index and the step it
/// leads to (the last path when the shares fall short of 100, which the definition's checks
/// refuse).
fn split_path(paths: &[SplitPath], run: AutomationRunId, step: &str) -> (usize, usize) {
    let share = split_share(run, step);
    let mut below = 0;
    let index = paths
        .iter()
        .position(|path| {
            below += u64::from(path.percent);
            share < below
        })
        .unwrap_or(paths.len().saturating_sub(1));
    (index, paths[index].next)
}

/// Where run `run` falls in an A/B split's hundred shares: the same for the same run (one
/// contact's one entry) and step, spread evenly over runs.
fn split_share(run: AutomationRunId, step: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(run.0.to_be_bytes())
        .chain_update(step.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % 100
}

impl Moment {
    /// The first instant of the moment at or after `since` (a fixed instant is itself).
    pub fn after(self, since: Timestamp) -> Timestamp {
        match self {
            Moment::At(at) => at,
            Moment::Weekly(weekday, time) => {
                let start = Utc
                    .timestamp_micros(since.0)
                    .single()
                    .unwrap_or_default()
                    .naive_utc();
                let days_ahead = (7 + weekday.num_days_from_monday()
                    - start.weekday().num_days_from_monday())
                    % 7;
                let mut candidate: NaiveDateTime =
                    (start.date() + Duration::days(i64::from(days_ahead))).and_time(time);
                if candidate < start {
                    candidate += Duration::days(7);
                }
                Timestamp(candidate.and_utc().timestamp_micros())
            }
        }
    }
}

/// Where a dry run's path ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathEnd {
    /// Past the last step.
    Completes,
    /// At an `end` step.
    Ends,
    /// Back at a step it passed: the path loops from there.
    Loops,
}

impl Definition {
    /// The path a contact would take from the first step if every wait ended at once and
    /// every condition kept its answer in `answers` (by step), its A/B shares those of `run`:
    /// the steps in order, and how the path ends.
    pub fn path(&self, run: AutomationRunId, answers: &[(usize, bool)]) -> (Vec<usize>, PathEnd) {
        let steps = self.steps();
        let mut path = Vec::new();
        let mut index = 0;
        loop {
            if path.contains(&index) {
                return (path, PathEnd::Loops);
            }
            path.push(index);
            let step = &steps[index];
            let next = match &step.action {
                Action::End => return (path, PathEnd::Ends),
                Action::If {
                    then, otherwise, ..
                } => {
                    let met = answers.iter().any(|&(asked, met)| asked == index && met);
                    Some(if met { *then } else { *otherwise })
                }
                Action::Split(paths) => Some(split_path(paths, run, &step.id).1),
                _ => step.next,
            };
            match next {
                Some(following) => index = following,
                None => return (path, PathEnd::Completes),
            }
        }
    }
}
