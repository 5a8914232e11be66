//! Segments over all contacts: how many contacts of an account match a definition, and which
//! ones (the set evaluator), and one contact's facts for core's one-contact evaluator. The two
//! answer the same: an end-to-end test on both engines compares them on random contacts and
//! definitions.
//!
//! # Layout
//! - `compile`: a definition as one SQL condition over `contacts c`.
//! - `facts`: contacts' attributes and timelines, as `ContactFacts` (of a round's timelines, only
//!   the rows its conditions need: `facts/needed`).
//! - `saved`: saved segments, checked against the account, and their stored members.
//! - [`membership`]: keeping the stored members live: the queue of checks and settling them.
//! - [`members`]: the members' entries and exits, their transitions and counts, as settling
//!   and computing write them.
//! - `compute`: computing a saved segment's members whole after it is saved or edited.

pub(crate) mod compile;
pub(crate) mod compute;
mod facts;
pub mod members;
pub mod membership;
mod saved;

pub(crate) use saved::{definition_text, refused};

use sqlx::Row;
use tracklane_core::contact::Contact;
use tracklane_core::ids::AccountId;
use tracklane_core::page::Page;
use tracklane_core::segment::Definition;
use tracklane_core::time::Timestamp;

use crate::listing::Listed;
use crate::rows::{self, CONTACT_COLUMNS};
use crate::sql::Statement;
use crate::{Store, StoreError};

impl Store {
    /// How many of the account's contacts match `definition` at `now`. Conditions the set
    /// evaluator does not compile yet (scores, number and date tests on standard text fields)
    /// are refused with [`StoreError::Invalid`].
    pub async fn segment_count(
        &self,
        account: AccountId,
        definition: &Definition,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let filter = self.segment_filter(account, definition, now)?;
        let count = Statement::with_head("SELECT COUNT(*)", &filter);
        let total: i64 = count.query().fetch_one(&self.reader).await?.try_get(0)?;
        Ok(total)
    }

    /// One page of the account's contacts that match `definition` at `now`, by id, with how
    /// many match in all. The definition is evaluated once: the matching ids are kept, then
    /// counted and paged (a count and a page apart built each condition's set twice). Refuses
    /// what [`Store::segment_count`] refuses.
    pub async fn segment_members(
        &self,
        account: AccountId,
        definition: &Definition,
        now: Timestamp,
        page: Page,
    ) -> Result<Listed<Contact>, StoreError> {
        let filter = self.segment_filter(account, definition, now)?;
        let mut select =
            Statement::with_head("WITH matching AS MATERIALIZED (SELECT c.id", &filter);
        select
            .push(&format!(
                ") SELECT t.total, p.* FROM (SELECT COUNT(*) AS total FROM matching) t \
                 LEFT JOIN (SELECT {CONTACT_COLUMNS} FROM contacts WHERE id IN \
                 (SELECT id FROM matching ORDER BY id"
            ))
            .and(" LIMIT ", page.limit)
            .and(" OFFSET ", page.offset)
            .push(")) p ON 1 = 1 ORDER BY p.id");
        let found = select.query().fetch_all(&self.reader).await?;
        let mut total = 0;
        let mut items = Vec::with_capacity(found.len());
        for row in &found {
            total = row.try_get("total")?;
            // An empty page is one row: the total, and no contact.
            if row.try_get::<Option<i64>, _>("id")?.is_some() {
                items.push(rows::contact(row)?);
            }
        }
        Ok(Listed { items, total })
    }

    /// ` FROM contacts c WHERE ...`: the account's contacts that match.
    pub(crate) fn segment_filter(
        &self,
        account: AccountId,
        definition: &Definition,
        now: Timestamp,
    ) -> Result<Statement, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM contacts c WHERE c.account_id = ");
        filter.push_bind(account.0).push(" AND ");
        compile::push_condition(&mut filter, account, definition.root(), now)?;
        Ok(filter)
    }
}
