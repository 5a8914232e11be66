//! Awarding a rule's points: for rules over single behaviors, to the timeline rows in a scope
//! (a round's contacts from their earliest new row on, or a range of contacts when past
//! behavior is scored again) that are not awarded yet; for rules held while true, to the
//! contacts that meet them. Every award is unique per (rule, revision, contact, cause), so
//! awarding the same rows twice awards them once.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::score::rule::{Cap, Frequency, ScoreRule};
use tracklane_core::time::Timestamp;

use super::ledger::DAY;
use crate::segments::compile::{Behavior, Rows};
use crate::sql::{Statement, Value};
use crate::{Engine, StoreError};

/// The columns an award is written to.
pub(super) const AWARD_INSERT: &str = "INSERT INTO score_awards (account_id, model_id, rule_id, \
     revision, contact_id, cause, event_id, points, awarded_at, expires_at, recorded_at) ";

/// Which of an account's timeline rows to award.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// The round's contacts' rows from this instant on (their earliest new row's time).
    Round(&'a [ContactId], Timestamp),
    /// The rows of the contacts whose ids are in `from..until`.
    Range(i64, i64),
}

impl Scope<'_> {
    /// Appends ` AND` the scope's test of the rows `e`.
    fn push(self, statement: &mut Statement) {
        match self {
            Self::Round(contacts, since) => {
                statement
                    .push(" AND e.contact_id IN ")
                    .push_row(contacts.iter().map(|contact| contact.0.into()))
                    .and(" AND e.occurred_at >= ", since.0);
            }
            Self::Range(from, until) => {
                statement
                    .and(" AND e.contact_id >= ", from)
                    .and(" AND e.contact_id < ", until);
            }
        }
    }
}

/// Awards a rule over single behaviors to the rows of `scope` that match it and are not
/// awarded yet, as its frequency and cap allow. A row whose award would have expired already
/// is not awarded. A rule of another kind awards nothing here.
pub(crate) async fn award_rows(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    rule: &ScoreRule,
    scope: Scope<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    // The rows of the rule's behavior in the scope: ` FROM events e WHERE ...`.
    let mut rows = Statement::new(engine, "");
    match Behavior::of(rule.rule.definition.root()) {
        Some(behavior) if matches!(behavior.rows, Rows::Timeline(_)) => {
            behavior.push_rows(&mut rows, account);
        }
        _ => return Ok(()),
    }
    rows.push(" AND e.by_machine = 0 AND e.contact_id IS NOT NULL");
    scope.push(&mut rows);
    if let Some(days) = rule.rule.expiry_days {
        rows.and(" AND e.occurred_at > ", now.0 - days * DAY);
    }
    let expires = match rule.rule.expiry_days {
        Some(days) => format!("e.occurred_at + {}", days * DAY),
        None => "NULL".to_owned(),
    };
    let ScoreRule {
        id,
        model,
        revision,
        ..
    } = *rule;
    let points = rule.rule.points;
    match (rule.rule.frequency, rule.rule.cap) {
        (Frequency::EveryTime, None) => {
            let mut insert = Statement::with_head(
                &format!(
                    "{AWARD_INSERT}SELECT e.account_id, {model}, {id}, {revision}, e.contact_id, \
                     e.id, e.id, {points}, e.occurred_at, {expires}, {now}",
                    now = now.0
                ),
                &rows,
            );
            insert.push(" ON CONFLICT DO NOTHING");
            insert.query().execute(&mut *tx).await?;
        }
        (Frequency::Once, _) => {
            // The contact's first matching row, when the rule never awarded it.
            let mut first = Statement::with_head(
                "SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.contact_id \
                 ORDER BY e.occurred_at, e.id) AS nth",
                &rows,
            );
            first.push(&format!(
                " AND NOT EXISTS (SELECT 1 FROM score_awards x WHERE x.rule_id = {id} \
                 AND x.revision = {revision} AND x.contact_id = e.contact_id)"
            ));
            let mut insert = Statement::with_head(
                &format!(
                    "{AWARD_INSERT}SELECT e.account_id, {model}, {id}, {revision}, e.contact_id, \
                     0, e.id, {points}, e.occurred_at, {expires}, {now} FROM (",
                    now = now.0
                ),
                &first,
            );
            insert.push(") e WHERE e.nth = 1 ON CONFLICT DO NOTHING");
            insert.query().execute(&mut *tx).await?;
        }
        (Frequency::EveryTime, Some(cap)) => {
            award_capped(tx, engine, rule, cap, rows, now).await?;
        }
    }
    Ok(())
}

