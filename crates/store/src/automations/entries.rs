//! Entering contacts by what happens to them:
//! - by their behavior: in the step that scores the timeline rows added to contacts (see
//!   `scoring::new_rows`), each row that meets a behavior trigger of an active automation
//!   enters its contact, once per row (the row is the run's cause: a replayed row, or one that
//!   two triggers meet, enters once);
//! - by a change (a tag, a list, a segment): in the transaction of the change, through the
//!   index of the triggers that name it (`automation_triggers`, one lookup per change).
//!
//! Never while the contact is inside, and only once ever when the automation says so.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sqlx::{AnyConnection, Row};
use tracklane_core::automation::saved::RunStatus;
use tracklane_core::automation::trigger::{Trigger, SCORE_REACHED};
use tracklane_core::automation::{Definition, Entry};
use tracklane_core::ids::{AccountId, AutomationId, AutomationRunId, ContactId, ScoreModelId};
use tracklane_core::time::Timestamp;

use super::dates::schedule_dates;
use super::history::{note_history_in, Happened, RunOf};
use super::runs::enter_in;
use super::saved::stored_definition;
use crate::scoring::awarding::{push_contacts, rows_of, Scope};
use crate::scoring::ledger::ScoreChange;
use crate::sql::{Statement, Value};
use crate::webhooks::changes::Change;
use crate::{Engine, Store, StoreError};

/// An active automation whose behavior triggers read the rows added to contacts, as read
/// before a step.
#[derive(Debug, Clone)]
pub struct RowTriggers {
    /// The automation.
    pub automation: AutomationId,
    /// Its current version.
    pub version: i64,
    /// That version's definition.
    pub definition: Arc<Definition>,
}

impl Store {
    /// The account's active automations with behavior triggers, by id, with their current
    /// versions.
    pub async fn account_row_automations(
        &self,
        account: AccountId,
    ) -> Result<Vec<(AutomationId, i64)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, version FROM automations \
             WHERE account_id = $1 AND active = 1 AND reads_rows = 1 ORDER BY id",
        )
        .bind(account.0)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, version)| (AutomationId(id), version))
            .collect())
    }
}

/// The accounts among `read`'s whose active automations with behavior triggers changed since
/// they were read (added, edited, activated or deactivated). Their rows are locked with a key
/// share until the transaction ends (PostgreSQL), so none is edited or deleted until then
/// (an edit locks its row for update first).
pub(crate) async fn stale_row_triggers(
    tx: &mut AnyConnection,
    engine: Engine,
    read: &BTreeMap<AccountId, Vec<RowTriggers>>,
) -> Result<BTreeSet<AccountId>, StoreError> {
    let accounts: Vec<i64> = read.keys().map(|account| account.0).collect();
    let mut stored: BTreeMap<AccountId, Vec<(i64, i64)>> = BTreeMap::new();
    for chunk in accounts.chunks(500) {
        let mut select = Statement::new(
            engine,
            "SELECT account_id, id, version FROM automations \
             WHERE active = 1 AND reads_rows = 1 AND account_id IN ",
        );
        select
            .push_row(chunk.iter().map(|&id| id.into()))
            .push(" ORDER BY id")
            // Against edits (which lock the row for update first), not against the other
            // steps that hold it and count their entries on it.
            .push(engine.key_share_lock());
        for row in select.query().fetch_all(&mut *tx).await? {
            stored
                .entry(AccountId(row.try_get("account_id")?))
                .or_default()
                .push((row.try_get("id")?, row.try_get("version")?));
        }
    }
    Ok(read
        .iter()
        .filter(|(account, triggers)| {
            let now: Vec<(i64, i64)> = triggers
                .iter()
                .map(|one| (one.automation.0, one.version))
                .collect();
            stored.get(account).map_or(&[][..], Vec::as_slice) != now.as_slice()
        })
        .map(|(account, _)| *account)
        .collect())
}

/// Enters the contacts (each from the time of its earliest new row) whose new rows meet a
/// behavior trigger of `automations` (the account's, current), counting them on each.
pub(crate) async fn enter_by_rows(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    automations: &[RowTriggers],
    contacts: &[(ContactId, Timestamp)],
    now: Timestamp,
) -> Result<(), StoreError> {
    if automations.is_empty() {
        return Ok(());
    }
    let present = new_row_keys(tx, engine, account, contacts).await?;
    for one in automations {
        let entering = Entering {
            account,
            automation: one.automation,
            version: one.version,
            definition: &one.definition,
        };
        for behavior in one.definition.behaviors() {
            // Triggers are looked up by their rows' kind and event name: a trigger no new row
            // can meet costs no query.
            if let Some((kind, name)) = behavior.row_key() {
                let met = present.iter().any(|(present_kind, present_name)| {
                    present_kind == kind.as_str() && name.is_none_or(|name| name == present_name)
                });
                if !met {
                    continue;
                }
            }
            let Some(rows) = rows_of(engine, account, behavior, Scope::New(contacts), "") else {
                continue;
            };
            let selected = ("e.contact_id", "'row:' || CAST(e.id AS TEXT)", "e.id");
            enter_selected(tx, engine, &entering, &rows, selected, now).await?;
        }
    }
    Ok(())
}

