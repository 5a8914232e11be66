//! The ledger and the scores it sums: reading a contact's scores and live awards, and manual
//! adjustments (settled as every change of awards is, by the `settle` module).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, EventId, ScoreAwardId, ScoreModelId, ScoreRuleId};
use tracklane_core::page::Page;
use tracklane_core::score::award::{Adjustment, Cause, ScoreAward};
use tracklane_core::time::Timestamp;

use super::holds::{hold_scores, Hold};
use super::settle::{settle_scores, LedgerChanges};
use crate::listing::{owned_row, page_of, Listed};
use crate::sql::{Statement, Value};
use crate::{Store, StoreError};

/// A day, in microseconds.
pub(super) const DAY: i64 = 86_400_000_000;

/// The award `a` counts: a manual adjustment, or an award of its rule's counted revision.
pub(super) const COUNTED: &str = "(a.rule_id IS NULL OR a.revision = \
     (SELECT r.counted_revision FROM score_rules r WHERE r.id = a.rule_id))";

/// A contact's score in one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactScore {
    /// The row's id (AC's scoreValue id).
    pub id: i64,
    /// The model.
    pub model: ScoreModelId,
    /// The contact.
    pub contact: ContactId,
    /// The sum of the contact's live awards in the model.
    pub total: i64,
    /// When the contact first had points in the model.
    pub created_at: Timestamp,
    /// When the score last changed.
    pub updated_at: Timestamp,
}

/// A change of one contact's score in one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreChange {
    /// The contact.
    pub contact: ContactId,
    /// The model.
    pub model: ScoreModelId,
    /// The score before.
    pub from: i64,
    /// The score after.
    pub to: i64,
}

/// The columns [`award`] reads.
const AWARD_COLUMNS: &str = "a.id, a.model_id, a.rule_id, a.contact_id, a.cause, a.event_id, \
     a.points, a.reason, a.awarded_at, a.expires_at";

/// A stored award row.
fn award(row: &AnyRow) -> Result<ScoreAward, sqlx::Error> {
    let rule: Option<i64> = row.try_get("rule_id")?;
    let event: Option<i64> = row.try_get("event_id")?;
    let cause = match (rule, event) {
        (None, _) => Cause::Adjustment(
            row.try_get::<Option<String>, _>("reason")?
                .unwrap_or_default(),
        ),
        (Some(_), Some(event)) => Cause::Event(EventId(event)),
        (Some(_), None) => Cause::Condition,
    };
    Ok(ScoreAward {
        id: ScoreAwardId(row.try_get("id")?),
        model: ScoreModelId(row.try_get("model_id")?),
        rule: rule.map(ScoreRuleId),
        contact: ContactId(row.try_get("contact_id")?),
        points: row.try_get("points")?,
        cause,
        awarded_at: Timestamp(row.try_get("awarded_at")?),
        expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(Timestamp),
    })
}

