//! Awarding rules over single behaviors to the timeline rows in a scope (each of a scorer step's
//! contacts from its earliest new row on, or a range of contacts when past behavior is scored
//! again) that are not awarded yet, as each rule's frequency and cap allow. Rules with the same
//! condition (the same behavior, in several models) are awarded by one statement. Every award
//! is unique per (contact, rule, revision, cause), so awarding the same rows twice awards them
//! once.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::score::rule::{Cap, Frequency, ScoreRule};
use tracklane_core::segment::Definition;
use tracklane_core::time::Timestamp;

use super::awards::Awards;
use super::ledger::DAY;
use crate::segments::compile::{push_counters, Behavior, Counters, Rows};
use crate::sql::{Statement, Value};
use crate::{Engine, StoreError};

/// The columns an award is written to.
pub(super) const AWARD_INSERT: &str = "INSERT INTO score_awards (account_id, model_id, rule_id, \
     revision, contact_id, cause, event_id, points, awarded_at, expires_at, recorded_at) ";

/// Which of an account's timeline rows to award.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// Each contact's rows from its instant on (its earliest new row's time).
    New(&'a [(ContactId, Timestamp)]),
    /// The rows of the contacts whose ids are in `from..until`.
    Range(i64, i64),
}

/// Awards `rules` (those over single behaviors; others are left out) to the rows of `scope`
/// that match them, into `awards`. A row whose award would have expired already is not
/// awarded.
pub(crate) async fn award_rows(
    tx: &mut AnyConnection,
    awards: &mut Awards,
    account: AccountId,
    rules: &[&ScoreRule],
    scope: Scope<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let engine = awards.engine;
    let mut groups: Vec<Vec<&ScoreRule>> = Vec::new();
    for &rule in rules {
        let root = rule.rule.definition.root();
        match groups
            .iter_mut()
            .find(|group| group[0].rule.definition.root() == root)
        {
            Some(group) => group.push(rule),
            None => groups.push(vec![rule]),
        }
    }
    let found = groups_with_rows(tx, engine, account, &groups, scope).await?;
    for (group, _) in groups.iter().zip(found).filter(|(_, found)| *found) {
        let plain: Vec<&ScoreRule> = group
            .iter()
            .copied()
            .filter(|rule| rule.rule.frequency == Frequency::EveryTime && rule.rule.cap.is_none())
            .collect();
        if !plain.is_empty() {
            let behavior = &group[0].rule.definition;
            if let Some(rows) = rows_of(engine, account, behavior, scope, &rules_values(&plain)) {
                award_every_row(tx, awards, &rows, now).await?;
            }
        }
        let Some(rows) = rows_of(engine, account, &group[0].rule.definition, scope, "") else {
            continue;
        };
        for &rule in group {
            match (rule.rule.frequency, rule.rule.cap) {
                (Frequency::Once, _) => award_first_row(tx, awards, rule, &rows, now).await?,
                (Frequency::EveryTime, Some(cap)) => {
                    award_capped(tx, awards, rule, cap, &rows, now).await?;
                }
                (Frequency::EveryTime, None) => {}
            }
        }
    }
    Ok(())
}

