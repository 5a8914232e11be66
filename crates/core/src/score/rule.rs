//! A scoring rule: a condition in the segment definition format, the points it is worth, and
//! optionally an expiry, a frequency and a cap. A rule scores in one of two ways
//! ([`Scoring`]): a single behavior without count or window (a visit, event, click, open,
//! unsubscribe, bounce or form submission) awards its points for each row of the timeline
//! that matches; any other condition (a tag, a list, a field, a count, a window, a group)
//! holds one award while the contact meets it.

use serde::{Deserialize, Serialize};

use crate::ids::{ScoreModelId, ScoreRuleId};
use crate::invalid::Invalid;
use crate::segment::saved::parse_definition;
use crate::segment::{Condition, Definition};
use crate::time::Timestamp;

/// The most points one rule (or one manual adjustment) awards or takes, either way.
pub const POINTS_MAX: i64 = 1_000;
/// The longest expiry, in days (ten years).
pub const EXPIRY_DAYS_MAX: i64 = 3_650;
/// The longest period of a cap, in days.
pub const CAP_DAYS_MAX: i64 = 365;
/// The largest cap, in points.
pub const CAP_POINTS_MAX: i64 = 1_000_000;

/// How often a rule over single behaviors awards a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Frequency {
    /// For every matching row.
    #[default]
    EveryTime,
    /// For the first matching row only, ever (an expired award is not renewed).
    Once,
}

/// At most `points` from one rule per contact in any `days` days (rolling, by the times of
/// the behaviors); a row that would pass the cap is not awarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    /// The most points in the period.
    pub points: i64,
    /// The period's length in days.
    pub days: i64,
}

/// How a rule scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoring {
    /// One award for each matching timeline row (its cause), within the frequency and cap.
    EachRow,
    /// One award while the contact meets the condition; taken back when it stops.
    WhileTrue,
}

impl Scoring {
    /// How a rule with this condition scores.
    pub fn of(definition: &Definition) -> Self {
        if definition.is_one_behavior() {
            Self::EachRow
        } else {
            Self::WhileTrue
        }
    }
}

/// A rule as given by a caller, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleInput {
    /// The condition's JSON.
    pub condition: Option<serde_json::Value>,
    /// The points.
    pub points: Option<i64>,
    /// After how many days an award stops counting.
    pub expiry_days: Option<i64>,
    /// How often it awards.
    pub frequency: Option<Frequency>,
    /// The cap.
    pub cap: Option<Cap>,
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDraft {
    /// The condition.
    pub definition: Definition,
    /// The points of each award (negative ones take points away).
    pub points: i64,
    /// After how many days (from the behavior, or from when the condition was met) an award
    /// stops counting; `None`: never.
    pub expiry_days: Option<i64>,
    /// How often it awards (rules over single behaviors).
    pub frequency: Frequency,
    /// The cap (rules over single behaviors that award every time).
    pub cap: Option<Cap>,
}

impl RuleInput {
    /// Validates a rule: a condition that reads no score, points, and options that fit how the
    /// rule scores.
    pub fn into_draft(self) -> Result<RuleDraft, Invalid> {
        let json = self
            .condition
            .ok_or_else(|| Invalid::missing("condition"))?;
        let definition = parse_definition(json).map_err(|refusal| rename(refusal, "condition"))?;
        if let Some(at) = definition.pointer_of(|node| matches!(node, Condition::Score(_))) {
            return Err(Invalid::bad_value(
                "condition",
                format!("{at}: a rule cannot read scores (a score is what rules make)"),
            ));
        }
        let points = self.points.ok_or_else(|| Invalid::missing("points"))?;
        check_points("points", points)?;
        if let Some(days) = self.expiry_days {
            within_range("expiryDays", days, 1, EXPIRY_DAYS_MAX)?;
        }
        let frequency = self.frequency.unwrap_or_default();
        let each_row = Scoring::of(&definition) == Scoring::EachRow;
        if !each_row && (frequency == Frequency::Once || self.cap.is_some()) {
            return Err(Invalid::bad_value(
                if self.cap.is_some() {
                    "cap"
                } else {
                    "frequency"
                },
                "a frequency or a cap applies to a rule over a single behavior (a visit, event, \
                 click, open, unsubscribe, bounce or form submission, without count or window); \
                 any other condition holds one award while it is met",
            ));
        }
        if let Some(cap) = self.cap {
            if frequency == Frequency::Once {
                return Err(Invalid::bad_value(
                    "cap",
                    "a rule that awards once needs no cap",
                ));
            }
            if points < 0 {
                return Err(Invalid::bad_value(
                    "cap",
                    "a cap limits points awarded, not taken",
                ));
            }
            within_range("cap.points", cap.points, points, CAP_POINTS_MAX)?;
            within_range("cap.days", cap.days, 1, CAP_DAYS_MAX)?;
        }
        Ok(RuleDraft {
            definition,
            points,
            expiry_days: self.expiry_days,
            frequency,
            cap: self.cap,
        })
    }
}

