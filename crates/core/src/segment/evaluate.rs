//! The one-contact evaluator: whether a contact matches a condition now, and the next instant at
//! which that answer could change by itself as time windows move.
//!
//! Every leaf comes down to one of two answers: a fixed one (a tag, a list status, a text
//! test), or a count of rows (their instants) compared with a number, inside a window. Only
//! windows that end now ("the last N days") move, so only they make answers change by
//! themselves.

use crate::list::ListStatus;
use crate::segment::condition::{
    Count, EmailCondition, FieldCondition, FieldTest, ListMembership, PageCondition, TextMatch,
    Window,
};
use crate::segment::facts::{ContactFacts, EmailAction};
use crate::segment::Condition;
use crate::time::Timestamp;

const MICROS_PER_HOUR: i64 = 3_600 * 1_000_000;

impl Condition {
    /// Whether the contact matches at `now`. "Has not" conditions (`not` over a behavioral
    /// condition) match when no row matches, so a contact without any activity matches them.
    pub fn matches(&self, contact: &ContactFacts, now: Timestamp) -> bool {
        match self {
            Self::All(nodes) => nodes.iter().all(|node| node.matches(contact, now)),
            Self::Any(nodes) => nodes.iter().any(|node| node.matches(contact, now)),
            Self::Not(node) => !node.matches(contact, now),
            leaf => leaf.answer(contact).at(now),
        }
    }

    /// The earliest instant after `now` at which [`Condition::matches`] could answer otherwise
    /// with the same facts, as windows move (the oldest counted visit leaves a 30-day window, a
    /// date field's value enters "the last 7 days"); `None` when the answer stays as it is. Until
    /// that instant, the answer is the one at `now`.
    pub fn next_change(&self, contact: &ContactFacts, now: Timestamp) -> Option<Timestamp> {
        match self {
            Self::All(nodes) => group_change(nodes, contact, now, false),
            Self::Any(nodes) => group_change(nodes, contact, now, true),
            Self::Not(node) => node.next_change(contact, now),
            leaf => leaf.answer(contact).next_change(now),
        }
    }

    /// What a leaf condition says about the contact. Groups are evaluated by their callers.
    fn answer(&self, contact: &ContactFacts) -> Answer {
        let visits = contact.page_visits.iter();
        match self {
            Self::All(_) | Self::Any(_) | Self::Not(_) => {
                unreachable!("groups are evaluated node by node")
            }
            Self::Field(condition) => field_answer(condition, contact),
            Self::HasTag(tag) => Answer::Fixed(contact.tags.contains(tag)),
            Self::List(condition) => Answer::Fixed(
                contact.lists.get(&condition.id) == Some(&condition.status.list_status()),
            ),
            Self::Score(score) => Answer::Fixed(score.value.accepts(contact.score(score.model))),
            Self::Visited(page) => Answer::counted(
                visits
                    .filter(|visit| page.takes(Some(&visit.url), Some(&visit.domain)))
                    .map(|visit| visit.at),
                page.count,
                page.within,
            ),
            Self::ReferredFrom(page) => Answer::counted(
                visits
                    .filter(|visit| {
                        visit.referrer.is_some()
                            && page
                                .takes(visit.referrer.as_deref(), visit.referrer_domain.as_deref())
                    })
                    .map(|visit| visit.at),
                page.count,
                page.within,
            ),
            Self::VisitedFrom(condition) => Answer::counted(
                visits
                    .filter(|visit| visit.device == Some(condition.device))
                    .map(|visit| visit.at),
                condition.count,
                condition.within,
            ),
            Self::PageVisits(total) => Answer::counted(
                visits.map(|visit| visit.at),
                Some(total.count),
                total.within,
            ),
            Self::SiteVisits(total) => Answer::counted(
                visits
                    .filter(|visit| visit.starts_visit)
                    .map(|visit| visit.at),
                Some(total.count),
                total.within,
            ),
            Self::Event(event) => Answer::counted(
                contact
                    .events
                    .iter()
                    .filter(|recorded| {
                        recorded.name == event.name
                            && event.data.as_ref().is_none_or(|data| {
                                recorded
                                    .data
                                    .as_deref()
                                    .is_some_and(|text| data.accepts(text))
                            })
                    })
                    .map(|recorded| recorded.at),
                event.count,
                event.within,
            ),
            Self::Sent(email) => email_answer(contact, EmailAction::Sent, email),
            Self::Opened(email) => email_answer(contact, EmailAction::Opened, email),
            Self::Clicked(email) => email_answer(contact, EmailAction::Clicked, email),
            Self::Unsubscribed(email) => email_answer(contact, EmailAction::Unsubscribed, email),
            Self::Bounced(email) => email_answer(contact, EmailAction::Bounced, email),
            Self::SubmittedForm(form) => Answer::counted(
                contact
                    .form_submissions
                    .iter()
                    .filter(|submission| form.form.is_none_or(|id| submission.form == id))
                    .map(|submission| submission.at),
                form.count,
                form.within,
            ),
        }
    }
}

