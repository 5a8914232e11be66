//! Contacts' facts for core's one-contact evaluator, read the way the set evaluator reads them:
//! custom fields by perstag (the oldest field first when two share one), page views and custom
//! events from the timeline, an absent page URL or domain as empty text, a machine's hits left
//! out. The live membership reads a round of contacts at once, and of their timelines only the
//! rows its definitions' conditions need ([`needed`]).

mod needed;

use std::collections::{BTreeMap, BTreeSet};

use sqlx::any::AnyRow;
use sqlx::Row;
use tracklane_core::device::Device;
use tracklane_core::event::EventKind;
use tracklane_core::ids::{AccountId, CampaignId, ContactId, FormId, ListId, ScoreModelId, TagId};
use tracklane_core::list::ListStatus;
use tracklane_core::segment::facts::{
    EmailAction, EmailActivity, FormSubmission, PageVisit, RecordedEvent,
};
use tracklane_core::segment::{ContactFacts, Definition, Reads};
use tracklane_core::time::Timestamp;

use crate::rows::{self, CONTACT_COLUMNS};
use crate::send_status::SendStatus;
use crate::sql::Statement;
use crate::{Engine, Store, StoreError};

/// How many contacts one statement reads.
const CHUNK: usize = 256;

/// The timeline columns the facts read.
const TIMELINE_COLUMNS: [&str; 14] = [
    "id",
    "contact_id",
    "kind",
    "name",
    "url",
    "domain",
    "referrer",
    "referrer_domain",
    "device",
    "data",
    "starts_visit",
    "occurred_at",
    "campaign_id",
    "form_id",
];

/// `SELECT` of the timeline columns of the rows aliased `alias`.
fn select_timeline(engine: Engine, alias: &str) -> Statement {
    let columns: Vec<String> = TIMELINE_COLUMNS
        .iter()
        .map(|column| format!("{alias}.{column}"))
        .collect();
    Statement::new(engine, &format!("SELECT {}", columns.join(", ")))
}

/// Which timeline rows the facts hold.
#[derive(Clone, Copy)]
enum Timeline<'a> {
    /// Every row.
    Whole,
    /// The rows these definitions need at this instant (see the module's documentation).
    Needed(&'a [&'a Definition], Timestamp),
}

impl Store {
    /// The contact's attributes, custom fields, tags, lists, whole timeline (page views, custom
    /// events, people's opens, clicks, unsubscribes and bounces, form submissions) and the
    /// campaign emails sent to it, for
    /// [`Definition::matches`](tracklane_core::segment::Definition::matches), and its scores.
    pub async fn contact_facts(
        &self,
        account: AccountId,
        contact: ContactId,
    ) -> Result<ContactFacts, StoreError> {
        let mut facts = self
            .facts_of(account, &[contact], Reads::EVERYTHING, Timeline::Whole)
            .await?;
        facts.remove(&contact).ok_or(StoreError::NotFound {
            model: crate::Model::Contact,
            id: contact.0,
        })
    }

    /// The facts of the account's `contacts` that `definitions` read, with only the timeline
    /// rows they need at `now` (see the module's documentation): each definition answers the
    /// same over them as over [`Store::contact_facts`], now and as its windows move. Gone
    /// contacts are left out.
    pub async fn needed_facts(
        &self,
        account: AccountId,
        contacts: &[ContactId],
        definitions: &[&Definition],
        now: Timestamp,
    ) -> Result<BTreeMap<ContactId, ContactFacts>, StoreError> {
        let reads = definitions
            .iter()
            .fold(Reads::NOTHING, |reads, definition| {
                reads | definition.reads()
            });
        self.facts_of(account, contacts, reads, Timeline::Needed(definitions, now))
            .await
    }

    /// The facts of the account's `contacts`, [`CHUNK`] contacts at a time.
    async fn facts_of(
        &self,
        account: AccountId,
        contacts: &[ContactId],
        reads: Reads,
        timeline: Timeline<'_>,
    ) -> Result<BTreeMap<ContactId, ContactFacts>, StoreError> {
        let mut facts = BTreeMap::new();
        for chunk in contacts.chunks(CHUNK) {
            let mut found = self.facts_chunk(account, chunk, reads, timeline).await?;
            facts.append(&mut found);
        }
        Ok(facts)
    }