/// An automation's current version, which contacts enter set-wise.
pub(crate) struct Entering<'a> {
    /// The automation's account.
    pub(crate) account: AccountId,
    /// The automation.
    pub(crate) automation: AutomationId,
    /// Its current version.
    pub(crate) version: i64,
    /// That version's definition.
    pub(crate) definition: &'a Definition,
}

/// Enters the contacts that `source` (` FROM ... WHERE ...`) selects, in one statement:
/// `contact`, `cause` and `order` are the SQL of each one's contact id, of its cause and of
/// the order they enter in. A contact inside already (or entered before, for an automation
/// that takes each contact once) is left as it is. Notes each entry in the runs' history and
/// counts them on the automation; answers how many entered.
pub(crate) async fn enter_selected(
    tx: &mut AnyConnection,
    engine: Engine,
    entering: &Entering<'_>,
    source: &Statement,
    (contact, cause, order): (&str, &str, &str),
    now: Timestamp,
) -> Result<usize, StoreError> {
    let Entering {
        account,
        automation,
        version,
        definition,
    } = *entering;
    let inside = match definition.entry() {
        Entry::Once => String::new(),
        Entry::Multiple => format!(" AND r.status = {}", RunStatus::Active.code()),
    };
    // Step ids are ASCII letters, digits, '-', '_' and '.' (the definition's checks), so the
    // first one is written as a literal, as are the integers of ours.
    let mut insert = Statement::with_head(
        &format!(
            "INSERT INTO automation_runs (account_id, automation_id, version, contact_id, cause, \
             status, step, since_at, due_at, entered_at, updated_at, steps_total) \
             SELECT {account}, {id}, {version}, {contact}, {cause}, {active}, '{first}', {now}, \
             {now}, {now}, {now}, {total}",
            account = account.0,
            id = automation.0,
            active = RunStatus::Active.code(),
            first = definition.steps()[0].id,
            now = now.0,
            total = definition.steps().len(),
        ),
        source,
    );
    insert.push(&format!(
        " AND NOT EXISTS (SELECT 1 FROM automation_runs r WHERE r.automation_id = {id} \
         AND r.contact_id = {contact}{inside}) ORDER BY {order} \
         ON CONFLICT DO NOTHING RETURNING id, contact_id",
        id = automation.0,
    ));
    let entered = insert.query().fetch_all(&mut *tx).await?;
    if entered.is_empty() {
        return Ok(0);
    }
    let mut history = Vec::with_capacity(entered.len());
    for row in &entered {
        let of = RunOf {
            account,
            automation,
            run: AutomationRunId(row.try_get("id")?),
            contact: ContactId(row.try_get("contact_id")?),
        };
        history.push((of, Happened::Entered));
    }
    note_history_in(tx, engine, &history, now).await?;
    sqlx::query("UPDATE automations SET entered = entered + $1 WHERE id = $2")
        .bind(i64::try_from(entered.len()).unwrap_or(i64::MAX))
        .bind(automation.0)
        .execute(&mut *tx)
        .await?;
    Ok(entered.len())
}

/// The kinds and names of the new rows of `contacts` (each from the time of its earliest one).
async fn new_row_keys(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    contacts: &[(ContactId, Timestamp)],
) -> Result<BTreeSet<(String, String)>, StoreError> {
    let mut select = Statement::new(engine, "SELECT DISTINCT e.kind, e.name FROM ");
    push_contacts(&mut select, contacts);
    select
        .and(" CROSS JOIN events e WHERE e.account_id = ", account.0)
        .push(" AND e.contact_id = w.column1 AND e.occurred_at >= w.column2");
    let mut found = BTreeSet::new();
    for row in select.query().fetch_all(&mut *tx).await? {
        found.insert((row.try_get("kind")?, row.try_get("name")?));
    }
    Ok(found)
}

/// Enters the contacts of `changes` into the active automations whose triggers name the
/// change (its kind, and its list, tag or segment), in the change's transaction. The cause is
/// the change itself (its kind, target and instant), so that it enters once.
pub(crate) async fn enter_by_changes(
    tx: &mut AnyConnection,
    engine: Engine,
    changes: &[Change],
) -> Result<(), StoreError> {
    // Many changes of one kind and target (a batch of runs tagging their contacts) look their
    // triggers up once.
    let mut triggered: BTreeMap<(AccountId, &str, i64), Vec<i64>> = BTreeMap::new();
    for change in changes {
        let Some(contact) = change.contact else {
            continue;
        };
        let Some(target) = change.list.map(|list| list.0).or(change.subject) else {
            continue;
        };
        let kind = change.event.name();
        let key = (change.account, kind, target);
        if let std::collections::btree_map::Entry::Vacant(slot) = triggered.entry(key) {
            let found: Vec<i64> = sqlx::query_scalar(
                "SELECT automation_id FROM automation_triggers \
                 WHERE account_id = $1 AND kind = $2 AND target = $3 ORDER BY automation_id",
            )
            .bind(change.account.0)
            .bind(kind)
            .bind(target)
            .fetch_all(&mut *tx)
            .await?;
            slot.insert(found);
        }
        let automations = triggered[&key].clone();
        let cause = format!("{kind}:{target}:{}", change.at.0);
        for automation in automations {
            // A contact the automation does not take now (inside already, entered once) is
            // left as it is.
            let automation = AutomationId(automation);
            let entered = enter_in(
                tx,
                engine,
                change.account,
                automation,
                contact,
                &cause,
                change.at,
            );
            let _ = entered.await?;
        }
    }
    Ok(())
}

