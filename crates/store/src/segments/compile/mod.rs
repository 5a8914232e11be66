//! A segment definition compiled into one SQL condition over `contacts c` of an account: groups
//! become `AND` / `OR` / `NOT`, contact conditions tests on the contact's row and field values
//! ([`fields`]), and behavioral conditions sets of contacts read from the activity counters
//! ([`activity`]) where they answer exactly, else counts of the contact's timeline rows inside
//! their window. Every value is a bound parameter. The meaning is core's one-contact
//! evaluator's ([`tracklane_core::segment::evaluate`]), condition for condition.

use tracklane_core::ids::AccountId;
use tracklane_core::invalid::Invalid;
use tracklane_core::list::ListStatus;
use tracklane_core::segment::condition::{Count, ListCondition, ListMembership, Window};
use tracklane_core::segment::Condition;
use tracklane_core::time::Timestamp;

mod activity;
mod behavior;
mod fields;

use crate::sql::Statement;
use crate::StoreError;
pub(crate) use activity::{push_counters, Counters};
use activity::{EMPTY_SLOT, SLOTS};
pub(crate) use behavior::{Behavior, Rows};

/// Appends the condition `root` asks of the contact `c` to `statement`.
pub(crate) fn push_condition(
    statement: &mut Statement,
    account: AccountId,
    root: &Condition,
    now: Timestamp,
) -> Result<(), StoreError> {
    Compiler {
        statement,
        account,
        now,
    }
    .node(root)
}

/// Where a condition is being written, and for which account and instant.
struct Compiler<'a> {
    statement: &'a mut Statement,
    account: AccountId,
    now: Timestamp,
}

/// A refusal for a condition the set evaluator does not compile yet.
fn not_yet(what: &str) -> StoreError {
    Invalid::bad_value(
        "segment",
        format!("{what} conditions are not evaluated over all contacts yet"),
    )
    .into()
}