    /// Reads the parts of the facts, one statement each (the timeline's conditions share
    /// statements), and fills them in from the contacts' rows on.
    async fn facts_chunk(
        &self,
        account: AccountId,
        contacts: &[ContactId],
        reads: Reads,
        timeline: Timeline<'_>,
    ) -> Result<BTreeMap<ContactId, ContactFacts>, StoreError> {
        let ids = || needed::ids(contacts);
        let of_account = |sql: &str| {
            let mut select = Statement::new(self.engine, sql);
            select.push_bind(account.0);
            select
        };
        let reading = |sql: &str| {
            let mut select = Statement::new(self.engine, sql);
            select.push_row(ids());
            select
        };
        let mut contacts_read = of_account(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = "
        ));
        contacts_read.push(" AND id IN ").push_row(ids());
        let mut parts = vec![(Part::Contacts, contacts_read)];
        if reads.meets(Reads::FIELDS) {
            let mut select = reading(
                "SELECT fv.contact_id, f.perstag, fv.value FROM field_values fv \
                 JOIN fields f ON f.id = fv.field_id WHERE fv.contact_id IN ",
            );
            // The oldest field wins when two share a perstag.
            select.push(" ORDER BY f.id");
            parts.push((Part::Fields, select));
        }
        if reads.meets(Reads::TAGS) {
            let select =
                reading("SELECT contact_id, tag_id FROM contact_tags WHERE contact_id IN ");
            parts.push((Part::Tags, select));
        }
        if reads.meets(Reads::LISTS) {
            let select = reading(
                "SELECT contact_id, list_id, status FROM contact_lists WHERE contact_id IN ",
            );
            parts.push((Part::Lists, select));
        }
        if reads.meets(Reads::SCORE) {
            let select = reading(
                "SELECT contact_id, model_id, total FROM contact_scores WHERE contact_id IN ",
            );
            parts.push((Part::Scores, select));
        }
        if reads.meets(Reads::EMAIL) {
            let mut select = of_account(
                "SELECT contact_id, campaign_id, sent_at FROM sends WHERE account_id = ",
            );
            select
                .and(" AND status = ", SendStatus::Sent as i64)
                .push(" AND contact_id IN ")
                .push_row(ids());
            parts.push((Part::Sends, select));
        }
        // Statements from here on are the needed timeline's.
        let needed_from = parts.len();
        match timeline {
            Timeline::Whole
                if reads
                    .meets(Reads::PAGE_VISITS | Reads::EVENTS | Reads::EMAIL | Reads::FORMS) =>
            {
                let mut select = select_timeline(self.engine, "r");
                select
                    .and(" FROM events r WHERE r.account_id = ", account.0)
                    .push(" AND r.by_machine = 0 AND r.contact_id IN ")
                    .push_row(ids());
                parts.push((Part::Timeline, select));
            }
            Timeline::Whole => {}
            Timeline::Needed(definitions, now) => {
                let rows = needed::rows(self.engine, account, contacts, definitions, now);
                parts.extend(rows.into_iter().map(|select| (Part::Timeline, select)));
            }
        }
        let mut facts = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (i, (part, select)) in parts.iter().enumerate() {
            // Not kept prepared: a statement's text changes with the round's contacts, and a
            // plan made for any values (PostgreSQL's generic plan) would not see SQLite's
            // windows' bounds. But for PostgreSQL's needed timeline: it names the round's
            // contacts by one parameter and tests its windows as expressions, so its text and
            // its best plan stay the same from round to round (planning it afresh took 8 to 12
            // ms of each round's 14 ms of reading, in the bench at 500 events/s).
            let kept = matches!(timeline, Timeline::Needed(..))
                && self.engine == Engine::Postgres
                && i >= needed_from;
            let query = select.query().persistent(kept);
            for row in query.fetch_all(&self.reader).await? {
                if *part == Part::Contacts {
                    let contact = rows::contact(&row)?;
                    let mut one = ContactFacts::created(contact.created_at);
                    one.email = contact.email.as_str().to_owned();
                    one.first_name = contact.first_name;
                    one.last_name = contact.last_name;
                    one.phone = contact.phone;
                    facts.insert(contact.id, one);
                } else if let Some(one) = facts.get_mut(&ContactId(row.try_get("contact_id")?)) {
                    part.add(one, &row, &mut seen)?;
                }
            }
        }
        Ok(facts)
    }
}

