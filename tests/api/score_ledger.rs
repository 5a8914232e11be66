//! The ledger's invariant, on both engines: after random sequences of events, tags, rule
//! additions, edits and deletions, manual adjustments and time passing (expiries), every
//! contact's score equals the sum of its live awards, and equals the score a plain model of the
//! rules computes from the same sequence. A fixed seed keeps it repeatable.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use tracklane_core::event::{EventKind, NewEvent};
use tracklane_core::ids::ContactId;
use tracklane_core::time::Timestamp;
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::state::Clock;

use crate::scores::score;
use crate::segment_world::Rng;
use crate::segments::{contact, tag, tag_contact};

const SEQUENCES: usize = 12;
const STEPS: usize = 24;
const CONTACTS: usize = 3;
const DAY: i64 = 86_400_000_000;

/// The rules a sequence adds, edits and deletes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Template {
    /// Event `a`, +5 every time.
    EveryA,
    /// Event `b`, +3 once, expiring after 10 days.
    OnceB,
    /// Event `a`, -2 every time, expiring after 5 days.
    MinusA,
    /// The tag, +7 while the contact has it.
    Tagged,
    /// Event `b`, +4 every time, at most 8 in any 7 days.
    CappedB,
}

const TEMPLATES: [Template; 5] = [
    Template::EveryA,
    Template::OnceB,
    Template::MinusA,
    Template::Tagged,
    Template::CappedB,
];

impl Template {
    fn json(self, tag: i64) -> Value {
        match self {
            Self::EveryA => json!({"condition": {"event": {"name": "a"}}, "points": 5}),
            Self::OnceB => json!({"condition": {"event": {"name": "b"}}, "points": 3,
                "frequency": "once", "expiryDays": 10}),
            Self::MinusA => {
                json!({"condition": {"event": {"name": "a"}}, "points": -2, "expiryDays": 5})
            }
            Self::Tagged => json!({"condition": {"hasTag": tag}, "points": 7}),
            Self::CappedB => json!({"condition": {"event": {"name": "b"}}, "points": 4,
                "cap": {"points": 8, "days": 7}}),
        }
    }

    fn name(self) -> Option<&'static str> {
        match self {
            Self::EveryA | Self::MinusA => Some("a"),
            Self::OnceB | Self::CappedB => Some("b"),
            Self::Tagged => None,
        }
    }
}

/// One recorded event of the model: contact, name, time, and its order of recording.
#[derive(Debug, Clone, Copy)]
struct Recorded {
    contact: usize,
    name: &'static str,
    at: i64,
    order: usize,
}

/// A rule of the plain model: its template and the events it awarded (for once and capped
/// rules, which depend on what came first), by order, with their times.
#[derive(Debug, Clone)]
struct ModelRule {
    template: Template,
    awarded: BTreeMap<usize, i64>,
}

/// The plain model of a sequence.
#[derive(Debug, Default)]
struct Model {
    events: Vec<Recorded>,
    tagged: [bool; CONTACTS],
    rules: BTreeMap<String, ModelRule>,
    adjustments: Vec<(usize, i64, Option<i64>)>,
}

impl Model {
    /// Awards a once or capped `rule` the `candidates` (the new event, or every event in each
    /// contact's order of time for a recompute) at `now`, as the store does; `all` are the
    /// events by order.
    fn award(rule: &mut ModelRule, candidates: &[Recorded], all: &[Recorded], now: i64) {
        let Some(name) = rule.template.name() else {
            return;
        };
        for event in candidates.iter().filter(|event| event.name == name) {
            let theirs: Vec<i64> = rule
                .awarded
                .iter()
                .filter(|(order, _)| all[**order].contact == event.contact)
                .map(|(_, at)| *at)
                .collect();
            let awarded = match rule.template {
                Template::OnceB => theirs.is_empty() && event.at + 10 * DAY > now,
                Template::CappedB => {
                    let near = theirs
                        .iter()
                        .filter(|at| (**at - event.at).abs() < 7 * DAY)
                        .count() as i64;
                    near * 4 + 4 <= 8
                }
                _ => false,
            };
            if awarded {
                rule.awarded.insert(event.order, event.at);
            }
        }
    }

    /// A rule of `template` over every event so far, as a recompute awards it at `now`.
    fn recomputed(&self, template: Template, now: i64) -> ModelRule {
        let mut rule = ModelRule {
            template,
            awarded: BTreeMap::new(),
        };
        let mut by_time = self.events.clone();
        by_time.sort_by_key(|event| (event.contact, event.at, event.order));
        Self::award(&mut rule, &by_time, &self.events, now);
        rule
    }

    /// The contact's score at `now`.
    fn score(&self, contact: usize, now: i64) -> i64 {
        let live = |at: i64, expiry: Option<i64>| expiry.is_none_or(|expiry| at + expiry > now);
        let mut score = 0;
        for rule in self.rules.values() {
            score += match rule.template {
                Template::EveryA | Template::MinusA => {
                    let (points, expiry) = if rule.template == Template::EveryA {
                        (5, None)
                    } else {
                        (-2, Some(5 * DAY))
                    };
                    self.events
                        .iter()
                        .filter(|e| e.contact == contact && e.name == "a" && live(e.at, expiry))
                        .count() as i64
                        * points
                }
                Template::Tagged => {
                    if self.tagged[contact] {
                        7
                    } else {
                        0
                    }
                }
                Template::OnceB | Template::CappedB => {
                    let (points, expiry) = if rule.template == Template::OnceB {
                        (3, Some(10 * DAY))
                    } else {
                        (4, None)
                    };
                    rule.awarded
                        .iter()
                        .filter(|(order, at)| {
                            self.events[**order].contact == contact && live(**at, expiry)
                        })
                        .count() as i64
                        * points
                }
            };
        }
        for &(who, points, expires_at) in &self.adjustments {
            if who == contact && expires_at.is_none_or(|at| at > now) {
                score += points;
            }
        }
        score
    }
}

