//! The stored members of segments and their history, as settling a round of checks
//! ([`super::membership`]) and computing a segment whole (`compute`) both write them: entries
//! and exits, each recorded as a [`Transition`] in the same transaction and reported to the
//! webhooks, and the member counts folded from the deltas that `segment_members`' triggers
//! append.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, SegmentId};
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;

use crate::listing::{page_of, Listed};
use crate::sql::{Statement, Value};
use crate::webhooks::changes::record_changes;
use crate::webhooks::timeline::transition_changes;
use crate::{Engine, Store, StoreError};

/// How many rows one statement writes.
const CHUNK: usize = 500;

/// A contact entering or leaving a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The account.
    pub account: AccountId,
    /// The segment.
    pub segment: SegmentId,
    /// The contact.
    pub contact: ContactId,
    /// Entered (true) or left.
    pub entered: bool,
    /// When.
    pub at: Timestamp,
}

impl Store {
    /// One page of the contact's entries into and exits from segments, oldest first.
    pub async fn contact_transitions(
        &self,
        account: AccountId,
        contact: ContactId,
        page: Page,
    ) -> Result<Listed<Transition>, StoreError> {
        self.existing_contact(account, contact).await?;
        let mut filter =
            Statement::new(self.engine, " FROM segment_transitions WHERE contact_id = ");
        filter.push_bind(contact.0);
        page_of(
            &self.reader,
            "account_id, segment_id, contact_id, entered, at",
            &filter,
            "at ASC, id ASC",
            page,
            transition,
        )
        .await
    }
}

/// Folds the member count deltas of `segments` (appended by the triggers on `segment_members`)
/// into one row each, so that a count sums a few rows. On PostgreSQL the deltas another
/// transaction appends meanwhile are not seen, so not deleted: each delta is summed once.
/// SQLite has one writer, which this transaction is.
pub(super) async fn fold_member_counts(
    tx: &mut AnyConnection,
    engine: Engine,
    segments: &BTreeSet<SegmentId>,
) -> Result<(), StoreError> {
    if segments.is_empty() {
        return Ok(());
    }
    let ids = || segments.iter().map(|segment| segment.0.into());
    let mut of_segments =
        Statement::new(engine, " FROM segment_member_counts WHERE segment_id IN ");
    of_segments.push_row(ids());
    const SUMS: &str = "SELECT segment_id, SUM(delta) AS delta";
    const KEEP: &str = "INSERT INTO segment_member_counts (segment_id, delta) ";
    match engine {
        Engine::Postgres => {
            // The rows are locked in segment order, whatever plan the delete gets, so that two
            // nodes folding the same segments never wait on each other in a cycle.
            let mut fold = Statement::with_head(
                "WITH folded AS (DELETE FROM segment_member_counts WHERE ctid = ANY(ARRAY(\
                 SELECT ctid",
                &of_segments,
            );
            fold.push(&format!(
                " ORDER BY segment_id, ctid FOR UPDATE)) RETURNING segment_id, delta) \
                 {KEEP}{SUMS} FROM folded GROUP BY segment_id HAVING SUM(delta) <> 0"
            ));
            fold.query().execute(&mut *tx).await?;
        }
        Engine::Sqlite => {
            let mut sums = Statement::with_head(SUMS, &of_segments);
            sums.push(" GROUP BY segment_id HAVING SUM(delta) <> 0");
            let sums: Vec<(i64, i64)> = sums
                .query()
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| Ok((row.try_get("segment_id")?, row.try_get("delta")?)))
                .collect::<Result<_, sqlx::Error>>()?;
            Statement::with_head("DELETE", &of_segments)
                .query()
                .execute(&mut *tx)
                .await?;
            if !sums.is_empty() {
                let mut keep = Statement::new(engine, &format!("{KEEP}VALUES "));
                keep.push_rows(
                    sums.into_iter()
                        .map(|(segment, delta)| [segment, delta].map(Value::from)),
                );
                keep.query().execute(&mut *tx).await?;
            }
        }
    }
    Ok(())
}

/// Applies a round's membership changes, sorted by segment and contact, a chunk of rows per
/// statement: entries of contacts that still exist into segments that still exist, and exits
/// of members. Answers those that changed something, as transitions at `now`.
pub(super) async fn change_memberships(
    tx: &mut AnyConnection,
    engine: Engine,
    changes: &[(SegmentId, ContactId, bool, AccountId)],
    now: Timestamp,
) -> Result<Vec<Transition>, StoreError> {
    let account_of: BTreeMap<(SegmentId, ContactId), AccountId> = changes
        .iter()
        .map(|&(segment, contact, _, account)| ((segment, contact), account))
        .collect();
    let mut transitions = Vec::new();
    for entered in [true, false] {
        let rows: Vec<_> = changes
            .iter()
            .filter(|change| change.2 == entered)
            .collect();
        for chunk in rows.chunks(CHUNK) {
            let mut change = if entered {
                let mut insert = Statement::new(
                    engine,
                    "INSERT INTO segment_members (segment_id, contact_id, entered_at) \
                     SELECT s.id, c.id, ",
                );
                insert
                    .push_bind(now.0)
                    .push(" FROM segments s, contacts c, (VALUES ");
                insert
            } else {
                Statement::new(
                    engine,
                    "DELETE FROM segment_members WHERE (segment_id, contact_id) IN (VALUES ",
                )
            };
            change.push_rows(
                chunk
                    .iter()
                    .map(|(segment, contact, _, _)| [segment.0, contact.0].map(Value::from)),
            );
            change.push(")");
            if entered {
                change.push(
                    " v WHERE s.id = v.column1 AND c.id = v.column2 \
                     ON CONFLICT (segment_id, contact_id) DO NOTHING",
                );
            }
            change.push(" RETURNING segment_id, contact_id");
            for row in change.query().fetch_all(&mut *tx).await? {
                let segment = SegmentId(row.try_get("segment_id")?);
                let contact = ContactId(row.try_get("contact_id")?);
                if let Some(&account) = account_of.get(&(segment, contact)) {
                    transitions.push(Transition {
                        account,
                        segment,
                        contact,
                        entered,
                        at: now,
                    });
                }
            }
        }
    }
    transitions.sort_by_key(|t| (t.segment, t.contact));
    Ok(transitions)
}

/// A stored transition.
fn transition(row: &AnyRow) -> Result<Transition, sqlx::Error> {
    Ok(Transition {
        account: AccountId(row.try_get("account_id")?),
        segment: SegmentId(row.try_get("segment_id")?),
        contact: ContactId(row.try_get("contact_id")?),
        entered: row.try_get::<i64, _>("entered")? != 0,
        at: Timestamp(row.try_get("at")?),
    })
}

/// Writes transitions, a chunk of rows per statement, and reports them to the webhooks that
/// hear of them.
pub(super) async fn record_transitions(
    tx: &mut AnyConnection,
    engine: Engine,
    transitions: &[Transition],
) -> Result<(), StoreError> {
    for chunk in transitions.chunks(CHUNK) {
        let mut insert = Statement::new(
            engine,
            "INSERT INTO segment_transitions (account_id, segment_id, contact_id, entered, at) \
             VALUES ",
        );
        insert.push_rows(chunk.iter().map(|t| {
            let entered = i64::from(t.entered);
            [t.account.0, t.segment.0, t.contact.0, entered, t.at.0].map(Value::from)
        }));
        insert.query().execute(&mut *tx).await?;
    }
    record_changes(tx, engine, &transition_changes(transitions)).await
}
