use serde_json::json;

use super::step::{Action, Moment, SplitPath, Unmet};
use super::{Definition, Entry, Reference, Trigger};
use crate::ids::{MessageId, ScoreModelId, TagId};

fn refusal(document: serde_json::Value) -> (String, String) {
    let error = Definition::from_value(document).unwrap_err();
    (error.pointer, error.message)
}

#[test]
fn a_nurture_reads_with_its_steps_resolved() {
    let definition = Definition::from_value(json!({
        "triggers": [{"behavior": {"submittedForm": {"form": 4}}}, {"tagAdded": "9"}],
        "steps": [
            {"id": "points", "adjustScore": {"score": 3, "points": 10}},
            {"id": "email", "sendEmail": {"message": 7}},
            {"id": "pause", "wait": {"days": 3}},
            {"id": "keen", "waitFor": {"score": {"model": 3, "value": {"atLeast": 50}}},
             "timeout": {"days": 30}, "timeoutNext": "done"},
            {"id": "sales", "if": {"hasTag": 9}, "then": "tag", "else": "done"},
            {"id": "tag", "addTag": 9, "label": "sales-ready"},
            {"id": "ab", "split": [{"percent": 30, "next": "done"}, {"percent": 70, "next": "buy"}]},
            {"id": "buy", "goal": {"event": {"name": "purchase"}}, "unmet": "wait"},
            {"id": "done", "end": true}
        ]
    }))
    .unwrap();
    assert_eq!(definition.entry(), Entry::Once);
    assert_eq!(definition.triggers().len(), 2);
    assert_eq!(definition.triggers()[1], Trigger::TagAdded(TagId(9)));
    let steps = definition.steps();
    assert_eq!(
        steps[0].action,
        Action::AdjustScore {
            model: ScoreModelId(3),
            points: 10,
            expiry_days: None
        }
    );
    assert_eq!(steps[0].next, Some(1));
    assert_eq!(steps[1].action, Action::SendEmail(MessageId(7)));
    assert_eq!(steps[2].action, Action::Wait(3 * 86_400));
    match &steps[3].action {
        Action::WaitFor {
            timeout, timed_out, ..
        } => assert_eq!((*timeout, *timed_out), (Some(30 * 86_400), Some(8))),
        other => panic!("{other:?}"),
    }
    assert_eq!(steps[3].next, Some(4));
    match &steps[4].action {
        Action::If {
            then, otherwise, ..
        } => assert_eq!((*then, *otherwise), (5, 8)),
        other => panic!("{other:?}"),
    }
    assert_eq!(steps[4].next, None, "a branch names its own targets");
    assert_eq!(
        steps[6].action,
        Action::Split(vec![
            SplitPath {
                percent: 30,
                next: 8
            },
            SplitPath {
                percent: 70,
                next: 7
            }
        ])
    );
    assert!(matches!(
        steps[7].action,
        Action::Goal {
            unmet: Unmet::Wait,
            ..
        }
    ));
    assert_eq!(steps[8].action, Action::End);
    assert_eq!(steps[8].next, None);
    let references = definition.references();
    assert!(references.contains(&("/triggers/1/tagAdded".to_owned(), Reference::Tag(TagId(9)))));
    assert!(references.contains(&(
        "/steps/1/sendEmail/message".to_owned(),
        Reference::Message(MessageId(7))
    )));
    assert!(references.contains(&(
        "/steps/0/adjustScore/score".to_owned(),
        Reference::ScoreModel(ScoreModelId(3))
    )));
    let conditions: Vec<String> = definition
        .conditions()
        .into_iter()
        .map(|(pointer, _)| pointer)
        .collect();
    assert_eq!(
        conditions,
        [
            "/triggers/0/behavior",
            "/steps/3/waitFor",
            "/steps/4/if",
            "/steps/7/goal"
        ]
    );
    // It serializes to the document it was read from.
    let written = serde_json::to_value(&definition).unwrap();
    assert_eq!(Definition::from_value(written).unwrap(), definition);
}

