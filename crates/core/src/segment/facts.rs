//! What the one-contact evaluator knows about a contact: its attributes, tags, lists and the
//! timeline of what it did. The store fills it; nothing here reads anything.

use std::collections::{BTreeMap, BTreeSet};

use crate::device::Device;
use crate::ids::{CampaignId, FormId, ListId, ScoreModelId, TagId};
use crate::list::ListStatus;
use crate::time::Timestamp;

/// One contact, as a segment sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactFacts {
    /// The email address.
    pub email: String,
    /// The first name, possibly empty.
    pub first_name: String,
    /// The last name, possibly empty.
    pub last_name: String,
    /// The phone, possibly empty.
    pub phone: String,
    /// When the contact was created.
    pub created_at: Timestamp,
    /// Custom field values by the field's personalization tag (`COMPANY`); an absent field is
    /// empty.
    pub fields: BTreeMap<String, String>,
    /// The tags the contact carries.
    pub tags: BTreeSet<TagId>,
    /// The contact's status on each list it is on.
    pub lists: BTreeMap<ListId, ListStatus>,
    /// The contact's score in each scoring model it has points in (0 in the others).
    pub scores: BTreeMap<ScoreModelId, i64>,
    /// Page visits, in any order.
    pub page_visits: Vec<PageVisit>,
    /// Custom events, in any order.
    pub events: Vec<RecordedEvent>,
    /// Email sends, opens, clicks, unsubscribes and bounces, in any order.
    pub emails: Vec<EmailActivity>,
    /// Form submissions, in any order.
    pub form_submissions: Vec<FormSubmission>,
}

impl ContactFacts {
    /// A contact created at `created_at` with no attributes and no activity.
    pub fn created(created_at: Timestamp) -> Self {
        Self {
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            phone: String::new(),
            created_at,
            fields: BTreeMap::new(),
            tags: BTreeSet::new(),
            lists: BTreeMap::new(),
            scores: BTreeMap::new(),
            page_visits: Vec::new(),
            events: Vec::new(),
            emails: Vec::new(),
            form_submissions: Vec::new(),
        }
    }
}

impl ContactFacts {
    /// The contact's score in `model`: 0 without any points.
    pub fn score(&self, model: ScoreModelId) -> i64 {
        self.scores.get(&model).copied().unwrap_or(0)
    }
}

/// One page view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageVisit {
    /// The page's whole URL.
    pub url: String,
    /// The page's domain (lower case, no `www.`).
    pub domain: String,
    /// The referrer's whole URL.
    pub referrer: Option<String>,
    /// The referrer's domain.
    pub referrer_domain: Option<String>,
    /// The device.
    pub device: Option<Device>,
    /// Whether this page view started a site visit.
    pub starts_visit: bool,
    /// When.
    pub at: Timestamp,
}

/// One custom event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Its name.
    pub name: String,
    /// Its data.
    pub data: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// What happened with a campaign's email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailAction {
    /// It was sent to the contact.
    Sent,
    /// The contact opened it.
    Opened,
    /// The contact clicked one of its links.
    Clicked,
    /// The contact unsubscribed through it.
    Unsubscribed,
    /// It bounced.
    Bounced,
}

/// One thing that happened with a campaign's email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailActivity {
    /// What happened.
    pub action: EmailAction,
    /// The campaign, when known.
    pub campaign: Option<CampaignId>,
    /// For a click, the link's URL.
    pub link: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// One form submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormSubmission {
    /// The form.
    pub form: FormId,
    /// When.
    pub at: Timestamp,
}