/// Awards a capped rule row by row, in each contact's order of time: a row is awarded when
/// the rule's awards within the cap's period before and after it leave room for its points
/// (so that no period ever holds more than the cap).
async fn award_capped(
    tx: &mut AnyConnection,
    engine: Engine,
    rule: &ScoreRule,
    cap: Cap,
    rows: Statement,
    now: Timestamp,
) -> Result<(), StoreError> {
    let ScoreRule { id, revision, .. } = *rule;
    let mut candidates = Statement::with_head(
        "SELECT e.id, e.account_id, e.contact_id, e.occurred_at",
        &rows,
    );
    candidates.push(&format!(
        " AND NOT EXISTS (SELECT 1 FROM score_awards x WHERE x.rule_id = {id} \
         AND x.revision = {revision} AND x.contact_id = e.contact_id AND x.cause = e.id) \
         ORDER BY e.contact_id, e.occurred_at, e.id"
    ));
    let mut found: Vec<(i64, i64, i64, i64)> = Vec::new();
    for row in candidates.query().fetch_all(&mut *tx).await? {
        found.push((
            row.try_get("id")?,
            row.try_get("account_id")?,
            row.try_get("contact_id")?,
            row.try_get("occurred_at")?,
        ));
    }
    if found.is_empty() {
        return Ok(());
    }
    let period = cap.days * DAY;
    // The rule's awards near the candidates, by contact.
    let mut contacts: Vec<i64> = found.iter().map(|row| row.2).collect();
    contacts.dedup();
    let mut near: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for chunk in contacts.chunks(500) {
        let mut select = Statement::new(
            engine,
            "SELECT contact_id, awarded_at, points FROM score_awards WHERE rule_id = ",
        );
        select
            .push_bind(id.0)
            .and(" AND revision = ", revision)
            .push(" AND contact_id IN ")
            .push_row(chunk.iter().map(|&contact| contact.into()));
        for row in select.query().fetch_all(&mut *tx).await? {
            near.entry(row.try_get("contact_id")?)
                .or_default()
                .push((row.try_get("awarded_at")?, row.try_get("points")?));
        }
    }
    let points = rule.rule.points;
    let mut awarded = Vec::new();
    for (event, account, contact, at) in found {
        let made = near.entry(contact).or_default();
        let within: i64 = made
            .iter()
            .filter(|(other, _)| (other - at).abs() < period)
            .map(|(_, points)| points)
            .sum();
        if within + points <= cap.points {
            made.push((at, points));
            awarded.push((event, account, contact, at));
        }
    }
    for chunk in awarded.chunks(500) {
        let mut insert = Statement::new(engine, &format!("{AWARD_INSERT}VALUES "));
        insert.push_rows(chunk.iter().map(|&(event, account, contact, at)| {
            [
                Value::from(account),
                rule.model.0.into(),
                id.0.into(),
                revision.into(),
                contact.into(),
                event.into(),
                event.into(),
                points.into(),
                at.into(),
                rule.rule.expiry_days.map(|days| at + days * DAY).into(),
                now.0.into(),
            ]
        }));
        insert.push(" ON CONFLICT DO NOTHING");
        insert.query().execute(&mut *tx).await?;
    }
    Ok(())
}
