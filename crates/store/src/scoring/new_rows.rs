//! Scoring the timeline rows added to contacts, apart from the membership rounds. Each
//! contact's queued check notes the time of its earliest row added since it was last scored
//! (`since_at`). A step takes such contacts in turns by id, awards their new rows by the rules
//! over single behaviors, notes them scored and settles their scores, in one transaction that
//! gives way to requests ([`Store::write_in_background`]): under a flood of events, scoring
//! lags a little and awards more rows at once, rather than slowing the ingest down.
//!
//! New rows are read under the check row's lock, so that rows another transaction adds
//! meanwhile note their time after this step commits, and the next step scores them.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::score::rule::{ScoreRule, Scoring};
use tracklane_core::time::Timestamp;

use super::awarding::{award_rows, Scope};
use super::awards::Awards;
use super::ledger::ScoreChange;
use super::live::with_counted_revisions;
use super::settle::{settle_instant, settle_scores, LedgerChanges};
use crate::automations::entries::{enter_by_rows, stale_row_triggers, RowTriggers};
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

    /// Scores the new rows of `contacts` by `rules` and enters them into `automations` (each
    /// of their accounts' rules, and active automations with behavior triggers, as read before
    /// this call; an empty list for an account without any), in one background write: the rows
    /// are awarded by the rules over single behaviors, enter the contacts whose rows meet a
    /// trigger (see `automations::entries`), are noted as scored, and the contacts' scores are
    /// settled. The contacts of an account whose rules or automations changed since they were
    /// read keep their rows noted for a later step, as do, on PostgreSQL, those whose checks
    /// another transaction holds.
    pub async fn score_new_rows(
        &self,
        contacts: &[(ContactId, AccountId)],
        rules: &BTreeMap<AccountId, Vec<ScoreRule>>,
        automations: &BTreeMap<AccountId, Vec<RowTriggers>>,
        now: Timestamp,
    ) -> Result<Scored, StoreError> {
        let mut ordered = contacts.to_vec();
        ordered.sort();
        ordered.dedup();
        self.write_in_background(async |tx| {
            let round = with_counted_revisions(tx, self.engine, rules).await?;
            let stale = stale_row_triggers(tx, self.engine, automations).await?;
            let current: Vec<(ContactId, AccountId)> = ordered
                .iter()
                .copied()
                .filter(|(_, account)| {
                    round.rules.contains_key(account) && !stale.contains(account)
                })
                .collect();
            let ids: Vec<ContactId> = current.iter().map(|(contact, _)| *contact).collect();
            let since = lock_new_rows(tx, self.engine, &ids).await?;
            let mut accounts: BTreeMap<AccountId, Vec<(ContactId, Timestamp)>> = BTreeMap::new();
            for (contact, account) in current {
                if let Some(&at) = since.get(&contact) {
                    accounts.entry(account).or_default().push((contact, at));
                }
            }
            let noted: Vec<ContactId> = since.keys().copied().collect();
            let now = settle_instant(tx, self.engine, &noted, now).await?;
            let mut awards = Awards::summed(tx, self.engine).await?;
            let mut settling = Vec::new();
            for (account, contacts) in &accounts {
                let each_row: Vec<&ScoreRule> = round.rules[account]
                    .iter()
                    .filter(|rule| Scoring::of(&rule.rule.definition) == Scoring::EachRow)
                    .collect();
                if !each_row.is_empty() {
                    let scope = Scope::New(contacts);
                    award_rows(tx, &mut awards, *account, &each_row, scope, now).await?;
                    settling.extend(contacts.iter().map(|&(contact, _)| (contact, *account)));
                }
                if let Some(triggers) = automations.get(account) {
                    enter_by_rows(tx, self.engine, *account, triggers, contacts, now).await?;
                }
            }
            note_scored(tx, self.engine, noted).await?;
            let all: Vec<&ScoreRule> = round.rules.values().flatten().collect();
            let changes = LedgerChanges {
                made: awards.made(tx, &all).await?,
                taken_back: Vec::new(),
            };
            let held = ordered
                .iter()
                .map(|&(contact, _)| contact)
                .find(|contact| !since.contains_key(contact));
            Ok(Scored {
                taken: since.len(),
                held,
                changes: settle_scores(tx, self.engine, &settling, &changes, now).await?,
            })
        })
        .await
    }
}

/// What [`Store::score_new_rows`] did.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    /// Contacts whose new rows were scored.
    pub taken: usize,
    /// The first contact asked whose rows were left for a later step (another transaction held
    /// its check, or its account's rules or automations changed).
    pub held: Option<ContactId>,
    /// The scores that changed.
    pub changes: Vec<ScoreChange>,
}

/// Locks the queued checks of `contacts` (sorted) that note new rows, in contact order (on
/// PostgreSQL, those another transaction holds are left for a later step), and reads the
/// time of each one's earliest new row.
async fn lock_new_rows(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[ContactId],
) -> Result<BTreeMap<ContactId, Timestamp>, StoreError> {
    let mut found = BTreeMap::new();
    for chunk in contacts.chunks(500) {
        let mut select = Statement::new(
            engine,
            "SELECT contact_id, since_at FROM segment_checks \
             WHERE since_at IS NOT NULL AND contact_id IN ",
        );
        select
            .push_row(chunk.iter().map(|contact| contact.0.into()))
            .push(" ORDER BY contact_id")
            .push(engine.skip_locked());
        for row in select.query().fetch_all(&mut *tx).await? {
            found.insert(
                ContactId(row.try_get("contact_id")?),
                Timestamp(row.try_get("since_at")?),
            );
        }
    }
    Ok(found)
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