#[test]
fn the_last_step_completes_and_next_jumps() {
    let definition = Definition::from_value(json!({
        "entry": "multiple",
        "steps": [
            {"id": "a", "addTag": 1, "next": "c"},
            {"id": "b", "removeTag": 1},
            {"id": "c", "waitUntil": {"weekday": "monday", "time": "09:30"}, "next": "b"}
        ]
    }))
    .unwrap();
    assert_eq!(definition.entry(), Entry::Multiple);
    let next: Vec<Option<usize>> = definition.steps().iter().map(|step| step.next).collect();
    assert_eq!(next, vec![Some(2), Some(2), Some(1)]);
    assert!(matches!(
        definition.steps()[2].action,
        Action::WaitUntil(Moment::Weekly(chrono::Weekday::Mon, _))
    ));
}

#[test]
fn refusals_point_into_the_document() {
    let cases = [
        (json!({"steps": []}), "/steps", "must hold 1 to 200 steps"),
        (
            json!({"steps": [{"id": "a"}]}),
            "/steps/0",
            "must hold exactly one action",
        ),
        (
            json!({"steps": [{"id": "a", "addTag": 1, "wait": {"days": 1}}]}),
            "/steps/0",
            "must hold exactly one action",
        ),
        (
            json!({"steps": [{"id": "a", "addTag": 1, "colour": "red"}]}),
            "/steps/0/colour",
            "is not known here",
        ),
        (
            json!({"steps": [{"id": "a", "addTag": 1}, {"id": "a", "addTag": 2}]}),
            "/steps/1/id",
            "repeats the id",
        ),
        (
            json!({"steps": [{"id": "a", "addTag": 0}]}),
            "/steps/0/addTag",
            "must be an integer from 1",
        ),
        (
            json!({"steps": [{"id": "a", "addTag": 1, "next": "z"}]}),
            "/steps/0/next",
            "names no step",
        ),
        (
            json!({"steps": [{"id": "a", "if": {"hasTag": 1}, "then": "b"}, {"id": "b", "end": true}]}),
            "/steps/0/else",
            "is required",
        ),
        (
            json!({"steps": [{"id": "a", "if": {"hasTag": 1}, "then": "a", "else": "a", "next": "a"}]}),
            "/steps/0/next",
            "is not known here",
        ),
        (
            json!({"steps": [{"id": "a", "waitFor": {"event": {"name": ""}}}]}),
            "/steps/0/waitFor/event/name",
            "",
        ),
        (
            json!({"steps": [{"id": "a", "wait": {"days": 0}}]}),
            "/steps/0/wait",
            "must last from 1 second",
        ),
        (
            json!({"steps": [{"id": "a", "adjustScore": {"score": 1, "points": 0}}]}),
            "/steps/0/adjustScore/points",
            "must not be 0",
        ),
        (
            json!({"steps": [{"id": "a", "split": [{"percent": 50, "next": "a"}]}]}),
            "/steps/0/split",
            "must have 2 to 5 paths",
        ),
        (
            json!({"steps": [{"id": "a", "split": [{"percent": 50, "next": "b"}, {"percent": 40, "next": "b"}]}, {"id": "b", "wait": {"days": 1}}]}),
            "/steps/0/split",
            "add up to 100",
        ),
        (
            json!({"steps": [{"id": "a", "end": true}, {"id": "b", "addTag": 1}]}),
            "/steps/1",
            "cannot be reached",
        ),
        (
            json!({"steps": [{"id": "a", "addTag": 1}, {"id": "b", "removeTag": 1, "next": "a"}]}),
            "/steps/0",
            "the loop a -> b -> a never waits",
        ),
        (
            json!({"steps": [{"id": "a", "webhook": {"url": "https://x.example"}}]}),
            "/steps/0/webhook",
            "must be an integer",
        ),
        (
            json!({"steps": [{"id": "a", "notify": {"to": "nobody", "message": 1}}]}),
            "/steps/0/notify/to",
            "email address",
        ),
        (
            json!({"triggers": [{"behavior": {"event": {"name": "x", "count": {"atLeast": 2}}}}], "steps": [{"id": "a", "end": true}]}),
            "/triggers/0/behavior",
            "must be one behavior",
        ),
        (
            json!({"triggers": [{"tagAdded": 1, "tagRemoved": 1}], "steps": [{"id": "a", "end": true}]}),
            "/triggers/0",
            "exactly one trigger",
        ),
        (
            json!({"entry": "twice", "steps": [{"id": "a", "end": true}]}),
            "/entry",
            "once or multiple",
        ),
        (
            json!({"steps": [{"id": "a", "waitFor": {"hasTag": 1}, "timeoutNext": "a"}]}),
            "/steps/0/timeoutNext",
            "needs a timeout",
        ),
    ];
    for (document, pointer, message) in cases {
        let (found, why) = refusal(document.clone());
        assert_eq!(found, pointer, "{document}: {why}");
        assert!(why.contains(message), "{document}: {why}");
    }
}

