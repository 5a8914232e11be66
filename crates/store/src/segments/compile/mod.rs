//! A segment definition compiled into one SQL condition over `contacts c` of an account: groups
//! become `AND` / `OR` / `NOT`, contact conditions tests on the contact's row and field values
//! ([`fields`]), and behavioral conditions sets of contacts read from the activity counters
//! ([`activity`]) where they answer exactly, else counts of the contact's timeline rows inside
//! their window. Every value is a bound parameter. The meaning is core's one-contact
//! evaluator's ([`tracklane_core::segment::evaluate`]), condition for condition.

use tracklane_core::event::EventKind;
use tracklane_core::ids::AccountId;
use tracklane_core::invalid::Invalid;
use tracklane_core::list::ListStatus;
use tracklane_core::segment::condition::{
    Count, EmailCondition, EventCondition, ListCondition, ListMembership, PageCondition, TextMatch,
    Window,
};
use tracklane_core::segment::Condition;
use tracklane_core::time::Timestamp;

use crate::sends::SendStatus;

mod activity;
mod fields;

use crate::sql::{Statement, TextTest};
use crate::StoreError;
use activity::{counters, terms, Counters, Keys, EMPTY_SLOT, SLOTS};

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
            Condition::Visited(page) => self.pages(page, PageColumns::VISITED),
            Condition::ReferredFrom(page) => self.pages(page, PageColumns::REFERRER),
            Condition::VisitedFrom(device) => self.behavior(
                Some(Counters {
                    kind: counters::DEVICE,
                    keys: Keys::Terms {
                        kind: terms::DEVICE,
                        text: Some(TextTest::Equals(device.device.as_str())),
                        domain: None,
                    },
                }),
                Rows::Timeline(EventKind::PageVisit),
                |rows| {
                    rows.and(" AND e.device = ", device.device.as_str());
                },
                (device.count, device.within),
            ),
            Condition::PageVisits(total) => self.behavior(
                Some(Counters::total(counters::PAGE_VISITS)),
                Rows::Timeline(EventKind::PageVisit),
                |_| {},
                (Some(total.count), total.within),
            ),
            Condition::SiteVisits(total) => self.behavior(
                Some(Counters::total(counters::SITE_VISITS)),
                Rows::Timeline(EventKind::PageVisit),
                |rows| {
                    rows.push(" AND e.starts_visit = 1");
                },
                (Some(total.count), total.within),
            ),
            Condition::Event(event) => self.event(event),
            Condition::Score(_) => Err(not_yet("score")),
            Condition::Sent(email) => self.email(None, Rows::Sent, email),
            Condition::Opened(email) => {
                let counters = match (email.campaign, &email.link) {
                    (_, Some(_)) => None,
                    (campaign, None) => Some(Counters::by_campaign(counters::OPENS, campaign)),
                };
                self.email(counters, Rows::Timeline(EventKind::Open), email)
            }
            Condition::Clicked(email) => {
                let counters = match (email.campaign, &email.link) {
                    (Some(_), Some(_)) => None,
                    (None, Some(link)) => Some(Counters {
                        kind: counters::CLICKS_BY_LINK,
                        keys: Keys::Terms {
                            kind: terms::LINK,
                            text: Some(text_test(link)),
                            domain: None,
                        },
                    }),
                    (campaign, None) => Some(Counters::by_campaign(counters::CLICKS, campaign)),
                };
                self.email(counters, Rows::Timeline(EventKind::Click), email)
            }
            Condition::Unsubscribed(email) => {
                self.email(None, Rows::Timeline(EventKind::Unsubscribe), email)
            }
            Condition::Bounced(email) => self.email(None, Rows::Timeline(EventKind::Bounce), email),
            Condition::SubmittedForm(form) => self.behavior(
                Some(Counters {
                    kind: counters::FORMS,
                    keys: form.form.map_or(Keys::Any, |id| Keys::One(id.0)),
                }),
                Rows::Timeline(EventKind::FormSubmit),
                |rows| {
                    if let Some(id) = form.form {
                        rows.and(" AND e.form_id = ", id.0);
                    }
                },
                (form.count, form.within),
            ),
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

    fn pages(&mut self, page: &PageCondition, columns: PageColumns) -> Result<(), StoreError> {
        let counters = match (&page.url, &page.domain) {
            (None, None) => columns.every,
            (url, domain) => Counters {
                kind: columns.counters,
                keys: Keys::Terms {
                    kind: columns.terms,
                    text: url.as_ref().map(text_test),
                    domain: domain.as_ref().map(text_test),
                },
            },
        };
        self.behavior(
            Some(counters),
            Rows::Timeline(EventKind::PageVisit),
            |rows| {
                if let Some(present) = columns.present {
                    rows.push(present);
                }
                for (test, column) in [(&page.url, columns.url), (&page.domain, columns.domain)] {
                    if let Some(test) = test {
                        rows.push(" AND ").push_column_test(column, text_test(test));
                    }
                }
            },
            (page.count, page.within),
        )
    }

    /// A campaign's email activity: sends, or people's opens, clicks (of a link whose URL
    /// matches), unsubscribes and bounces; a machine's hits are not counted.
    fn email(
        &mut self,
        counters: Option<Counters<'_>>,
        rows: Rows,
        email: &EmailCondition,
    ) -> Result<(), StoreError> {
        let alias = rows.alias();
        self.behavior(
            counters,
            rows,
            |statement| {
                if matches!(rows, Rows::Timeline(_)) {
                    statement.push(" AND e.by_machine = 0");
                }
                if let Some(campaign) = email.campaign {
                    statement.and(&format!(" AND {alias}.campaign_id = "), campaign.0);
                }
                if let Some(link) = &email.link {
                    statement
                        .push(" AND e.url IS NOT NULL AND ")
                        .push_column_test("e.url", text_test(link));
                }
            },
            (email.count, email.within),
        )
    }

    fn event(&mut self, event: &EventCondition) -> Result<(), StoreError> {
        // A test of the event's data reads the timeline.
        let counters = event.data.is_none().then(|| Counters {
            kind: counters::EVENTS,
            keys: Keys::Terms {
                kind: terms::EVENT_NAME,
                text: Some(TextTest::Equals(&event.name)),
                domain: None,
            },
        });
        self.behavior(
            counters,
            Rows::Timeline(EventKind::Custom),
            |rows| {
                rows.and(" AND e.name = ", event.name.as_str());
                if let Some(data) = &event.data {
                    rows.push(" AND e.data IS NOT NULL AND ")
                        .push_column_test("e.data", text_test(data));
                }
            },
            (event.count, event.within),
        )
    }

    /// A behavioral condition: how many of the contact's `rows` that `filter` keeps fall in
    /// the window, compared with the count (at least one when absent). Read from the activity
    /// counters when they answer it exactly (see [`Counters`]), else from the rows.
    fn behavior(
        &mut self,
        counters: Option<Counters<'_>>,
        rows: Rows,
        filter: impl FnOnce(&mut Statement),
        (count, window): (Option<Count>, Option<Window>),
    ) -> Result<(), StoreError> {
        let count = count.unwrap_or(Count::AtLeast(1));
        if let Count::AtLeast(n) = count {
            if n <= 0 {
                self.statement.push("1 = 1");
                return Ok(());
            }
        }
        let Some(counters) = counters else {
            self.counted(rows, "c.id", filter, (count, window));
            return Ok(());
        };
        match (window, window.and_then(Window::span_micros), count) {
            (None, _, count) => self.counted_ever(&counters, count),
            (Some(_), Some(span), Count::AtLeast(n)) => {
                let since = self.now.0.saturating_sub(span).max(EMPTY_SLOT + 1);
                if n <= SLOTS {
                    self.statement.push("c.id IN (");
                    self.recent(&counters, since, n);
                    // A slot taken by a row dated after now hides one inside the window.
                    self.statement.push(" OR (");
                    self.ambiguous(since);
                    self.statement.push(" AND ");
                    self.counted(rows, "a.contact_id", filter, (count, window));
                    self.statement.push("))");
                } else {
                    // Only contacts with a full window of slots can have more rows in it.
                    self.statement.push("(c.id IN (");
                    self.recent(&counters, since, SLOTS);
                    self.statement.push(" OR ");
                    self.ambiguous(since);
                    self.statement.push(") AND ");
                    self.counted(rows, "c.id", filter, (count, window));
                    self.statement.push(")");
                }
            }
            _ => self.counted(rows, "c.id", filter, (count, window)),
        }
        Ok(())
    }

    /// The `contact` rows (a column naming the contact) that `filter` keeps, inside the
    /// window, compared with the count.
    fn counted(
        &mut self,
        rows: Rows,
        contact: &str,
        filter: impl FnOnce(&mut Statement),
        (count, window): (Count, Option<Window>),
    ) {
        let exists = count == Count::AtLeast(1);
        self.statement.push(if exists {
            "EXISTS (SELECT 1"
        } else {
            "(SELECT COUNT(*)"
        });
        let time = match rows {
            Rows::Timeline(kind) => {
                self.statement
                    .and(" FROM events e WHERE e.account_id = ", self.account.0)
                    .push(&format!(" AND e.contact_id = {contact}"))
                    .and(" AND e.kind = ", kind.as_str());
                "e.occurred_at"
            }
            Rows::Sent => {
                self.statement
                    .and(" FROM sends s WHERE s.account_id = ", self.account.0)
                    .push(&format!(" AND s.contact_id = {contact}"))
                    .and(" AND s.status = ", SendStatus::Sent as i64);
                "COALESCE(s.sent_at, 0)"
            }
        };
        filter(self.statement);
        self.window(&named(time), window);
        self.statement.push(")");
        if !exists {
            let (operator, number) = match count {
                Count::AtLeast(n) => (" >= ", n),
                Count::Exactly(n) => (" = ", n),
                Count::AtMost(n) => (" <= ", n),
            };
            self.statement.and(operator, number);
        }
    }

    /// Appends ` AND` bounds on the column that `column` appends for the window at `now`, as
    /// [`Window::holds`] reads it.
    fn window(&mut self, column: &dyn Fn(&mut Statement), window: Option<Window>) -> &mut Self {
        let Some(window) = window else {
            return self;
        };
        let (from, until) = match (window, window.span_micros()) {
            (Window::Between(between), _) => ((" >= ", between.from.0), (" < ", between.until.0)),
            (_, Some(span)) => (
                (" >= ", self.now.0.saturating_sub(span)),
                (" <= ", self.now.0),
            ),
            (_, None) => {
                self.statement.push(" AND 1 = 0");
                return self;
            }
        };
        for (operator, bound) in [from, until] {
            self.statement.push(" AND ");
            column(self.statement);
            self.statement.and(operator, bound);
        }
        self
    }
}

