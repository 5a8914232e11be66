//! Scoring the timeline rows added to contacts, apart from the membership rounds. A row that a
//! scoring rule or a behavior trigger reads adds a note of its contact and time to `new_rows`
//! (see migration 0040). A step takes the noted contacts in turns by id, holds their scores
//! (see [`super::holds`]), deletes their notes, awards the rows from each one's earliest noted
//! time by the rules over single behaviors, enters the contacts into behavior triggers and
//! settles their scores, in one transaction that gives way to requests
//! ([`Store::write_in_background`]): under a flood of events, scoring lags a little and awards
//! more rows at once, rather than slowing the ingest down.
//!
//! The notes a step deletes are those committed before it read them, and their rows are then
//! visible to it; a row another transaction adds meanwhile keeps its note for the next step.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::score::rule::{ScoreRule, Scoring};
use tracklane_core::time::Timestamp;

use super::awarding::{award_rows, Scope};
use super::awards::Awards;
use super::holds::{hold_scores, Hold};
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
            "SELECT contact_id, MIN(account_id) AS account_id FROM new_rows \
             WHERE contact_id > $1 GROUP BY contact_id ORDER BY contact_id LIMIT $2",
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
    /// trigger (see `automations::entries`), lose their notes, and the contacts' scores are
    /// settled. The contacts of an account whose rules or automations changed since they were
    /// read keep their rows noted for a later step, as do, on PostgreSQL, those whose scores
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
            let held = hold_scores(tx, self.engine, &ids, Hold::Skip).await?;
            let held: Vec<ContactId> = held.into_iter().collect();
            let since = take_new_rows(tx, self.engine, &held).await?;
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
    /// its scores, or its account's rules or automations changed).
    pub held: Option<ContactId>,
    /// The scores that changed.
    pub changes: Vec<ScoreChange>,
}

/// Deletes the notes of `contacts` (sorted, their scores held by this transaction) and answers
/// the time of each one's earliest noted row: the notes committed before this statement, whose
/// rows this transaction sees.
async fn take_new_rows(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[ContactId],
) -> Result<BTreeMap<ContactId, Timestamp>, StoreError> {
    let mut found: BTreeMap<ContactId, Timestamp> = BTreeMap::new();
    for chunk in contacts.chunks(500) {
        let mut delete = Statement::new(engine, "DELETE FROM new_rows WHERE contact_id IN ");
        delete
            .push_row(chunk.iter().map(|contact| contact.0.into()))
            .push(" RETURNING contact_id, since_at");
        for row in delete.query().fetch_all(&mut *tx).await? {
            let at = Timestamp(row.try_get("since_at")?);
            found
                .entry(ContactId(row.try_get("contact_id")?))
                .and_modify(|since| *since = (*since).min(at))
                .or_insert(at);
        }
    }
    Ok(found)
}
