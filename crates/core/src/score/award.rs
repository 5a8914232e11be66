//! The ledger: every award of points is a row (its contact, model, rule, points, cause and
//! expiry), and a contact's score in a model is the sum of its live awards. Manual adjustments
//! are awards too.

use crate::ids::{ContactId, EventId, ScoreAwardId, ScoreModelId, ScoreRuleId};
use crate::invalid::Invalid;
use crate::score::rule::{check_points, within_range, EXPIRY_DAYS_MAX};
use crate::text::{required, NAME_MAX};
use crate::time::Timestamp;

/// What caused an award.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A row of the contact's timeline that the rule's single behavior matched.
    Event(EventId),
    /// The contact meets the rule's condition (held while it does).
    Condition,
    /// A manual adjustment, with its reason.
    Adjustment(String),
}

/// One award of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreAward {
    /// Its id.
    pub id: ScoreAwardId,
    /// The model.
    pub model: ScoreModelId,
    /// The rule (none for a manual adjustment).
    pub rule: Option<ScoreRuleId>,
    /// The contact.
    pub contact: ContactId,
    /// The points (negative ones take points away).
    pub points: i64,
    /// Its cause.
    pub cause: Cause,
    /// When it counts from: the behavior's time, or when the condition was met or the
    /// adjustment made.
    pub awarded_at: Timestamp,
    /// When it stops counting; `None`: never.
    pub expires_at: Option<Timestamp>,
}

impl ScoreAward {
    /// Whether the award counts at `now` (not expired).
    pub fn live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A manual adjustment as given by a caller.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdjustmentInput {
    /// The model.
    pub model: Option<ScoreModelId>,
    /// The points, either way.
    pub points: Option<i64>,
    /// Why.
    pub reason: Option<String>,
    /// After how many days it stops counting.
    pub expiry_days: Option<i64>,
}

/// A validated manual adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// The model.
    pub model: ScoreModelId,
    /// The points, either way.
    pub points: i64,
    /// Why.
    pub reason: String,
    /// After how many days it stops counting.
    pub expiry_days: Option<i64>,
}

impl AdjustmentInput {
    /// Validates an adjustment: a model, points within the rules' bounds, a reason.
    pub fn into_adjustment(self) -> Result<Adjustment, Invalid> {
        let model = self.model.ok_or_else(|| Invalid::missing("score"))?;
        let points = self.points.ok_or_else(|| Invalid::missing("points"))?;
        check_points("points", points)?;
        let reason = required("reason", self.reason.as_deref(), NAME_MAX)?;
        if let Some(days) = self.expiry_days {
            within_range("expiryDays", days, 1, EXPIRY_DAYS_MAX)?;
        }
        Ok(Adjustment {
            model,
            points,
            reason,
            expiry_days: self.expiry_days,
        })
    }
}