/// Which groups of rules (with the same behavior) may have rows to award, in one statement:
/// for new rows, those whose activity counters hold such a row of one of the contacts from its
/// new rows' time on (a behavior none of them had is not searched); every group in a
/// range.
async fn groups_with_rows(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    groups: &[Vec<&ScoreRule>],
    scope: Scope<'_>,
) -> Result<Vec<bool>, StoreError> {
    let Scope::New(contacts) = scope else {
        return Ok(vec![true; groups.len()]);
    };
    let mut found = vec![true; groups.len()];
    let asked: Vec<(usize, Counters<'_>)> = groups
        .iter()
        .enumerate()
        .filter_map(|(i, group)| {
            let behavior = Behavior::of(group[0].rule.definition.root())?;
            Some((i, behavior.counters?))
        })
        .collect();
    // Each group's select repeats the contacts: a few groups per statement keep it
    // within the engines' bounds on binds.
    for some in asked.chunks(GROUPS_PER_STATEMENT) {
        let mut select = Statement::new(engine, "");
        for (n, (i, counters)) in some.iter().enumerate() {
            found[*i] = false;
            if n > 0 {
                select.push(" UNION ALL ");
            }
            select.push(&format!("SELECT {i} AS g WHERE EXISTS (SELECT 1 FROM "));
            push_contacts(&mut select, contacts);
            select.push(" WHERE EXISTS (");
            push_counters(&mut select, account, counters);
            select.push(" AND a.contact_id = w.column1 AND a.t1 >= w.column2))");
        }
        for row in select.query().fetch_all(&mut *tx).await? {
            let i: i64 = row.try_get("g")?;
            found[usize::try_from(i).unwrap_or_default()] = true;
        }
    }
    Ok(found)
}

/// Appends the contacts and the times of their new rows as `w (column1, column2)`:
/// a `VALUES` list on SQLite; on PostgreSQL, two bound lists unnested, so that a statement's
/// text, and so its prepared plan, stays the same from step to step.
pub(crate) fn push_contacts(statement: &mut Statement, contacts: &[(ContactId, Timestamp)]) {
    match statement.engine() {
        Engine::Sqlite => {
            statement
                .push("(VALUES ")
                .push_rows(
                    contacts
                        .iter()
                        .map(|(contact, since)| [contact.0, since.0].map(Value::from)),
                )
                .push(") w");
        }
        Engine::Postgres => {
            let listed = |value: fn(&(ContactId, Timestamp)) -> i64| {
                let values: Vec<String> = contacts.iter().map(|c| value(c).to_string()).collect();
                values.join(",")
            };
            statement
                .and(
                    "(SELECT unnest(string_to_array(",
                    listed(|(contact, _)| contact.0),
                )
                .and(
                    ", ',')::bigint[]) AS column1, unnest(string_to_array(",
                    listed(|(_, since)| since.0),
                )
                .push(", ',')::bigint[]) AS column2) w");
        }
    }
}

/// How many groups one statement of [`groups_with_rows`] asks about (each with the
/// contacts' two values: 8 groups of 256 contacts bind about 4,100 values).
const GROUPS_PER_STATEMENT: usize = 8;

/// ` CROSS JOIN (VALUES ...) r`: the rules' numbers (model, rule, revision, points, expiry in
/// microseconds), integers of ours written as literals.
fn rules_values(rules: &[&ScoreRule]) -> String {
    let rows: Vec<String> = rules
        .iter()
        .map(|rule| {
            let expiry = rule
                .rule
                .expiry_days
                .map_or("CAST(NULL AS BIGINT)".to_owned(), |days| {
                    (days * DAY).to_string()
                });
            format!(
                "({}, {}, {}, {}, {expiry})",
                rule.model.0, rule.id.0, rule.revision, rule.rule.points
            )
        })
        .collect();
    format!(" CROSS JOIN (VALUES {}) r", rows.join(", "))
}

/// ` FROM ... events e{also_from} WHERE ...`: the rows of `scope` that the behavior keeps;
/// `None` for a condition that is not over timeline rows. The joins are `CROSS JOIN`s, which SQLite
/// keeps in their order: each contact, then its rows by index, then the rules (left to itself,
/// with 100 contacts and 10 rules, it walked every row of the account once per rule; with the
/// contacts joined by a comma, SQLite 3.46 walked every row of the account first, so that each
/// step cost more as the timeline grew).
pub(crate) fn rows_of(
    engine: Engine,
    account: AccountId,
    condition: &Definition,
    scope: Scope<'_>,
    also_from: &str,
) -> Option<Statement> {
    let behavior = Behavior::of(condition.root())?;
    if !matches!(behavior.rows, Rows::Timeline(_)) {
        return None;
    }
    let mut rows = Statement::new(engine, " FROM ");
    match scope {
        Scope::New(contacts) => {
            push_contacts(&mut rows, contacts);
            rows.and(
                &format!(" CROSS JOIN events e{also_from} WHERE e.account_id = "),
                account.0,
            )
            .push(" AND e.contact_id = w.column1 AND e.occurred_at >= w.column2");
        }
        Scope::Range(from, until) => {
            rows.and(
                &format!("events e{also_from} WHERE e.account_id = "),
                account.0,
            )
            .and(" AND e.contact_id >= ", from)
            .and(" AND e.contact_id < ", until);
        }
    }
    rows.push(" AND e.by_machine = 0");
    behavior.push_timeline_tests(&mut rows);
    if let (Scope::New(_), Some(counters)) = (scope, &behavior.counters) {
        // Only contacts whose counters hold such a row from their new rows' time on: the
        // others have none to award, and a search would walk their new rows of that kind.
        rows.push(" AND EXISTS (");
        push_counters(&mut rows, account, counters);
        rows.push(" AND a.contact_id = w.column1 AND a.t1 >= w.column2)");
    }
    Some(rows)
}

/// The SQL of an award's expiry for a rule whose expiry in microseconds is `expiry` (an
/// expression), from the row's time.
fn expiry_of(expiry: &str) -> String {
    format!("CASE WHEN {expiry} IS NULL THEN NULL ELSE e.occurred_at + {expiry} END")
}

/// Awards every row to each rule of `rows`' `r` (every time, no cap), in one statement.
async fn award_every_row(
    tx: &mut AnyConnection,
    awards: &mut Awards,
    rows: &Statement,
    now: Timestamp,
) -> Result<(), StoreError> {
    let expires = expiry_of("r.column5");
    let now = now.0;
    let mut insert = Statement::with_head(
        &format!(
            "{AWARD_INSERT}SELECT e.account_id, r.column1, r.column2, r.column3, e.contact_id, \
             e.id, e.id, r.column4, e.occurred_at, {expires}, {now}"
        ),
        rows,
    );
    insert.push(&format!(
        " AND (r.column5 IS NULL OR e.occurred_at + r.column5 > {now}) \
         ON CONFLICT DO NOTHING"
    ));
    awards.insert(tx, &insert).await
}

/// Awards a rule that awards once its contacts' first matching row, when it never awarded
/// them.
async fn award_first_row(
    tx: &mut AnyConnection,
    awards: &mut Awards,
    rule: &ScoreRule,
    rows: &Statement,
    now: Timestamp,
) -> Result<(), StoreError> {
    let ScoreRule {
        id,
        model,
        revision,
        ..
    } = *rule;
    let points = rule.rule.points;
    let expires = expiry_of(
        &rule
            .rule
            .expiry_days
            .map_or("NULL".to_owned(), |days| (days * DAY).to_string()),
    );
    let mut first = Statement::with_head(
        "SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.contact_id \
         ORDER BY e.occurred_at, e.id) AS nth",
        rows,
    );
    if let Some(days) = rule.rule.expiry_days {
        first.push(&format!(" AND e.occurred_at > {}", now.0 - days * DAY));
    }
    first.push(&format!(
        " AND NOT EXISTS (SELECT 1 FROM score_awards x WHERE x.rule_id = {id} \
         AND x.revision = {revision} AND x.contact_id = e.contact_id)"
    ));
    let mut insert = Statement::with_head(
        &format!(
            "{AWARD_INSERT}SELECT e.account_id, {model}, {id}, {revision}, e.contact_id, 0, e.id, \
             {points}, e.occurred_at, {expires}, {now} FROM (",
            now = now.0
        ),
        &first,
    );
    insert.push(") e WHERE e.nth = 1 ON CONFLICT DO NOTHING");
    awards.insert(tx, &insert).await
}

/// Awards a capped rule row by row, in each contact's order of time: a row is awarded when
/// the rule's awards within the cap's period before and after it leave room for its points
/// (so that no period ever holds more than the cap).
async fn award_capped(
    tx: &mut AnyConnection,
    awards: &mut Awards,
    rule: &ScoreRule,
    cap: Cap,
    rows: &Statement,
    now: Timestamp,
) -> Result<(), StoreError> {
    let engine = awards.engine;
    let ScoreRule { id, revision, .. } = *rule;
    let mut candidates = Statement::with_head(
        "SELECT e.id, e.account_id, e.contact_id, e.occurred_at",
        rows,
    );
    if let Some(days) = rule.rule.expiry_days {
        candidates.push(&format!(" AND e.occurred_at > {}", now.0 - days * DAY));
    }
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
        awards.insert(tx, &insert).await?;
    }
    Ok(())
}