/// A stored score row.
fn score(row: &AnyRow) -> Result<ContactScore, sqlx::Error> {
    Ok(ContactScore {
        id: row.try_get("id")?,
        model: ScoreModelId(row.try_get("model_id")?),
        contact: ContactId(row.try_get("contact_id")?),
        total: row.try_get("total")?,
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

impl Store {
    /// The contact's scores, one per model it ever had points in, by model.
    pub async fn contact_scores(
        &self,
        account: AccountId,
        contact: ContactId,
    ) -> Result<Vec<ContactScore>, StoreError> {
        self.existing_contact(account, contact).await?;
        let rows = sqlx::query(
            "SELECT id, model_id, contact_id, total, created_at, updated_at FROM contact_scores \
             WHERE account_id = $1 AND contact_id = $2 ORDER BY model_id",
        )
        .bind(account.0)
        .bind(contact.0)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(score).collect::<Result<_, _>>()?)
    }

    /// One page of the contact's live awards (those its scores sum), of one model or all,
    /// newest first: why the contact has its scores.
    pub async fn contact_score_awards(
        &self,
        account: AccountId,
        contact: ContactId,
        model: Option<ScoreModelId>,
        now: Timestamp,
        page: Page,
    ) -> Result<Listed<ScoreAward>, StoreError> {
        self.existing_contact(account, contact).await?;
        let mut filter = Statement::new(
            self.engine,
            &format!(" FROM score_awards a WHERE {COUNTED} AND a.account_id = "),
        );
        filter
            .push_bind(account.0)
            .and(" AND a.contact_id = ", contact.0)
            .and(" AND (a.expires_at IS NULL OR a.expires_at > ", now.0)
            .push(")");
        if let Some(model) = model {
            filter.and(" AND a.model_id = ", model.0);
        }
        page_of(
            &self.reader,
            AWARD_COLUMNS,
            &filter,
            "a.awarded_at DESC, a.id DESC",
            page,
            award,
        )
        .await
    }

    /// Adds or takes points by hand, with a reason: an award of the ledger like any other,
    /// and the score settled in the same transaction.
    pub async fn adjust_score(
        &self,
        account: AccountId,
        contact: ContactId,
        adjustment: Adjustment,
        now: Timestamp,
    ) -> Result<ScoreAward, StoreError> {
        self.existing_contact(account, contact).await?;
        self.existing_score_model(account, adjustment.model).await?;
        let id = self
            .write(async |tx| adjust_in(tx, self.engine, account, contact, &adjustment, now).await)
            .await?;
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {AWARD_COLUMNS} FROM score_awards a WHERE a.id = "),
        );
        select.push_bind(id);
        let row = select.query().fetch_one(&self.reader).await?;
        Ok(award(&row)?)
    }
}

/// Adds a manual adjustment to the contact's ledger on `tx` (the model known to be the
/// account's) and settles its score; answers the award's id, or [`StoreError::NotFound`] for a
/// contact the account lacks. Held, the contact cannot be deleted before the commit.
pub(crate) async fn adjust_in(
    tx: &mut AnyConnection,
    engine: crate::Engine,
    account: AccountId,
    contact: ContactId,
    adjustment: &Adjustment,
    now: Timestamp,
) -> Result<i64, StoreError> {
    hold_scores(tx, engine, &[contact], Hold::Wait).await?;
    let key = (crate::Model::Contact, account, contact.0);
    owned_row(&mut *tx, "contacts", "id", key, |row| {
        row.try_get::<i64, _>(0)
    })
    .await?;
    let ids = add_adjustments(tx, engine, &[(account, contact, adjustment)], now).await?;
    Ok(ids[0])
}

/// Makes manual adjustments of several contacts' scores on `tx` (an automation's batch of
/// `adjustScore` steps), each contact's scores held in contact order, the awards written a
/// chunk per statement and the scores settled once: what [`adjust_in`] does for one, at the
/// cost of a few statements for all. The contacts must exist (their runs hold them).
pub(crate) async fn adjust_many_in(
    tx: &mut AnyConnection,
    engine: crate::Engine,
    adjustments: &[(AccountId, ContactId, Adjustment)],
    now: Timestamp,
) -> Result<(), StoreError> {
    if adjustments.is_empty() {
        return Ok(());
    }
    let held: Vec<ContactId> = adjustments
        .iter()
        .map(|(_, contact, _)| *contact)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    hold_scores(tx, engine, &held, Hold::Wait).await?;
    let adjustments: Vec<(AccountId, ContactId, &Adjustment)> = adjustments
        .iter()
        .map(|(account, contact, adjustment)| (*account, *contact, adjustment))
        .collect();
    add_adjustments(tx, engine, &adjustments, now).await?;
    Ok(())
}

/// Writes held contacts' adjustments to the ledger, a chunk per statement, and settles their
/// scores once; answers the awards' ids (in no particular order).
async fn add_adjustments(
    tx: &mut AnyConnection,
    engine: crate::Engine,
    adjustments: &[(AccountId, ContactId, &Adjustment)],
    now: Timestamp,
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(adjustments.len());
    for chunk in adjustments.chunks(200) {
        let mut insert = Statement::new(
            engine,
            "INSERT INTO score_awards (account_id, model_id, contact_id, cause, points, reason, \
             awarded_at, expires_at, recorded_at) VALUES ",
        );
        insert.push_rows(chunk.iter().map(|(account, contact, adjustment)| {
            let expires_at = adjustment.expiry_days.map(|days| now.0 + days * DAY);
            [
                Value::from(account.0),
                adjustment.model.0.into(),
                contact.0.into(),
                0_i64.into(),
                adjustment.points.into(),
                adjustment.reason.as_str().into(),
                now.0.into(),
                expires_at.into(),
                now.0.into(),
            ]
        }));
        insert.push(" RETURNING id");
        for row in insert.query().fetch_all(&mut *tx).await? {
            ids.push(row.try_get(0)?);
        }
    }
    let made = LedgerChanges {
        made: adjustments
            .iter()
            .map(|(_, contact, adjustment)| (*contact, adjustment.model, adjustment.points))
            .collect(),
        taken_back: Vec::new(),
    };
    let contacts: std::collections::BTreeMap<ContactId, AccountId> = adjustments
        .iter()
        .map(|(account, contact, _)| (*contact, *account))
        .collect();
    let contacts: Vec<(ContactId, AccountId)> = contacts.into_iter().collect();
    settle_scores(tx, engine, &contacts, &made, now).await?;
    Ok(ids)
}