/// Refuses points of 0 or beyond [`POINTS_MAX`] either way.
pub fn check_points(attribute: &'static str, points: i64) -> Result<(), Invalid> {
    if points == 0 || points.abs() > POINTS_MAX {
        return Err(Invalid::bad_value(
            attribute,
            format!("{attribute} must be between -{POINTS_MAX} and {POINTS_MAX}, and not 0"),
        ));
    }
    Ok(())
}

/// Refuses a number outside `min..=max`.
pub(crate) fn within_range(
    attribute: &'static str,
    value: i64,
    min: i64,
    max: i64,
) -> Result<(), Invalid> {
    if value < min || value > max {
        return Err(Invalid::bad_value(
            attribute,
            format!("{attribute} must be between {min} and {max}"),
        ));
    }
    Ok(())
}

/// A definition's refusal, said of the rule's `condition`.
fn rename(refusal: Invalid, attribute: &'static str) -> Invalid {
    Invalid::bad_value(attribute, refusal.detail)
}

/// How far a rule's recompute has gone through its account's contacts: the ids below `done`
/// of those below `total` (one past the largest id when the recompute began).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// The contact id the next step starts from.
    pub done: i64,
    /// One past the last contact id to go through.
    pub total: i64,
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRule {
    /// Its id.
    pub id: ScoreRuleId,
    /// Its model.
    pub model: ScoreModelId,
    /// What it is.
    pub rule: RuleDraft,
    /// Its revision: every edit moves it on, and past behavior is scored again.
    pub revision: i64,
    /// The revision whose awards count: until a recompute ends, the previous one's.
    pub counted_revision: i64,
    /// How far the recompute of the current revision has gone.
    pub progress: Progress,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl ScoreRule {
    /// Whether the scores count the current revision (false while it is recomputed: the
    /// previous one's awards count until then).
    pub fn ready(&self) -> bool {
        self.counted_revision == self.revision
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn draft(body: serde_json::Value) -> Result<RuleDraft, Invalid> {
        let input = RuleInput {
            condition: body.get("condition").cloned(),
            points: body.get("points").and_then(serde_json::Value::as_i64),
            expiry_days: body.get("expiryDays").and_then(serde_json::Value::as_i64),
            frequency: body
                .get("frequency")
                .map(|f| serde_json::from_value(f.clone()).unwrap()),
            cap: body
                .get("cap")
                .map(|c| serde_json::from_value(c.clone()).unwrap()),
        };
        input.into_draft()
    }

    #[test]
    fn single_behaviors_score_each_row_and_the_rest_while_true() {
        let scoring = |condition: serde_json::Value| {
            Scoring::of(
                &draft(json!({"condition": condition, "points": 5}))
                    .unwrap()
                    .definition,
            )
        };
        assert_eq!(scoring(json!({"opened": {}})), Scoring::EachRow);
        assert_eq!(
            scoring(json!({"visited": {"url": {"contains": "/pricing"}}})),
            Scoring::EachRow
        );
        assert_eq!(
            scoring(json!({"event": {"name": "demo"}})),
            Scoring::EachRow
        );
        assert_eq!(
            scoring(json!({"event": {"name": "demo", "count": {"atLeast": 2}}})),
            Scoring::WhileTrue
        );
        assert_eq!(
            scoring(json!({"opened": {"within": {"days": 3}}})),
            Scoring::WhileTrue
        );
        assert_eq!(scoring(json!({"hasTag": 3})), Scoring::WhileTrue);
        assert_eq!(scoring(json!({"sent": {}})), Scoring::WhileTrue);
        assert_eq!(
            scoring(json!({"all": [{"opened": {}}]})),
            Scoring::WhileTrue
        );
    }

    #[test]
    fn bad_rules_are_refused_with_the_attribute() {
        let refused = |body: serde_json::Value| draft(body).unwrap_err().attribute;
        assert_eq!(refused(json!({"points": 5})), "condition");
        assert_eq!(refused(json!({"condition": {"opened": {}}})), "points");
        assert_eq!(
            refused(json!({"condition": {"opened": {}}, "points": 0})),
            "points"
        );
        assert_eq!(
            refused(json!({"condition": {"opened": {}}, "points": 1001})),
            "points"
        );
        assert_eq!(
            refused(json!({"condition": {"opened": {}}, "points": 5, "expiryDays": 0})),
            "expiryDays"
        );
        assert_eq!(
            refused(json!({"condition": {"nope": {}}, "points": 5})),
            "condition"
        );
        assert_eq!(
            refused(
                json!({"condition": {"not": {"score": {"model": 1, "value": {"atLeast": 1}}}},
                "points": 5})
            ),
            "condition"
        );
        assert_eq!(
            refused(json!({"condition": {"hasTag": 1}, "points": 5, "frequency": "once"})),
            "frequency"
        );
        assert_eq!(
            refused(json!({"condition": {"opened": {}}, "points": 5,
                "cap": {"points": 4, "days": 7}})),
            "cap.points"
        );
        assert_eq!(
            refused(json!({"condition": {"opened": {}}, "points": -5,
                "cap": {"points": 40, "days": 7}})),
            "cap"
        );
        assert!(
            draft(json!({"condition": {"opened": {}}, "points": -5, "expiryDays": 30})).is_ok()
        );
    }
}