#[test]
fn the_readme_example_is_valid() {
    let readme = include_str!("../../../../README.md");
    let section = readme
        .split("## Automations")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap();
    let example = section
        .split("```json\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .unwrap();
    Definition::parse(example).unwrap_or_else(|error| panic!("{example}: {error}"));
}

#[test]
fn a_loop_through_a_wait_and_goals_reached_by_jumping_are_accepted() {
    Definition::from_value(json!({
        "steps": [
            {"id": "a", "addTag": 1},
            {"id": "b", "wait": {"hours": 1}},
            {"id": "c", "if": {"hasTag": 2}, "then": "a", "else": "d"},
            {"id": "d", "end": true},
            {"id": "g", "goal": {"hasTag": 3}}
        ]
    }))
    .unwrap();
}

mod walks {
    use serde_json::json;

    use crate::automation::walk::{Answers, Effect, Outcome, Place};
    use crate::automation::Definition;
    use crate::ids::{AutomationRunId, ListId, TagId};
    use crate::time::Timestamp;

    const HOUR: i64 = 3_600_000_000;
    const RUN: AutomationRunId = AutomationRunId(7);

    fn definition(steps: serde_json::Value) -> Definition {
        Definition::from_value(json!({ "steps": steps })).unwrap()
    }

    /// The answer of the condition of `step`, the first on the walk's way.
    fn here(step: usize, met: bool) -> Answers {
        Answers {
            first: Some((step, met)),
            goals_met: Vec::new(),
        }
    }

    fn at(step: usize, since: i64) -> Place {
        Place {
            step,
            since: Timestamp(since),
        }
    }

    #[test]
    fn instant_steps_run_until_a_wait_and_waits_keep_their_schedule() {
        let flow = definition(json!([
            {"id": "tag", "addTag": 1},
            {"id": "pause", "wait": {"hours": 2}},
            {"id": "list", "subscribe": 4},
            {"id": "again", "wait": {"hours": 1}},
            {"id": "untag", "removeTag": 1}
        ]));
        let walk = flow.walk(RUN, at(0, 10), &Answers::default(), Timestamp(15));
        assert_eq!(walk.effects, vec![(0, Effect::AddTag(TagId(1)))]);
        assert_eq!(walk.passed, vec![0]);
        assert_eq!(
            walk.outcome,
            Outcome::At {
                step: 1,
                since: Timestamp(10),
                due: Some(Timestamp(10 + 2 * HOUR))
            }
        );
        // Taken late, the next wait still counts from when the first one ended.
        let late = Timestamp(10 + 2 * HOUR + 500);
        let walk = flow.walk(RUN, at(1, 10), &Answers::default(), late);
        assert_eq!(walk.effects, vec![(2, Effect::Subscribe(ListId(4)))]);
        assert_eq!(
            walk.outcome,
            Outcome::At {
                step: 3,
                since: Timestamp(10 + 2 * HOUR),
                due: Some(Timestamp(10 + 3 * HOUR))
            }
        );
        // Before its end, a wait stays.
        let early = flow.walk(RUN, at(1, 10), &Answers::default(), Timestamp(10 + HOUR));
        assert!(early.effects.is_empty() && early.passed.is_empty());
        let walk = flow.walk(
            RUN,
            at(3, 10 + 2 * HOUR),
            &Answers::default(),
            Timestamp(10 + 3 * HOUR),
        );
        assert_eq!(walk.passed, vec![3, 4]);
        assert_eq!(walk.outcome, Outcome::Completed);
    }

    #[test]
    fn a_condition_is_answered_only_where_the_walk_starts() {
        let flow = definition(json!([
            {"id": "tag", "addTag": 1},
            {"id": "tagged", "if": {"hasTag": 1}, "then": "yes", "else": "no"},
            {"id": "yes", "subscribe": 1, "next": "done"},
            {"id": "no", "subscribe": 2},
            {"id": "done", "end": true}
        ]));
        assert_eq!(flow.asks_first(RUN, at(1, 0), Timestamp(5)), Some(1));
        assert_eq!(
            flow.asks_first(RUN, at(0, 0), Timestamp(5)),
            None,
            "a tag comes first"
        );
        let walk = flow.walk(RUN, at(0, 0), &here(1, false), Timestamp(5));
        assert_eq!(walk.passed, vec![0]);
        assert_eq!(
            walk.outcome,
            Outcome::At {
                step: 1,
                since: Timestamp(0),
                due: Some(Timestamp(5))
            },
            "stops to evaluate the condition after the tag is committed"
        );
        let yes = flow.walk(RUN, at(1, 0), &here(1, true), Timestamp(6));
        assert_eq!(yes.effects, vec![(2, Effect::Subscribe(ListId(1)))]);
        assert_eq!(yes.passed, vec![1, 2, 4]);
        assert_eq!(yes.outcome, Outcome::Ended);
        let no = flow.walk(RUN, at(1, 0), &here(1, false), Timestamp(6));
        assert_eq!(no.effects, vec![(3, Effect::Subscribe(ListId(2)))]);
    }

    #[test]
    fn a_condition_past_a_wait_that_is_over_is_asked_before_the_walk() {
        let flow = definition(json!([
            {"id": "pause", "wait": {"hours": 1}},
            {"id": "tagged", "if": {"hasTag": 1}, "then": "yes", "else": "no"},
            {"id": "yes", "subscribe": 1, "next": "done"},
            {"id": "no", "subscribe": 2},
            {"id": "done", "end": true}
        ]));
        assert_eq!(
            flow.asks_first(RUN, at(0, 0), Timestamp(HOUR - 1)),
            None,
            "still waiting"
        );
        assert_eq!(flow.asks_first(RUN, at(0, 0), Timestamp(HOUR)), Some(1));
        let walk = flow.walk(RUN, at(0, 0), &here(1, true), Timestamp(HOUR));
        assert_eq!(
            walk.passed,
            vec![0, 1, 2, 4],
            "one walk, no pass in between"
        );
        assert_eq!(walk.effects, vec![(2, Effect::Subscribe(ListId(1)))]);
    }

    #[test]
    fn a_wait_for_a_condition_passes_when_met_times_out_and_goals_are_jumped_to() {
        let flow = definition(json!([
            {"id": "tag", "addTag": 1},
            {"id": "keen", "waitFor": {"hasTag": 2}, "timeout": {"hours": 2}, "timeoutNext": "late"},
            {"id": "join", "subscribe": 1, "next": "bought"},
            {"id": "late", "subscribe": 2},
            {"id": "bought", "goal": {"hasTag": 3}, "unmet": "wait"},
            {"id": "done", "end": true}
        ]));
        assert!(flow.watches(0) && flow.watches(1) && flow.watches(4) && !flow.watches(5));
        assert_eq!(flow.goals_ahead(0), vec![4]);
        // Arriving at the wait, the walk stops to ask its condition.
        let walk = flow.walk(RUN, at(0, 0), &Answers::default(), Timestamp(1));
        assert_eq!(
            walk.outcome,
            Outcome::At {
                step: 1,
                since: Timestamp(0),
                due: Some(Timestamp(1))
            }
        );
        // Unmet: it waits until the timeout; met, it goes on.
        let waits = flow.walk(RUN, at(1, 0), &here(1, false), Timestamp(1));
        assert_eq!(
            waits.outcome,
            Outcome::At {
                step: 1,
                since: Timestamp(0),
                due: Some(Timestamp(2 * HOUR))
            }
        );
        let met = flow.walk(RUN, at(1, 0), &here(1, true), Timestamp(5));
        assert_eq!(met.passed, vec![1, 2]);
        assert_eq!(met.effects, vec![(2, Effect::Subscribe(ListId(1)))]);
        let late = flow.walk(RUN, at(1, 0), &here(1, false), Timestamp(2 * HOUR));
        assert_eq!(late.effects, vec![(3, Effect::Subscribe(ListId(2)))]);
        // A goal ahead that is met is jumped to, from wherever the run is.
        let jumped = Answers {
            first: Some((1, false)),
            goals_met: vec![4],
        };
        let walk = flow.walk(RUN, at(1, 0), &jumped, Timestamp(7));
        assert_eq!(walk.passed, vec![4, 5]);
        assert_eq!(walk.outcome, Outcome::Ended);
        // Reached unmet, a goal set to wait holds the run until its contact changes.
        let holds = flow.walk(RUN, at(4, 0), &here(4, false), Timestamp(9));
        assert_eq!(
            holds.outcome,
            Outcome::At {
                step: 4,
                since: Timestamp(0),
                due: None
            }
        );
    }

    #[test]
    fn a_split_sends_each_run_one_way_always_and_runs_by_their_shares() {
        let flow = definition(json!([
            {"id": "ab", "split": [{"percent": 20, "next": "a"}, {"percent": 80, "next": "b"}]},
            {"id": "a", "addTag": 1, "next": "done"},
            {"id": "b", "addTag": 2},
            {"id": "done", "end": true}
        ]));
        let path = |run: i64| {
            let walk = flow.walk(
                AutomationRunId(run),
                at(0, 0),
                &Answers::default(),
                Timestamp(0),
            );
            walk.passed[1]
        };
        assert_eq!(path(3), path(3));
        let to_a = (1..=10_000).filter(|&run| path(run) == 1).count();
        assert!(
            (1_700..=2_300).contains(&to_a),
            "{to_a} of 10000 took the 20% path"
        );
    }

    #[test]
    fn a_weekly_moment_is_the_next_such_weekday_and_time() {
        let flow = definition(json!([
            {"id": "monday", "waitUntil": {"weekday": "monday", "time": "09:00"}},
            {"id": "tag", "addTag": 1}
        ]));
        // Wednesday 2026-12-02 10:00 UTC: the next Monday 09:00 is 2026-12-07.
        let wednesday = Timestamp::parse_api("2026-12-02T10:00:00Z").unwrap();
        let monday = Timestamp::parse_api("2026-12-07T09:00:00Z").unwrap();
        let walk = flow.walk(RUN, at(0, wednesday.0), &Answers::default(), wednesday);
        assert_eq!(
            walk.outcome,
            Outcome::At {
                step: 0,
                since: wednesday,
                due: Some(monday)
            }
        );
        let later = flow.walk(RUN, at(0, wednesday.0), &Answers::default(), monday);
        assert_eq!(later.effects, vec![(1, Effect::AddTag(TagId(1)))]);
        // On a Monday before nine, it is the same day.
        let early = Timestamp::parse_api("2026-12-07T08:00:00Z").unwrap();
        let walk = flow.walk(RUN, at(0, early.0), &Answers::default(), early);
        assert!(matches!(walk.outcome, Outcome::At { due, .. } if due == Some(monday)));
    }
}

mod paths {
    use serde_json::json;

    use crate::automation::walk::PathEnd;
    use crate::automation::Definition;
    use crate::ids::AutomationRunId;

    #[test]
    fn a_dry_run_passes_waits_follows_answers_and_names_its_end() {
        let flow = Definition::from_value(json!({"steps": [
            {"id": "tag", "addTag": 1},
            {"id": "pause", "wait": {"days": 1}},
            {"id": "keen", "if": {"hasTag": 2}, "then": "again", "else": "done"},
            {"id": "again", "removeTag": 1, "next": "pause"},
            {"id": "done", "end": true}
        ]}))
        .unwrap();
        let run = AutomationRunId(1);
        assert_eq!(
            flow.path(run, &[(2, false)]),
            (vec![0, 1, 2, 4], PathEnd::Ends)
        );
        assert_eq!(
            flow.path(run, &[(2, true)]),
            (vec![0, 1, 2, 3], PathEnd::Loops)
        );
        let short = Definition::from_value(json!({"steps": [{"id": "a", "addTag": 1}]})).unwrap();
        assert_eq!(short.path(run, &[]), (vec![0], PathEnd::Completes));
    }
}