/// Writes the index of the triggers of automation `id` that name changes: those of
/// `definition` while `active`, none otherwise.
pub(crate) async fn index_triggers(
    tx: &mut AnyConnection,
    engine: Engine,
    (account, id): (AccountId, AutomationId),
    definition: &Definition,
    active: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    schedule_dates(tx, (account, id), definition, active, now).await?;
    index_row_triggers(tx, (account, id), definition, active).await?;
    sqlx::query("DELETE FROM automation_triggers WHERE automation_id = $1")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    let keys: BTreeSet<(&str, i64)> = definition
        .triggers()
        .iter()
        .filter_map(|trigger| trigger.change())
        .collect();
    if !active || keys.is_empty() {
        return Ok(());
    }
    let mut insert = Statement::new(
        engine,
        "INSERT INTO automation_triggers (account_id, kind, target, automation_id) VALUES ",
    );
    insert.push_rows(keys.iter().map(|&(kind, target)| {
        [
            Value::from(account.0),
            kind.into(),
            target.into(),
            id.0.into(),
        ]
    }));
    insert.query().execute(&mut *tx).await?;
    Ok(())
}

/// Writes the kinds and names of the rows the automation's behavior triggers read (none when
/// it is inactive; see migration 0037), replacing its previous definition's.
async fn index_row_triggers(
    tx: &mut AnyConnection,
    (account, id): (AccountId, AutomationId),
    definition: &Definition,
    active: bool,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM automation_row_triggers WHERE automation_id = $1")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    if !active {
        return Ok(());
    }
    for behavior in definition.behaviors() {
        let (kind, name) = behavior
            .row_key()
            .map_or((None, None), |(kind, name)| (Some(kind.as_str()), name));
        sqlx::query(
            "INSERT INTO automation_row_triggers (account_id, automation_id, kind, name) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(account.0)
        .bind(id.0)
        .bind(kind)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Enters the contacts whose score rose to the threshold of an active automation's
/// `scoreReached` trigger (from below it to it or above), in the transaction that changes the
/// score. The cause is the crossing (model, threshold, instant), so that it enters once.
pub(crate) async fn enter_by_scores(
    tx: &mut AnyConnection,
    engine: Engine,
    changes: &[ScoreChange],
    account_of: &BTreeMap<ContactId, AccountId>,
    now: Timestamp,
) -> Result<(), StoreError> {
    // The automations a model's score triggers, read once per account and model.
    let mut triggered: BTreeMap<(AccountId, ScoreModelId), Vec<(AutomationId, Definition)>> =
        BTreeMap::new();
    for change in changes.iter().filter(|change| change.to > change.from) {
        let account = account_of[&change.contact];
        let key = (account, change.model);
        if let std::collections::btree_map::Entry::Vacant(slot) = triggered.entry(key) {
            let rows = sqlx::query(
                "SELECT v.automation_id, v.definition FROM automation_triggers t \
                 JOIN automations a ON a.id = t.automation_id \
                 JOIN automation_versions v ON v.automation_id = a.id AND v.version = a.version \
                 WHERE t.account_id = $1 AND t.kind = $2 AND t.target = $3 ORDER BY a.id",
            )
            .bind(account.0)
            .bind(SCORE_REACHED)
            .bind(change.model.0)
            .fetch_all(&mut *tx)
            .await?;
            let mut read = Vec::with_capacity(rows.len());
            for row in rows {
                let definition = stored_definition(&row.try_get::<String, _>("definition")?)?;
                read.push((AutomationId(row.try_get("automation_id")?), definition));
            }
            slot.insert(read);
        }
        for (automation, definition) in &triggered[&key] {
            let crossed = definition
                .triggers()
                .iter()
                .find_map(|trigger| match trigger {
                    Trigger::ScoreReached { model, points }
                        if *model == change.model
                            && change.from < *points
                            && *points <= change.to =>
                    {
                        Some(*points)
                    }
                    _ => None,
                });
            if let Some(points) = crossed {
                let cause = format!("{SCORE_REACHED}:{}:{points}:{}", change.model, now.0);
                let entered = enter_in(
                    tx,
                    engine,
                    account,
                    *automation,
                    change.contact,
                    &cause,
                    now,
                );
                let _ = entered.await?;
            }
        }
    }
    Ok(())
}
