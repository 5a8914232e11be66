//! A behavioral condition as the store reads it: the rows it counts (timeline rows of one kind,
//! or sends, that a filter keeps), the activity counters that hold them, and the count and
//! window they are compared with. The set evaluator compiles it; the round's facts read the
//! rows it needs from it.

use tracklane_core::event::EventKind;
use tracklane_core::ids::AccountId;
use tracklane_core::segment::condition::{
    Count, EmailCondition, EventCondition, PageCondition, TextMatch, Window,
};
use tracklane_core::segment::Condition;

use super::activity::{counters, terms, Counters, Keys};
use crate::send_status::SendStatus;
use crate::sql::{Statement, TextTest};

/// A behavioral condition's rows, counters, count and window.
pub(crate) struct Behavior<'a> {
    /// The activity counters that hold the rows, when some do.
    pub(crate) counters: Option<Counters<'a>>,
    /// The rows counted.
    pub(crate) rows: Rows,
    /// ` AND` tests that keep the rows counted.
    filter: Box<dyn Fn(&mut Statement) + 'a>,
    /// How many rows (at least one when the condition does not say).
    pub(crate) count: Count,
    /// Inside which window (all time when absent).
    pub(crate) window: Option<Window>,
}

/// The rows a behavioral condition counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// The contact's timeline rows of one kind (`events e`).
    Timeline(EventKind),
    /// The campaign emails sent to the contact (`sends s`).
    Sent,
}

impl Rows {
    /// The alias the rows are read under.
    pub(crate) fn alias(self) -> &'static str {
        match self {
            Self::Timeline(_) => "e",
            Self::Sent => "s",
        }
    }
}

impl<'a> Behavior<'a> {
    /// The behavioral condition `node` is; `None` for groups, contact conditions and scores.
    pub(crate) fn of(node: &'a Condition) -> Option<Self> {
        let page_visits = Rows::Timeline(EventKind::PageVisit);
        Some(match node {
            Condition::Visited(page) => pages(page, PageColumns::VISITED),
            Condition::ReferredFrom(page) => pages(page, PageColumns::REFERRER),
            Condition::VisitedFrom(device) => Self::new(
                Some(Counters {
                    kind: counters::DEVICE,
                    keys: Keys::Terms {
                        kind: terms::DEVICE,
                        text: Some(TextTest::Equals(device.device.as_str())),
                        domain: None,
                    },
                }),
                page_visits,
                |rows| {
                    rows.and(" AND e.device = ", device.device.as_str());
                },
                (device.count, device.within),
            ),
            Condition::PageVisits(total) => Self::new(
                Some(Counters::total(counters::PAGE_VISITS)),
                page_visits,
                |_| {},
                (Some(total.count), total.within),
            ),
            Condition::SiteVisits(total) => Self::new(
                Some(Counters::total(counters::SITE_VISITS)),
                page_visits,
                |rows| {
                    rows.push(" AND e.starts_visit = 1");
                },
                (Some(total.count), total.within),
            ),
            Condition::Event(event) => event_rows(event),
            Condition::Sent(email) => email_rows(None, Rows::Sent, email),
            Condition::Opened(email) => {
                let counters = match (email.campaign, &email.link) {
                    (_, Some(_)) => None,
                    (campaign, None) => Some(Counters::by_campaign(counters::OPENS, campaign)),
                };
                email_rows(counters, Rows::Timeline(EventKind::Open), email)
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
                email_rows(counters, Rows::Timeline(EventKind::Click), email)
            }
            Condition::Unsubscribed(email) => {
                email_rows(None, Rows::Timeline(EventKind::Unsubscribe), email)
            }
            Condition::Bounced(email) => email_rows(None, Rows::Timeline(EventKind::Bounce), email),
            Condition::SubmittedForm(form) => Self::new(
                Some(Counters {
                    kind: counters::FORMS,
                    keys: form.form.map_or(Keys::Any, |id| Keys::One(id.0)),
                }),
                Rows::Timeline(EventKind::FormSubmit),
                move |rows| {
                    if let Some(id) = form.form {
                        rows.and(" AND e.form_id = ", id.0);
                    }
                },
                (form.count, form.within),
            ),
            Condition::All(_)
            | Condition::Any(_)
            | Condition::Not(_)
            | Condition::Field(_)
            | Condition::HasTag(_)
            | Condition::List(_)
            | Condition::Score(_) => return None,
        })
    }

    fn new(
        counters: Option<Counters<'a>>,
        rows: Rows,
        filter: impl Fn(&mut Statement) + 'a,
        (count, window): (Option<Count>, Option<Window>),
    ) -> Self {
        Self {
            counters,
            rows,
            filter: Box::new(filter),
            count: count.unwrap_or(Count::AtLeast(1)),
            window,
        }
    }

    /// Appends ` FROM ... WHERE ...`: the account's rows (of every contact, in every window)
    /// that the condition counts; the caller adds the contact and the window. Returns the SQL
    /// of the rows' time.
    pub(crate) fn push_rows(&self, statement: &mut Statement, account: AccountId) -> &'static str {
        match self.rows {
            Rows::Timeline(_) => {
                statement.and(" FROM events e WHERE e.account_id = ", account.0);
                self.push_timeline_tests(statement);
                "e.occurred_at"
            }
            Rows::Sent => {
                statement
                    .and(" FROM sends s WHERE s.account_id = ", account.0)
                    .and(" AND s.status = ", SendStatus::Sent as i64);
                (self.filter)(statement);
                "COALESCE(s.sent_at, 0)"
            }
        }
    }

    /// Appends ` AND` the tests that keep a timeline condition's rows of `events e`: its kind
    /// and its filter. Nothing for sends.
    pub(crate) fn push_timeline_tests(&self, statement: &mut Statement) {
        if let Rows::Timeline(kind) = self.rows {
            // The kind is written out (one of a closed set of names), so that the planners can
            // use an index made for one kind (`events_site_visits`).
            statement.push(&format!(" AND e.kind = '{}'", kind.as_str()));
            (self.filter)(statement);
        }
    }
}

fn pages(page: &PageCondition, columns: PageColumns) -> Behavior<'_> {
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
    Behavior::new(
        Some(counters),
        Rows::Timeline(EventKind::PageVisit),
        move |rows| {
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
fn email_rows<'a>(
    counters: Option<Counters<'a>>,
    rows: Rows,
    email: &'a EmailCondition,
) -> Behavior<'a> {
    let alias = rows.alias();
    Behavior::new(
        counters,
        rows,
        move |statement| {
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

fn event_rows(event: &EventCondition) -> Behavior<'_> {
    // A test of the event's data reads the timeline.
    let counters = event.data.is_none().then(|| Counters {
        kind: counters::EVENTS,
        keys: Keys::Terms {
            kind: terms::EVENT_NAME,
            text: Some(TextTest::Equals(&event.name)),
            domain: None,
        },
    });
    Behavior::new(
        counters,
        Rows::Timeline(EventKind::Custom),
        move |rows| {
            rows.and(" AND e.name = ", event.name.as_str());
            if let Some(data) = &event.data {
                rows.push(" AND e.data IS NOT NULL AND ")
                    .push_column_test("e.data", text_test(data));
            }
        },
        (event.count, event.within),
    )
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

fn text_test(test: &TextMatch) -> TextTest<'_> {
    match test {
        TextMatch::Equals(text) => TextTest::Equals(text),
        TextMatch::Contains(text) => TextTest::Contains(text),
    }
}
