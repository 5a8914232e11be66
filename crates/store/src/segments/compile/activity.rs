//! The activity counters (migration 0016) as the set evaluator reads them: which counters hold
//! a behavioral condition's rows, and the `c.id IN (...)` tests over them.

use tracklane_core::ids::{AccountId, CampaignId};
use tracklane_core::segment::condition::Count;

use super::Compiler;
use crate::sql::{Statement, TextTest};

/// The kinds of the activity counters (`activity.kind`; see migration 0016).
pub(super) mod counters {
    pub const PAGES: i64 = 1;
    pub const REFERRERS: i64 = 2;
    pub const DEVICE: i64 = 3;
    pub const PAGE_VISITS: i64 = 4;
    pub const SITE_VISITS: i64 = 5;
    pub const EVENTS: i64 = 6;
    pub const OPENS: i64 = 7;
    pub const CLICKS: i64 = 8;
    pub const CLICKS_BY_LINK: i64 = 9;
    pub const FORMS: i64 = 10;
}

/// The kinds of the terms dictionary (`terms.kind`; see migration 0016).
pub(super) mod terms {
    pub const PAGE: i64 = 1;
    pub const REFERRER: i64 = 2;
    pub const DEVICE: i64 = 3;
    pub const EVENT_NAME: i64 = 4;
    pub const LINK: i64 = 5;
}

/// How many recent times a counter keeps (`t1` to `t4`).
pub(super) const SLOTS: i64 = 4;
/// An empty slot's time.
pub(super) const EMPTY_SLOT: i64 = i64::MIN;

/// The activity counters that hold a behavioral condition's rows: one kind, and its keys.
/// They answer a count over all time, and "at least n in the last N days or hours" from the
/// slots; other windows and counts read the timeline.
#[derive(Clone, Copy)]
pub(crate) struct Counters<'a> {
    pub(super) kind: i64,
    pub(super) keys: Keys<'a>,
}

impl Counters<'_> {
    /// A total of the contact's (kind's only key, 0).
    pub(super) const fn total(kind: i64) -> Self {
        Self {
            kind,
            keys: Keys::One(0),
        }
    }

    /// Email activity of one campaign, or of any.
    pub(super) fn by_campaign(kind: i64, campaign: Option<CampaignId>) -> Self {
        Self {
            kind,
            keys: campaign.map_or(Keys::Any, |id| Keys::One(id.0)),
        }
    }
}

/// Which keys of a kind of counters a condition reads.
#[derive(Clone, Copy)]
pub(crate) enum Keys<'a> {
    /// Every key.
    Any,
    /// One key: a campaign, a form, or 0 for a total.
    One(i64),
    /// The terms of a kind whose text (and domain) pass the tests.
    Terms {
        kind: i64,
        text: Option<TextTest<'a>>,
        domain: Option<TextTest<'a>>,
    },
}

impl Compiler<'_> {
    /// The contacts whose counters of `counters` sum to the count, over all time.
    pub(super) fn counted_ever(&mut self, counters: &Counters<'_>, count: Count) {
        // (contacts outside the set, comparison, number)
        let (outside, operator, n) = match count {
            Count::AtLeast(n) => (false, " >= ", n),
            Count::Exactly(0) => (true, " >= ", 1),
            Count::Exactly(n) => (false, " = ", n),
            Count::AtMost(n) => (true, " > ", n),
        };
        self.statement.push(if outside {
            "NOT (c.id IN ("
        } else {
            "c.id IN ("
        });
        push_counters(self.statement, self.account, counters);
        if (operator, n) != (" >= ", 1) {
            self.statement
                .push(" GROUP BY a.contact_id HAVING SUM(a.count)")
                .and(operator, n);
        }
        self.statement.push(if outside { "))" } else { ")" });
    }

    /// The contacts with at least `n` (at most [`SLOTS`]) rows of `counters` in their slots
    /// from `since` to now, as a `SELECT` left open at its `HAVING` for more tests.
    pub(super) fn recent(&mut self, counters: &Counters<'_>, since: i64, n: i64) {
        push_counters(self.statement, self.account, counters);
        self.statement
            .and(" AND a.t1 >= ", since)
            .push(" GROUP BY a.contact_id HAVING (SUM(");
        for (i, slot) in ["a.t1", "a.t2", "a.t3", "a.t4"].iter().enumerate() {
            if i > 0 {
                self.statement.push(" + ");
            }
            self.statement
                .and(&format!("CASE WHEN {slot} >= "), since)
                .and(&format!(" AND {slot} <= "), self.now.0)
                .push(" THEN 1 ELSE 0 END");
        }
        self.statement.and(") >= ", n).push(")");
    }

    /// Whether a group of [`Self::recent`] has a row dated after now while its slots are full
    /// from `since`: its rows in the window are then more than its slots show.
    pub(super) fn ambiguous(&mut self, since: i64) {
        self.statement
            .and("MAX(CASE WHEN a.t1 > ", self.now.0)
            .and(" AND a.t4 >= ", since)
            .push(" THEN 1 ELSE 0 END) = 1");
    }
}

/// Appends `SELECT a.contact_id FROM activity a WHERE ...`: the `account`'s counters of
/// `counters`, open for more tests.
pub(crate) fn push_counters(
    statement: &mut Statement,
    account: AccountId,
    counters: &Counters<'_>,
) {
    statement
        .and(
            "SELECT a.contact_id FROM activity a WHERE a.account_id = ",
            account.0,
        )
        .and(" AND a.kind = ", counters.kind);
    match &counters.keys {
        Keys::Any => {}
        Keys::One(key) => {
            statement.and(" AND a.key = ", *key);
        }
        Keys::Terms { kind, text, domain } => {
            statement
                .and(
                    " AND a.key IN (SELECT t.id FROM terms t WHERE t.account_id = ",
                    account.0,
                )
                .and(" AND t.kind = ", *kind);
            for (test, column) in [(text, "t.text"), (domain, "t.domain")] {
                if let Some(test) = test {
                    statement.push(" AND ").push_column_test(column, *test);
                }
            }
            statement.push(")");
        }
    }
}