impl Compiler<'_> {
    fn node(&mut self, node: &Condition) -> Result<(), StoreError> {
        match node {
            Condition::All(nodes) => self.group(nodes, " AND "),
            Condition::Any(nodes) => self.group(nodes, " OR "),
            Condition::Not(node) => {
                self.statement.push("NOT (");
                self.node(node)?;
                self.statement.push(")");
                Ok(())
            }
            Condition::Field(field) => self.field(field),
            Condition::HasTag(tag) => {
                self.statement
                    .and(
                        "EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.contact_id = c.id \
                         AND ct.tag_id = ",
                        tag.0,
                    )
                    .push(")");
                Ok(())
            }
            Condition::List(list) => {
                self.list(list);
                Ok(())
            }
            Condition::Score(score) => {
                // A contact without points in the model has 0.
                self.statement
                    .and(
                        "COALESCE((SELECT cs.total FROM contact_scores cs \
                         WHERE cs.contact_id = c.id AND cs.model_id = ",
                        score.model.0,
                    )
                    .push("), 0)");
                push_comparison(self.statement, score.value);
                Ok(())
            }
            // Every other condition is behavioral.
            other => {
                let behavior = Behavior::of(other).ok_or_else(|| not_yet(other.key()))?;
                self.behavior(&behavior);
                Ok(())
            }
        }
    }

    fn group(&mut self, nodes: &[Condition], joint: &str) -> Result<(), StoreError> {
        self.statement.push("(");
        for (i, node) in nodes.iter().enumerate() {
            if i > 0 {
                self.statement.push(joint);
            }
            self.node(node)?;
        }
        self.statement.push(")");
        Ok(())
    }

    /// The contact's status on a list; "unconfirmed" is any status code the others are not,
    /// as [`ListStatus::from_code`] reads them.
    fn list(&mut self, list: &ListCondition) {
        self.statement.and(
            "EXISTS (SELECT 1 FROM contact_lists cl WHERE cl.contact_id = c.id AND cl.list_id = ",
            list.id.0,
        );
        match list.status {
            ListMembership::Unconfirmed => {
                let others = [
                    ListStatus::Active,
                    ListStatus::Unsubscribed,
                    ListStatus::Bounced,
                ];
                self.statement
                    .push(" AND cl.status NOT IN ")
                    .push_row(others.map(|status| status.code().into()));
            }
            status => {
                self.statement
                    .and(" AND cl.status = ", status.list_status().code());
            }
        }
        self.statement.push(")");
    }

    /// A behavioral condition: how many of the contact's rows that it counts fall in the
    /// window, compared with the count. Read from the activity counters when they answer it
    /// exactly (see [`activity::Counters`]), else from the rows.
    fn behavior(&mut self, behavior: &Behavior<'_>) {
        if let Count::AtLeast(n) = behavior.count {
            if n <= 0 {
                self.statement.push("1 = 1");
                return;
            }
        }
        let Some(counters) = &behavior.counters else {
            self.counted(behavior, "c.id");
            return;
        };
        let window = behavior.window;
        match (window.and_then(Window::span_micros), behavior.count) {
            _ if window.is_none() => self.counted_ever(counters, behavior.count),
            (Some(span), Count::AtLeast(n)) => {
                let since = self.now.0.saturating_sub(span).max(EMPTY_SLOT + 1);
                if n <= SLOTS {
                    self.statement.push("c.id IN (");
                    self.recent(counters, since, n);
                    // A slot taken by a row dated after now hides one inside the window.
                    self.statement.push(" OR (");
                    self.ambiguous(since);
                    self.statement.push(" AND ");
                    self.counted(behavior, "a.contact_id");
                    self.statement.push("))");
                } else {
                    // Only contacts with a full window of slots can have more rows in it.
                    self.statement.push("(c.id IN (");
                    self.recent(counters, since, SLOTS);
                    self.statement.push(" OR ");
                    self.ambiguous(since);
                    self.statement.push(") AND ");
                    self.counted(behavior, "c.id");
                    self.statement.push(")");
                }
            }
            _ => self.counted(behavior, "c.id"),
        }
    }

    /// The rows of the contact named by the column `contact` that `behavior` counts, inside
    /// its window, compared with its count. Counting stops at the rows that tell the answer
    /// ([`Count::rows_needed`]), so a busy contact costs no more than a quiet one.
    fn counted(&mut self, behavior: &Behavior<'_>, contact: &str) {
        let count = behavior.count;
        let exists = count == Count::AtLeast(1);
        self.statement.push(if exists {
            "EXISTS (SELECT 1"
        } else {
            "(SELECT COUNT(*) FROM (SELECT 1"
        });
        let time = behavior.push_rows(self.statement, self.account);
        let alias = behavior.rows.alias();
        self.statement
            .push(&format!(" AND {alias}.contact_id = {contact}"));
        push_window(self.statement, &named(time), behavior.window, self.now);
        if exists {
            self.statement.push(")");
        } else {
            self.statement
                .and(" LIMIT ", count.rows_needed())
                .push(") counted)");
            push_comparison(self.statement, count);
        }
    }
}

/// Appends the comparison `count` makes (` >= n`, ` = n`, ` <= n`).
fn push_comparison(statement: &mut Statement, count: Count) {
    let operator = match count {
        Count::AtLeast(_) => " >= ",
        Count::Exactly(_) => " = ",
        Count::AtMost(_) => " <= ",
    };
    statement.and(operator, count.number());
}

/// Appends ` AND` bounds on the column that `column` appends for the window at `now`, as
/// [`Window::holds`] reads it.
pub(crate) fn push_window(
    statement: &mut Statement,
    column: &dyn Fn(&mut Statement),
    window: Option<Window>,
    now: Timestamp,
) {
    let Some(window) = window else {
        return;
    };
    let (from, until) = match (window, window.span_micros()) {
        (Window::Between(between), _) => ((" >= ", between.from.0), (" < ", between.until.0)),
        (_, Some(span)) => ((" >= ", now.0.saturating_sub(span)), (" <= ", now.0)),
        (_, None) => {
            statement.push(" AND 1 = 0");
            return;
        }
    };
    for (operator, bound) in [from, until] {
        statement.push(" AND ");
        column(statement);
        statement.and(operator, bound);
    }
}

/// Appends a column by its name.
pub(crate) fn named(column: &str) -> impl Fn(&mut Statement) + '_ {
    move |statement: &mut Statement| {
        statement.push(column);
    }
}
