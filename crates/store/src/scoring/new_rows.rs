//! Scoring the timeline rows added to contacts, apart from the membership rounds. Each
//! contact's queued check notes the time of its earliest row added since it was last scored
//! (`since_at`). A step takes such contacts in turns by id, awards their new rows by the rules
//! over single behaviors, notes them scored and settles their scores, in one transaction that
//! gives way to requests ([`Store::write_in_background`]): under a flood of events, scoring
//! lags a little and awards more rows at once, rather than slowing the ingest down.
//!
//! The rows are awarded before the checks are locked, and the contacts that noted rows
//! meanwhile are awarded again under the locks (see [`Store::score_new_rows`]): rows another
//! transaction adds after that note their time once this step commits, and the next step
//! scores them.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::score::rule::{ScoreRule, Scoring};
use tracklane_core::time::Timestamp;

use super::awarding::{award_rows, Scope};
use super::awards::Awards;
use super::ledger::ScoreChange;
use super::live::with_counted_revisions;
use super::settle::{settle_scores, LedgerChanges};
use crate::sql::Statement;
use crate::{Engine, Store, StoreError};

impl Store {
    /// Up to `limit` contacts with new rows to score, in id order after `after`, with their
    /// accounts.
    pub async fn contacts_with_new_rows(
        &self,
        after: ContactId,
        limit: i64,
    ) -> Result<Vec<(ContactId, AccountId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT contact_id, account_id FROM segment_checks \
             WHERE since_at IS NOT NULL AND contact_id > $1 ORDER BY contact_id LIMIT $2",
        )
        .bind(after.0)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    ContactId(row.try_get("contact_id")?),
                    AccountId(row.try_get("account_id")?),
                ))
            })
            .collect()
    }

    /// Scores the new rows of `contacts` by `rules` (each of their accounts' rules as read
    /// before this call, an empty list for an account without any), in one background write:
    /// the rows are awarded by the rules over single behaviors, noted as scored, and the
    /// contacts' scores settled. The contacts of an account whose rules changed since they
    /// were read keep their rows noted for a later step, as do, on PostgreSQL, those another
    /// step is scoring.
    ///
    /// The rows are awarded before the contacts' checks are locked, so that the ingest, which
    /// queues each new row on its contact's check, waits for the settling alone. Under the
    /// locks, the contacts that noted rows meanwhile are awarded again (the rows awarded
    /// already are skipped by the ledger's unique key), then noted as scored and settled.
    pub async fn score_new_rows(
        &self,
        contacts: &[(ContactId, AccountId)],
        rules: &BTreeMap<AccountId, Vec<ScoreRule>>,
        now: Timestamp,
    ) -> Result<Scored, StoreError> {
        let mut ordered = contacts.to_vec();
        ordered.sort();
        ordered.dedup();
        self.write_in_background(async |tx| {
            let round = with_counted_revisions(tx, self.engine, rules).await?;
            let current: BTreeMap<ContactId, AccountId> = ordered
                .iter()
                .copied()
                .filter(|(_, account)| round.rules.contains_key(account))
                .collect();
            let claimed = claim(tx, self.engine, current.keys().copied()).await?;
            let first = new_rows(tx, self.engine, &claimed, "").await?;
            let mut awards = Awards::summed(tx, self.engine).await?;
            let mut settling =
                award_new_rows(tx, &mut awards, &round.rules, &current, &first, now).await?;
            let lock = self.engine.lock_for_update();
            let locked = new_rows(tx, self.engine, &claimed, lock).await?;
            let changed: BTreeMap<ContactId, NewRows> = locked
                .iter()
                .filter(|(contact, rows)| first.get(contact) != Some(rows))
                .map(|(&contact, &rows)| (contact, rows))
                .collect();
            settling.extend(
                award_new_rows(tx, &mut awards, &round.rules, &current, &changed, now).await?,
            );
            settling.sort();
            settling.dedup();
            note_scored(tx, self.engine, locked.keys().copied().collect()).await?;
            let all: Vec<&ScoreRule> = round.rules.values().flatten().collect();
            let changes = LedgerChanges {
                made: awards.made(tx, &all).await?,
                taken_back: Vec::new(),
            };
            Ok(Scored {
                taken: locked.len(),
                changes: settle_scores(tx, self.engine, &settling, &changes, now).await?,
            })
        })
        .await
    }
}