/// A part of the facts, read by a statement of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Contacts,
    Fields,
    Tags,
    Lists,
    Scores,
    Sends,
    Timeline,
}

impl Part {
    /// Adds a row of the part (but the contacts') to its contact's facts; `seen` holds the
    /// timeline rows already added, since a row that two conditions need is counted once.
    fn add(
        self,
        facts: &mut ContactFacts,
        row: &AnyRow,
        seen: &mut BTreeSet<i64>,
    ) -> Result<(), StoreError> {
        match self {
            Self::Contacts => {}
            Self::Fields => {
                facts
                    .fields
                    .entry(row.try_get("perstag")?)
                    .or_insert(row.try_get("value")?);
            }
            Self::Tags => {
                facts.tags.insert(TagId(row.try_get("tag_id")?));
            }
            Self::Lists => {
                facts.lists.insert(
                    ListId(row.try_get("list_id")?),
                    ListStatus::from_code(row.try_get("status")?),
                );
            }
            Self::Scores => {
                facts.scores.insert(
                    ScoreModelId(row.try_get("model_id")?),
                    row.try_get("total")?,
                );
            }
            Self::Sends => facts.emails.push(EmailActivity {
                action: EmailAction::Sent,
                campaign: Some(CampaignId(row.try_get("campaign_id")?)),
                link: None,
                at: Timestamp(
                    row.try_get::<Option<i64>, _>("sent_at")?
                        .unwrap_or_default(),
                ),
            }),
            Self::Timeline => {
                if seen.insert(row.try_get::<i64, _>("id")?) {
                    add_timeline_row(facts, row)?;
                }
            }
        }
        Ok(())
    }
}

/// Adds a timeline row to the contact's facts: a page view, a custom event, people's email
/// activity or a form submission.
fn add_timeline_row(facts: &mut ContactFacts, row: &AnyRow) -> Result<(), StoreError> {
    let at = Timestamp(row.try_get("occurred_at")?);
    let kind = EventKind::parse(&row.try_get::<String, _>("kind")?);
    let campaign = row
        .try_get::<Option<i64>, _>("campaign_id")?
        .map(CampaignId);
    let email = |action| EmailActivity {
        action,
        campaign,
        link: None,
        at,
    };
    match kind {
        EventKind::Open => facts.emails.push(email(EmailAction::Opened)),
        EventKind::Unsubscribe => facts.emails.push(email(EmailAction::Unsubscribed)),
        EventKind::Bounce => facts.emails.push(email(EmailAction::Bounced)),
        EventKind::Click => facts.emails.push(EmailActivity {
            link: row.try_get("url")?,
            ..email(EmailAction::Clicked)
        }),
        EventKind::FormSubmit => {
            if let Some(form) = row.try_get::<Option<i64>, _>("form_id")? {
                facts.form_submissions.push(FormSubmission {
                    form: FormId(form),
                    at,
                });
            }
        }
        EventKind::PageVisit => {
            let device: Option<String> = row.try_get("device")?;
            facts.page_visits.push(PageVisit {
                url: row.try_get::<Option<String>, _>("url")?.unwrap_or_default(),
                domain: row
                    .try_get::<Option<String>, _>("domain")?
                    .unwrap_or_default(),
                referrer: row.try_get("referrer")?,
                referrer_domain: row.try_get("referrer_domain")?,
                device: device.as_deref().and_then(Device::parse),
                starts_visit: row.try_get::<i64, _>("starts_visit")? != 0,
                at,
            });
        }
        EventKind::Custom => facts.events.push(RecordedEvent {
            name: row.try_get("name")?,
            data: row.try_get("data")?,
            at,
        }),
        // A score change is read from the scores themselves; automation history is no
        // behavior.
        EventKind::ScoreChange | EventKind::Automation => {}
    }
    Ok(())
}