/// The rows a behavioral condition counts.
#[derive(Clone, Copy)]
enum Rows {
    /// The contact's timeline rows of one kind (`events e`).
    Timeline(EventKind),
    /// The campaign emails sent to the contact (`sends s`).
    Sent,
}

impl Rows {
    /// The alias the rows are read under.
    fn alias(self) -> &'static str {
        match self {
            Self::Timeline(_) => "e",
            Self::Sent => "s",
        }
    }
}

/// Which columns of a page view a page condition reads (the page's, or its referrer's), and
/// which counters and terms hold them.
#[derive(Clone, Copy)]
struct PageColumns {
    /// A test that the row has what the condition reads.
    present: Option<&'static str>,
    url: &'static str,
    domain: &'static str,
    /// The counters by URL term.
    counters: i64,
    /// The terms of those URLs.
    terms: i64,
    /// The counters of every such page view.
    every: Counters<'static>,
}

impl PageColumns {
    /// The page itself (an absent URL or domain reads as empty, as the facts and the terms
    /// read it).
    const VISITED: Self = Self {
        present: None,
        url: "COALESCE(e.url, '')",
        domain: "COALESCE(e.domain, '')",
        counters: counters::PAGES,
        terms: terms::PAGE,
        every: Counters::total(counters::PAGE_VISITS),
    };
    /// The page's referrer: only page views that have one.
    const REFERRER: Self = Self {
        present: Some(" AND e.referrer IS NOT NULL"),
        url: "e.referrer",
        domain: "e.referrer_domain",
        counters: counters::REFERRERS,
        terms: terms::REFERRER,
        every: Counters {
            kind: counters::REFERRERS,
            keys: Keys::Any,
        },
    };
}

/// Appends a column by its name.
fn named(column: &str) -> impl Fn(&mut Statement) + '_ {
    move |statement: &mut Statement| {
        statement.push(column);
    }
}

fn text_test(test: &TextMatch) -> TextTest<'_> {
    match test {
        TextMatch::Equals(text) => TextTest::Equals(text),
        TextMatch::Contains(text) => TextTest::Contains(text),
    }
}