/// What a contact's check notes of its new rows: the time of the earliest, and how many
/// times rows were noted (PostgreSQL; SQLite's one writer notes none during a step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NewRows {
    since: Timestamp,
    noted: i64,
}

/// Awards the new rows of `contacts` (each from its noted time on) by their accounts' rules
/// over single behaviors. Returns the contacts awarded, with their accounts.
async fn award_new_rows(
    tx: &mut AnyConnection,
    awards: &mut Awards,
    rules: &BTreeMap<AccountId, Vec<ScoreRule>>,
    accounts: &BTreeMap<ContactId, AccountId>,
    contacts: &BTreeMap<ContactId, NewRows>,
    now: Timestamp,
) -> Result<Vec<(ContactId, AccountId)>, StoreError> {
    let mut by_account: BTreeMap<AccountId, Vec<(ContactId, Timestamp)>> = BTreeMap::new();
    for (contact, rows) in contacts {
        if let Some(&account) = accounts.get(contact) {
            by_account
                .entry(account)
                .or_default()
                .push((*contact, rows.since));
        }
    }
    let mut awarded = Vec::new();
    for (account, contacts) in &by_account {
        let each_row: Vec<&ScoreRule> = rules[account]
            .iter()
            .filter(|rule| Scoring::of(&rule.rule.definition) == Scoring::EachRow)
            .collect();
        if !each_row.is_empty() {
            let scope = Scope::New(contacts);
            award_rows(tx, awards, *account, &each_row, scope, now).await?;
            awarded.extend(contacts.iter().map(|&(contact, _)| (contact, *account)));
        }
    }
    Ok(awarded)
}

/// The contacts this step scores: on PostgreSQL, those no other step is scoring (a
/// transaction advisory lock per contact, tried and not waited for, so that two steps never
/// award the same rows and wait on each other); on SQLite, all of them.
async fn claim(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: impl Iterator<Item = ContactId>,
) -> Result<Vec<ContactId>, StoreError> {
    let contacts: Vec<ContactId> = contacts.collect();
    if engine == Engine::Sqlite || contacts.is_empty() {
        return Ok(contacts);
    }
    let mut claimed = Vec::new();
    for chunk in contacts.chunks(500) {
        let mut select = Statement::new(engine, "SELECT c.column1 AS contact_id FROM (VALUES ");
        select
            .push_rows(chunk.iter().map(|contact| [contact.0.into()]))
            .push(") c WHERE pg_try_advisory_xact_lock(c.column1) ORDER BY c.column1");
        for row in select.query().fetch_all(&mut *tx).await? {
            claimed.push(ContactId(row.try_get("contact_id")?));
        }
    }
    Ok(claimed)
}

/// What the checks of `contacts` that note new rows note, read with `lock` (`""`, or
/// [`Engine::lock_for_update`], which takes them in contact order, waiting).
async fn new_rows(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[ContactId],
    lock: &str,
) -> Result<BTreeMap<ContactId, NewRows>, StoreError> {
    let mut found = BTreeMap::new();
    for chunk in contacts.chunks(500) {
        let mut select = Statement::new(
            engine,
            "SELECT contact_id, since_at, noted FROM segment_checks \
             WHERE since_at IS NOT NULL AND contact_id IN ",
        );
        select
            .push_row(chunk.iter().map(|contact| contact.0.into()))
            .push(" ORDER BY contact_id")
            .push(lock);
        for row in select.query().fetch_all(&mut *tx).await? {
            found.insert(
                ContactId(row.try_get("contact_id")?),
                NewRows {
                    since: Timestamp(row.try_get("since_at")?),
                    noted: row.try_get("noted")?,
                },
            );
        }
    }
    Ok(found)
}

/// What [`Store::score_new_rows`] did.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    /// Contacts whose new rows were scored.
    pub taken: usize,
    /// The scores that changed.
    pub changes: Vec<ScoreChange>,
}

/// Notes the contacts' new rows as scored (their checks are locked by this transaction).
async fn note_scored(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: Vec<ContactId>,
) -> Result<(), StoreError> {
    for chunk in contacts.chunks(500) {
        let mut update = Statement::new(
            engine,
            "UPDATE segment_checks SET since_at = NULL WHERE contact_id IN ",
        );
        update.push_row(chunk.iter().map(|contact| contact.0.into()));
        update.query().execute(&mut *tx).await?;
    }
    Ok(())
}