/// When a group's answer could next change: the earliest change of its nodes, unless one node
/// decides the group for good (a node that is false for good in `all`, true for good in `any`).
fn group_change(
    nodes: &[Condition],
    contact: &ContactFacts,
    now: Timestamp,
    deciding: bool,
) -> Option<Timestamp> {
    let mut earliest: Option<Timestamp> = None;
    for node in nodes {
        match node.next_change(contact, now) {
            None if node.matches(contact, now) == deciding => return None,
            None => {}
            Some(at) => earliest = Some(earliest.map_or(at, |known| known.min(at))),
        }
    }
    earliest
}

/// A leaf's answer.
enum Answer {
    /// The same at every instant.
    Fixed(bool),
    /// A number of rows, by their instants, compared with a count inside a window.
    Counted {
        times: Vec<Timestamp>,
        count: Count,
        window: Option<Window>,
    },
}

impl Answer {
    /// Rows compared with `count` (at least one when absent) inside `window` (all time when
    /// absent).
    fn counted(
        times: impl Iterator<Item = Timestamp>,
        count: Option<Count>,
        window: Option<Window>,
    ) -> Self {
        Self::Counted {
            times: times.collect(),
            count: count.unwrap_or(Count::AtLeast(1)),
            window,
        }
    }

    fn at(&self, now: Timestamp) -> bool {
        match self {
            Self::Fixed(answer) => *answer,
            Self::Counted {
                times,
                count,
                window,
            } => {
                let inside = times
                    .iter()
                    .filter(|at| window.is_none_or(|window| window.holds(**at, now)))
                    .count();
                count.accepts(i64::try_from(inside).unwrap_or(i64::MAX))
            }
        }
    }

    /// Rows enter a moving window at their instant and leave it `span + 1µs` later; the answer
    /// changes at the first instant where the number inside crosses the count.
    fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        let Self::Counted {
            times,
            count,
            window: Some(window),
        } = self
        else {
            return None;
        };
        let span = window.span_micros()?;
        let mut steps: Vec<(i64, i64)> = Vec::new();
        for at in times {
            if at.0 > now.0 {
                steps.push((at.0, 1));
            }
            let leaves = at.0.saturating_add(span).saturating_add(1);
            if leaves > now.0 {
                steps.push((leaves, -1));
            }
        }
        steps.sort_unstable();
        let answer = self.at(now);
        let mut inside = times.iter().filter(|at| window.holds(**at, now)).count() as i64;
        let mut steps = steps.into_iter().peekable();
        while let Some((instant, delta)) = steps.next() {
            inside += delta;
            while let Some((_, delta)) = steps.next_if(|(next, _)| *next == instant) {
                inside += delta;
            }
            if count.accepts(inside) != answer {
                return Some(Timestamp(instant));
            }
        }
        None
    }
}

impl Window {
    /// Whether an instant is inside the window at `now`.
    pub fn holds(self, at: Timestamp, now: Timestamp) -> bool {
        match (self, self.span_micros()) {
            (Self::Between(between), _) => between.from <= at && at < between.until,
            (_, Some(span)) => now.0.saturating_sub(span) <= at.0 && at <= now,
            (_, None) => false,
        }
    }

    /// How far back a window ending now reaches, in microseconds; `None` for fixed windows.
    pub fn span_micros(self) -> Option<i64> {
        match self {
            Self::Days(days) => Some(days.saturating_mul(24 * MICROS_PER_HOUR)),
            Self::Hours(hours) => Some(hours.saturating_mul(MICROS_PER_HOUR)),
            Self::Between(_) => None,
        }
    }
}

