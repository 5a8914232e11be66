//! Contacts' facts for core's one-contact evaluator, read the way the set evaluator reads them:
//! custom fields by perstag (the oldest field first when two share one), page views and custom
//! events from the timeline, an absent page URL or domain as empty text, a machine's hits left
//! out.
//!
//! The live membership reads a round of contacts at once, and of their timelines only the rows
//! its definitions' conditions need: for each behavioral condition, its most recent matching
//! rows inside its window, as many as its count (one more for "exactly" and "at most"), and the
//! rows dated after now that will enter a moving window. A condition's answer depends on how
//! many of its rows are inside its window only up to that number, and rows leave a moving
//! window oldest first, so its answer now and at every later instant (and so its next change)
//! is the same as over the whole timeline. Rows that another condition brings in are real rows too: each condition
//! counts between its own needed rows and the whole timeline, where its answer is the same. A
//! contact with thousands of rows is read in a few dozen.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::any::AnyRow;
use sqlx::Row;
use tracklane_core::device::Device;
use tracklane_core::event::EventKind;
use tracklane_core::ids::{AccountId, CampaignId, ContactId, FormId, ListId, TagId};
use tracklane_core::list::ListStatus;
use tracklane_core::segment::condition::Window;
use tracklane_core::segment::facts::{
    EmailAction, EmailActivity, FormSubmission, PageVisit, RecordedEvent,
};
use tracklane_core::segment::{ContactFacts, Definition, Reads};
use tracklane_core::time::Timestamp;

use super::compile::{named, push_counters, push_window, Behavior, Rows};
use crate::rows::{self, CONTACT_COLUMNS};
use crate::sends::SendStatus;
use crate::sql::{Statement, Value};
use crate::{Engine, Store, StoreError};

/// How many contacts one statement reads.
const CHUNK: usize = 256;
/// The most conditions' rows one statement reads (SQLite allows 500 selects in a compound).
const SELECTS_MAX: usize = 200;

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
    /// [`Definition::matches`](tracklane_core::segment::Definition::matches). Not read yet:
    /// scores (there are none; 0).
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
        let ids = || contacts.iter().map(|contact| Value::from(contact.0));
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
                let needed = needed_rows(self.engine, account, contacts, definitions, now);
                parts.extend(needed.into_iter().map(|select| (Part::Timeline, select)));
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

/// The rows that one or more timeline conditions with the same filter need.
struct Needed<'a> {
    /// The filter (with a fixed window's bounds), which conditions are merged by.
    filter: Statement,
    /// The first condition with the filter.
    behavior: Behavior<'a>,
    /// How many of each contact's most recent rows.
    limit: i64,
    /// The earliest instant of a moving window; `None`: every row.
    since: Option<i64>,
    /// Whether a moving window needs the rows dated after now (and the recent rows stop at
    /// now).
    future: bool,
}

/// The statements of the rows that the timeline conditions of `definitions` need, one select
/// (in a `UNION ALL`) per distinct filter: the contacts' most recent rows it keeps (a fixed window's, or the widest moving window's, up to
/// the largest count), and the rows dated after now that a moving window needs. The most recent
/// rows of a wider window (or of every row) include those of a narrower one that ends now.
fn needed_rows(
    engine: Engine,
    account: AccountId,
    contacts: &[ContactId],
    definitions: &[&Definition],
    now: Timestamp,
) -> Vec<Statement> {
    let mut needed: Vec<Needed<'_>> = Vec::new();
    for leaf in definitions
        .iter()
        .flat_map(|definition| definition.leaves())
    {
        let Some(behavior) = Behavior::of(leaf).filter(|b| b.rows != Rows::Sent) else {
            continue;
        };
        let mut filter = Statement::new(engine, "");
        let time = behavior.push_rows(&mut filter, account);
        let (since, future) = match behavior.window {
            Some(fixed @ Window::Between(_)) => {
                push_window(&mut filter, &named(time), Some(fixed), now);
                (None, false)
            }
            Some(moving) => (
                moving.span_micros().map(|span| now.0.saturating_sub(span)),
                true,
            ),
            None => (None, false),
        };
        let limit = behavior.count.rows_needed();
        match needed.iter_mut().find(|known| known.filter == filter) {
            Some(known) => {
                known.limit = known.limit.max(limit);
                known.since = known.since.zip(since).map(|(a, b)| a.min(b));
                known.future |= future;
            }
            None => needed.push(Needed {
                filter,
                behavior,
                limit,
                since,
                future,
            }),
        }
    }
    needed
        .chunks(SELECTS_MAX)
        .map(|some| {
            let mut select = Statement::new(engine, "");
            let round = match engine {
                // The round's contacts are one text parameter, so that the statement's text is
                // the same from round to round and PostgreSQL can keep its plan.
                Engine::Postgres => {
                    let ids: Vec<String> = contacts.iter().map(|c| c.0.to_string()).collect();
                    select
                        .and(
                            "WITH round (id) AS (SELECT unnest(string_to_array(",
                            ids.join(","),
                        )
                        .push(", ',')::bigint[])) ");
                    Round::Named
                }
                Engine::Sqlite => Round::Listed(contacts),
            };
            for (i, rows) in some.iter().enumerate() {
                if i > 0 {
                    select.push(" UNION ALL ");
                }
                push_needed(&mut select, account, round, rows, now);
            }
            select
        })
        .collect()
}