/// The contact's score in the model, and the sum of its live awards in it.
async fn score_of(app: &TestApp, contact: &str, model: &str) -> (i64, i64) {
    let awards = app
        .get(&format!(
            "/api/3/contacts/{contact}/scoreAwards?score={model}&limit=1000"
        ))
        .await;
    let sum = awards.body["scoreAwards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|award| award["points"].as_i64().unwrap())
        .sum();
    (score(app, contact, model).await, sum)
}

async fn every_score_is_its_ledgers_sum_and_the_models(app: TestApp) {
    let mut rng = Rng(0x1ed6_e75c_0be5_0042);
    for sequence in 0..SEQUENCES {
        let model = app
            .create(
                "/api/3/scores",
                json!({"score": {"name": format!("model {sequence}")}}),
            )
            .await;
        let tag_id = tag(&app, &format!("tag {sequence}")).await;
        let mut contacts = Vec::new();
        for i in 0..CONTACTS {
            contacts.push(contact(&app, &format!("c{i}-{sequence}@example.com")).await);
        }
        let mut plain = Model::default();
        let mut tags: [Option<String>; CONTACTS] = Default::default();
        let mut rules: Vec<String> = Vec::new();
        for step in 0..STEPS {
            let now = app.clock.now().0;
            match rng.below(9) {
                0..=2 => {
                    let who = rng.below(CONTACTS as u64) as usize;
                    let name = if rng.below(2) == 0 { "a" } else { "b" };
                    let at = now - rng.below(12) as i64 * DAY - rng.below(1000) as i64;
                    let row = NewEvent::of_contact(
                        app.account,
                        EventKind::Custom,
                        name,
                        ContactId(contacts[who].parse().unwrap()),
                        None,
                        Timestamp(at),
                    );
                    app.store
                        .record_events(&[row], Timestamp(now))
                        .await
                        .unwrap();
                    let recorded = Recorded {
                        contact: who,
                        name,
                        at,
                        order: plain.events.len(),
                    };
                    plain.events.push(recorded);
                    for rule in plain.rules.values_mut() {
                        Model::award(rule, &[recorded], &plain.events, now);
                    }
                }
                3 => {
                    let who = rng.below(CONTACTS as u64) as usize;
                    match tags[who].take() {
                        Some(row) => {
                            app.delete(&format!("/api/3/contactTags/{row}")).await;
                            plain.tagged[who] = false;
                        }
                        None => {
                            tags[who] = Some(tag_contact(&app, &contacts[who], &tag_id).await);
                            plain.tagged[who] = true;
                        }
                    }
                }
                4 if rules.len() < 3 => {
                    let template = rng.pick(&TEMPLATES);
                    let body = template.json(tag_id.parse().unwrap());
                    let id = app
                        .create(
                            &format!("/api/3/scores/{model}/rules"),
                            json!({ "scoreRule": body }),
                        )
                        .await;
                    let rule = plain.recomputed(template, now);
                    plain.rules.insert(id.clone(), rule);
                    rules.push(id);
                }
                5 if !rules.is_empty() => {
                    let id = rng.pick(&rules);
                    let template = rng.pick(&TEMPLATES);
                    app.update(
                        &format!("/api/3/scoreRules/{id}"),
                        json!({ "scoreRule": template.json(tag_id.parse().unwrap()) }),
                    )
                    .await;
                    let rule = plain.recomputed(template, now);
                    plain.rules.insert(id, rule);
                }
                6 if !rules.is_empty() => {
                    let id = rules.remove(rng.below(rules.len() as u64) as usize);
                    app.delete(&format!("/api/3/scoreRules/{id}")).await;
                    plain.rules.remove(&id);
                }
                7 => {
                    let who = rng.below(CONTACTS as u64) as usize;
                    let points = rng.below(9) as i64 - 4;
                    let points = if points == 0 { 1 } else { points };
                    let expiry = (rng.below(2) == 0).then(|| 1 + rng.below(4) as i64);
                    let mut body = json!({"score": model, "points": points, "reason": "by hand"});
                    if let Some(days) = expiry {
                        body["expiryDays"] = json!(days);
                    }
                    let answer = app
                        .post(
                            &format!("/api/3/contacts/{}/scoreAdjustments", contacts[who]),
                            json!({ "scoreAdjustment": body }),
                        )
                        .await;
                    assert_eq!(answer.status, 201, "{}", answer.text);
                    plain
                        .adjustments
                        .push((who, points, expiry.map(|days| now + days * DAY)));
                }
                _ => {
                    let hours = 1 + rng.below(72);
                    app.clock.advance(Duration::from_secs(hours * 3600));
                }
            }
            app.settle_segments().await;
            let now = app.clock.now().0;
            for (i, contact) in contacts.iter().enumerate() {
                let (score, sum) = score_of(&app, contact, &model).await;
                let context = format!("sequence {sequence}, step {step}, contact {i}");
                assert_eq!(score, sum, "{context}: the score is not its ledger's sum");
                assert_eq!(
                    score,
                    plain.score(i, now),
                    "{context}: the plain model disagrees"
                );
            }
        }
    }
}

both_engines!(every_score_is_its_ledgers_sum_and_the_models);