impl TextMatch {
    /// Whether a text passes the test (literally, case-sensitively).
    pub fn accepts(&self, text: &str) -> bool {
        match self {
            Self::Equals(wanted) => text == wanted,
            Self::Contains(part) => text.contains(part.as_str()),
        }
    }
}

impl PageCondition {
    /// Whether a page (or referrer), by its URL and domain, is the one asked for.
    fn takes(&self, url: Option<&str>, domain: Option<&str>) -> bool {
        let passes = |test: &Option<TextMatch>, text: Option<&str>| {
            test.as_ref()
                .is_none_or(|test| text.is_some_and(|text| test.accepts(text)))
        };
        passes(&self.url, url) && passes(&self.domain, domain)
    }
}

impl ListMembership {
    /// The stored status it names.
    pub fn list_status(self) -> ListStatus {
        match self {
            Self::Subscribed => ListStatus::Active,
            Self::Unsubscribed => ListStatus::Unsubscribed,
            Self::Bounced => ListStatus::Bounced,
            Self::Unconfirmed => ListStatus::Unconfirmed,
        }
    }
}

fn email_answer(contact: &ContactFacts, action: EmailAction, email: &EmailCondition) -> Answer {
    Answer::counted(
        contact
            .emails
            .iter()
            .filter(|activity| {
                activity.action == action
                    && email
                        .campaign
                        .is_none_or(|id| activity.campaign == Some(id))
                    && email.link.as_ref().is_none_or(|link| {
                        activity
                            .link
                            .as_deref()
                            .is_some_and(|url| link.accepts(url))
                    })
            })
            .map(|activity| activity.at),
        email.count,
        email.within,
    )
}

/// A field's text as number tests read it: a finite number, spaces around it ignored.
pub fn field_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A field's text as date tests read it (a date, a time, or RFC 3339, as the API takes them).
pub fn field_instant(text: &str) -> Option<Timestamp> {
    Timestamp::parse_api(text)
}

/// A field's value: text for every field but `created`, which is an instant.
enum Value<'a> {
    Text(&'a str),
    Instant(Timestamp),
}

fn field_answer(condition: &FieldCondition, contact: &ContactFacts) -> Answer {
    let value = match condition.name.as_str() {
        "email" => Value::Text(&contact.email),
        "firstName" => Value::Text(&contact.first_name),
        "lastName" => Value::Text(&contact.last_name),
        "phone" => Value::Text(&contact.phone),
        "created" => Value::Instant(contact.created_at),
        perstag => Value::Text(contact.fields.get(perstag).map_or("", String::as_str)),
    };
    let instant = match value {
        Value::Text(text) => field_instant(text),
        Value::Instant(at) => Some(at),
    };
    let text = match value {
        Value::Text(text) => text,
        Value::Instant(_) => return instant_answer(&condition.value, instant),
    };
    let number = field_number(text);
    Answer::Fixed(match &condition.value {
        FieldTest::Equals(wanted) => text == wanted,
        FieldTest::NotEquals(unwanted) => text != unwanted,
        FieldTest::Contains(part) => text.contains(part.as_str()),
        FieldTest::StartsWith(start) => text.starts_with(start.as_str()),
        FieldTest::IsEmpty => text.is_empty(),
        FieldTest::IsNotEmpty => !text.is_empty(),
        FieldTest::GreaterThan(bound) => number.is_some_and(|n| n > *bound),
        FieldTest::LessThan(bound) => number.is_some_and(|n| n < *bound),
        date_test => return instant_answer(date_test, instant),
    })
}

/// A date test on an instant (`None`: the value is not a date, and no date test passes).
fn instant_answer(test: &FieldTest, instant: Option<Timestamp>) -> Answer {
    match (test, instant) {
        (FieldTest::Within(window), _) => Answer::counted(instant.into_iter(), None, Some(*window)),
        (FieldTest::Before(bound), Some(at)) => Answer::Fixed(at < *bound),
        (FieldTest::After(bound), Some(at)) => Answer::Fixed(at > *bound),
        _ => Answer::Fixed(false),
    }
}