/// How the selects of a round's rows name its contacts.
#[derive(Clone, Copy)]
enum Round<'a> {
    /// The statement's `round (id)` (PostgreSQL).
    Named,
    /// Each select lists them (SQLite).
    Listed(&'a [ContactId]),
}

impl Round<'_> {
    /// Appends `FROM` the contacts `c`.
    fn push_from(self, select: &mut Statement) {
        select.push(match self {
            Self::Named => " FROM round c",
            Self::Listed(_) => " FROM contacts c",
        });
    }

    /// Appends ` AND {column} IN` the contacts.
    fn push_in(self, select: &mut Statement, column: &str) {
        select.push(&format!(" AND {column} IN "));
        match self {
            Self::Named => {
                select.push("(SELECT id FROM round)");
            }
            Self::Listed(contacts) => {
                select.push_row(ids(contacts));
            }
        }
    }
}

/// The contacts' ids as bound values.
fn ids(contacts: &[ContactId]) -> impl Iterator<Item = Value> + '_ {
    contacts.iter().map(|contact| Value::from(contact.0))
}

/// Appends the selects of the rows of [`Needed`].
fn push_needed(
    select: &mut Statement,
    account: AccountId,
    round: Round<'_>,
    needed: &Needed<'_>,
    now: Timestamp,
) {
    let engine = select.engine();
    let behavior = &needed.behavior;
    select.push(select_timeline(engine, "r").sql());
    round.push_from(select);
    // Each contact's most recent rows, its index read backwards until the limit.
    select.push(match engine {
        Engine::Sqlite => " JOIN events r ON r.id IN (SELECT e.id",
        Engine::Postgres => " CROSS JOIN LATERAL (SELECT e.*",
    });
    let time = behavior.push_rows(select, account);
    select.push(" AND e.contact_id = c.id AND e.by_machine = 0");
    // PostgreSQL's statistics lag behind the newest rows, so that a recent window looks
    // nearly empty and the index by time looks best: walking the account's whole window for
    // each contact. Its window is tested on each row of the contact's, as an expression.
    let bounded = match engine {
        Engine::Sqlite => time.to_owned(),
        Engine::Postgres => format!("({time} + 0)"),
    };
    if let Some(fixed @ Window::Between(_)) = behavior.window {
        push_window(select, &named(&bounded), Some(fixed), now);
    }
    if let Some(since) = needed.since {
        select.and(&format!(" AND {bounded} >= "), since);
    }
    if needed.future {
        select.and(&format!(" AND {bounded} <= "), now.0);
    }
    select
        .push(&format!(" ORDER BY {time} DESC LIMIT "))
        .push_bind(needed.limit)
        .push(match engine {
            Engine::Sqlite => ")",
            Engine::Postgres => ") r",
        });
    select.push(" WHERE 1 = 1");
    if let Round::Listed(contacts) = round {
        select.push(" AND c.id IN ").push_row(ids(contacts));
    }
    if let Some(counters) = &behavior.counters {
        // Only contacts whose counters hold such a row, at or after the window's start: the
        // others have none to read, and a search for them would walk the contact's whole
        // timeline of that kind (a page never visited, a window with nothing in it).
        select.push(" AND EXISTS (");
        push_counters(select, account, counters);
        select.push(" AND a.contact_id = c.id");
        let from = match behavior.window {
            Some(Window::Between(between)) => Some(between.from.0),
            _ => needed.since,
        };
        if let Some(from) = from {
            select.and(" AND a.t1 >= ", from);
        }
        select.push(")");
    }
    if needed.future {
        // Rows dated after now enter the window later.
        let future = select_timeline(engine, "e");
        select.push(" UNION ALL ").push(future.sql());
        behavior.push_rows(select, account);
        select.push(" AND e.by_machine = 0");
        round.push_in(select, "e.contact_id");
        select.and(&format!(" AND {time} > "), now.0);
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
    }
    Ok(())
}
