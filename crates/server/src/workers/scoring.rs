//! Scoring the timeline rows added to contacts, beside the membership rounds (see the store's
//! `scoring::new_rows`): after each committed write, steps take the contacts whose new rows
//! wait, in turns by contact id, until none waits. Each step is a background write, which
//! gives way to requests while they keep the writer busy: under a flood of events, a step
//! awards more rows at once instead of taking the writer from the ingest.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::score::rule::ScoreRule;
use tracklane_core::time::Timestamp;
use tracklane_store::automations::entries::RowTriggers;
use tracklane_store::scoring::new_rows::Scored;
use tracklane_store::{Store, StoreError};

use super::automations::DefinitionCache;
use super::membership::IDLE_LOOK;
use crate::health::{Heartbeats, GRACE};
use crate::state::Clock;

/// What new rows are read by, per account: scoring rules, and automations' behavior triggers.
type Readers<'a> = (
    &'a BTreeMap<AccountId, Vec<ScoreRule>>,
    &'a BTreeMap<AccountId, Vec<RowTriggers>>,
);

/// The most contacts one step scores (in one transaction).
pub const STEP: i64 = 512;
/// How long the loop waits when a step found contacts but could take none of them (another
/// node's transaction held them).
const HELD_PAUSE: Duration = Duration::from_millis(10);

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step {
    /// Contacts found with new rows.
    pub found: usize,
    /// Those of them whose rows were scored.
    pub taken: usize,
    /// Where the next step goes on from: the last of them, or, when the step left one's rows
    /// for later (another transaction held its check), the one before it, so that a contact
    /// held for a moment is taken again at once rather than at the next turn (which a steady
    /// stream of new contacts would put off for as long as it lasts).
    pub last: Option<ContactId>,
    /// Scores that changed.
    pub score_changes: usize,
}

/// The scorer of new rows.
#[derive(Clone)]
pub struct Scorer {
    store: Store,
    clock: Arc<dyn Clock>,
    /// The definitions of the automations whose triggers read new rows.
    definitions: DefinitionCache,
}

impl Scorer {
    /// A scorer over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            definitions: DefinitionCache::default(),
        }
    }

    /// One step: scores the new rows of up to [`STEP`] contacts after `after`, by their
    /// accounts' rules as stored now.
    #[tracing::instrument(name = "scorer_step", skip_all)]
    pub async fn step(&self, after: ContactId) -> Result<Step, StoreError> {
        let contacts = self.store.contacts_with_new_rows(after, STEP).await?;
        let mut rules = BTreeMap::new();
        let mut automations = BTreeMap::new();
        for &(_, account) in &contacts {
            if let Entry::Vacant(entry) = rules.entry(account) {
                entry.insert(self.store.account_score_rules(account).await?);
                let mut triggers = Vec::new();
                for (automation, version) in self.store.account_row_automations(account).await? {
                    let definition = self.definitions.get(&self.store, automation, version);
                    triggers.push(RowTriggers {
                        automation,
                        version,
                        definition: definition.await?,
                    });
                }
                automations.insert(account, triggers);
            }
        }
        let readers = (&rules, &automations);
        let scored = if contacts.is_empty() {
            Scored::default()
        } else {
            let now = self.clock.now();
            match self
                .store
                .score_new_rows(&contacts, readers.0, readers.1, now)
                .await
            {
                Ok(scored) => scored,
                Err(error) if error.is_database_failure() => return Err(error),
                // A write refused for one contact must not hold up the others: each is tried
                // alone, and those refused are logged and left noted for the next turn.
                Err(_) => self.one_by_one(&contacts, readers, now).await,
            }
        };
        Ok(Step {
            found: contacts.len(),
            taken: scored.taken,
            last: match scored.held {
                Some(held) => Some(ContactId(held.0 - 1)),
                None => contacts.last().map(|&(contact, _)| contact),
            },
            score_changes: scored.changes.len(),
        })
    }

    /// Scores the contacts' new rows one contact per transaction, after a step's transaction
    /// was refused: what the others' steps did, with each contact refused logged.
    async fn one_by_one(
        &self,
        contacts: &[(ContactId, AccountId)],
        (rules, automations): Readers<'_>,
        now: Timestamp,
    ) -> Scored {
        let mut scored = Scored::default();
        for &(contact, account) in contacts {
            let one = [(contact, account)];
            match self
                .store
                .score_new_rows(&one, rules, automations, now)
                .await
            {
                Ok(one) => {
                    scored.taken += one.taken;
                    scored.changes.extend(one.changes);
                }
                Err(error) => {
                    tracing::error!(contact = contact.0, error = ?error, "scoring a contact's new rows failed");
                }
            }
        }
        scored
    }

    /// Runs steps until `stop` changes: at once while contacts wait, else after the next
    /// committed write or after [`IDLE_LOOK`]; beats in `health`.
    pub async fn run(self, mut stop: watch::Receiver<bool>, health: Heartbeats) {
        let heart = health.register("scorer", GRACE);
        let mut commits = self.store.commits();
        let mut after = ContactId(0);
        loop {
            heart.beat();
            let pause = match self.step(after).await {
                Ok(Step {
                    last: Some(last),
                    taken,
                    ..
                }) => {
                    after = last;
                    (taken == 0).then_some(HELD_PAUSE)
                }
                Ok(_) if after != ContactId(0) => {
                    // The end of a turn: the next one starts from the first contact.
                    after = ContactId(0);
                    None
                }
                Ok(_) => Some(IDLE_LOOK),
                Err(error) => {
                    tracing::error!(error = ?error, "scoring new rows failed");
                    Some(IDLE_LOOK)
                }
            };
            if *stop.borrow() {
                return;
            }
            let Some(pause) = pause else { continue };
            let change = async {
                if pause == HELD_PAUSE {
                    std::future::pending::<()>().await;
                }
                let _ = commits.changed().await;
            };
            tokio::select! {
                () = change => {}
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
