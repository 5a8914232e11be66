//! The lock every writer of a contact's scores takes first: the contact's row in `score_holds`
//! (PostgreSQL; SQLite has one writer), made with the contact (migration 0041) and locked in
//! contact order, before any check row. Nothing in the ingest takes it, so a scorer step that
//! holds its contacts while it awards them never makes an event wait (see migration 0040).

use std::collections::BTreeSet;

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::ContactId;

use crate::sql::{Statement, Value};
use crate::{Engine, StoreError};

/// How many contacts one statement holds.
const CHUNK: usize = 500;

/// Whether [`hold_scores`] waits for contacts another transaction holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Waits for them (a writer that must change these scores now).
    Wait,
    /// Leaves them out (a worker that takes them at its next turn).
    Skip,
}

/// Holds the scores of `contacts` (sorted, deduplicated) for this transaction, in contact
/// order, and answers those it may write: every one, or with [`Hold::Skip`], all but those
/// another transaction holds. A contact that is gone counts as held: no one writes its scores,
/// and its leftovers (a check queued as it went) are the caller's to clear. On SQLite, every
/// one.
pub(crate) async fn hold_scores(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[ContactId],
    hold: Hold,
) -> Result<BTreeSet<ContactId>, StoreError> {
    if engine == Engine::Sqlite {
        return Ok(contacts.iter().copied().collect());
    }
    let mut held = BTreeSet::new();
    for chunk in contacts.chunks(CHUNK) {
        let mut lock = Statement::new(
            engine,
            "SELECT contact_id FROM score_holds WHERE contact_id IN ",
        );
        lock.push_row(chunk.iter().map(|contact| Value::from(contact.0)))
            .push(" ORDER BY contact_id")
            .push(match hold {
                Hold::Wait => engine.lock_for_change(),
                Hold::Skip => engine.skip_locked(),
            });
        for row in lock.query().fetch_all(&mut *tx).await? {
            held.insert(ContactId(row.try_get("contact_id")?));
        }
        let mut gone: BTreeSet<ContactId> = chunk
            .iter()
            .copied()
            .filter(|contact| !held.contains(contact))
            .collect();
        if gone.is_empty() {
            continue;
        }
        let mut existing = Statement::new(engine, "SELECT id FROM contacts WHERE id IN ");
        existing.push_row(gone.iter().map(|contact| Value::from(contact.0)));
        for row in existing.query().fetch_all(&mut *tx).await? {
            gone.remove(&ContactId(row.try_get("id")?));
        }
        held.extend(gone);
    }
    Ok(held)
}
