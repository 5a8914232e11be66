//! What kinds of change can alter a definition's answer for one contact. The membership worker
//! re-evaluates a contact's segments only when the change it was told of is one they read. The
//! bits are those the store's triggers write into `segment_checks.reasons`.

use std::convert::Infallible;
use std::ops::BitOr;

use crate::segment::check::walk;
use crate::segment::condition::{FieldTest, Window};
use crate::segment::Condition;

/// A set of kinds of change, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reads(pub i64);

impl Reads {
    /// Nothing.
    pub const NOTHING: Self = Self(0);
    /// The contact's own row: standard fields, the creation date.
    pub const CONTACT: Self = Self(1);
    /// The contact's tags.
    pub const TAGS: Self = Self(2);
    /// The contact's statuses on lists.
    pub const LISTS: Self = Self(4);
    /// The contact's custom field values.
    pub const FIELDS: Self = Self(8);
    /// The contact's page visits.
    pub const PAGE_VISITS: Self = Self(16);
    /// Email activity: sends, opens, clicks, unsubscribes, bounces.
    pub const EMAIL: Self = Self(32);
    /// Time passing: a window that ends now, or a date "within the last N days".
    pub const TIME: Self = Self(64);
    /// The contact's score.
    pub const SCORE: Self = Self(128);
    /// Form submissions.
    pub const FORMS: Self = Self(256);
    /// The contact's custom events.
    pub const EVENTS: Self = Self(512);
    /// Every kind: what a new contact may change.
    pub const EVERYTHING: Self = Self(1023);

    /// Every kind of change `root` reads.
    pub fn of(root: &Condition) -> Self {
        let mut reads = Self::NOTHING;
        let walked: Result<(), Infallible> = walk(root, "", 1, &mut |node, _, _| {
            reads = reads | Self::of_node(node);
            Ok(())
        });
        let Ok(()) = walked;
        reads
    }

    /// Whether the two sets share a kind.
    pub fn meets(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    fn of_node(node: &Condition) -> Self {
        let timed = |within: &Option<Window>| {
            if within.is_some() {
                Self::TIME
            } else {
                Self::NOTHING
            }
        };
        match node {
            Condition::All(_) | Condition::Any(_) | Condition::Not(_) => Self::NOTHING,
            Condition::Field(field) => {
                let row = if super::check::TEXT_FIELDS.contains(&field.name.as_str())
                    || field.name == super::check::CREATED_FIELD
                {
                    Self::CONTACT
                } else {
                    Self::FIELDS
                };
                match field.value {
                    FieldTest::Within(_) => row | Self::TIME,
                    _ => row,
                }
            }
            Condition::HasTag(_) => Self::TAGS,
            Condition::List(_) => Self::LISTS,
            Condition::Score(_) => Self::SCORE,
            Condition::Visited(page) | Condition::ReferredFrom(page) => {
                Self::PAGE_VISITS | timed(&page.within)
            }
            Condition::VisitedFrom(device) => Self::PAGE_VISITS | timed(&device.within),
            Condition::PageVisits(total) | Condition::SiteVisits(total) => {
                Self::PAGE_VISITS | timed(&total.within)
            }
            Condition::Event(event) => Self::EVENTS | timed(&event.within),
            Condition::Sent(email)
            | Condition::Opened(email)
            | Condition::Clicked(email)
            | Condition::Unsubscribed(email)
            | Condition::Bounced(email) => Self::EMAIL | timed(&email.within),
            Condition::SubmittedForm(form) => Self::FORMS | timed(&form.within),
        }
    }
}

impl BitOr for Reads {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::Definition;

    fn reads(json: &str) -> Reads {
        Reads::of(Definition::parse(json).unwrap().root())
    }

    #[test]
    fn a_definition_reads_what_its_conditions_read() {
        let pricing = reads(
            r#"{"all": [{"hasTag": 1}, {"not": {"visited": {"url": {"contains": "/p"},
                "within": {"days": 30}}}}]}"#,
        );
        assert_eq!(pricing, Reads::TAGS | Reads::PAGE_VISITS | Reads::TIME);
        assert!(!pricing.meets(Reads::LISTS | Reads::FIELDS | Reads::EVENTS));
        assert_eq!(reads(r#"{"event": {"name": "signup"}}"#), Reads::EVENTS);
        assert_eq!(
            reads(r#"{"field": {"name": "firstName", "value": {"equals": "A"}}}"#),
            Reads::CONTACT
        );
        assert_eq!(
            reads(r#"{"field": {"name": "PLAN", "value": {"equals": "A"}}}"#),
            Reads::FIELDS
        );
        assert_eq!(
            reads(r#"{"field": {"name": "created", "value": {"within": {"days": 7}}}}"#),
            Reads::CONTACT | Reads::TIME
        );
    }
}
