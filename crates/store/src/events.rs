//! The timeline: recording events in groups (one transaction for many requests), identifying
//! visitors, reading a contact's or an account's events, and expiring anonymous data.
//!
//! Recording a group costs a handful of statements whatever its size: one read of the visitors
//! it names, one multi-row upsert of their state, one multi-row insert of the events, and one
//! update per newly identified visitor (its earlier anonymous events become the contact's).

use std::collections::{BTreeMap, HashSet};

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tracklane_core::device::Device;
use tracklane_core::event::{EventKind, EventSource, NewEvent, TrackedEvent};
use tracklane_core::ids::{AccountId, ContactId, EventId};
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;
use tracklane_core::visit::starts_visit;

use crate::link_clicks::count_link_hits;
use crate::listing::{owned_row, page_of, Listed};
use crate::sql::{Statement, Value};
use crate::webhooks::changes::{record_changes, Change};
use crate::webhooks::timeline::timeline_change;
use crate::writes::Written;
use crate::{Engine, Model, Store, StoreError};

/// Rows per multi-row statement (16 binds a row stays well under both engines' limits).
const ROWS_PER_STATEMENT: usize = 400;

/// The columns [`tracked_event`] reads.
pub(crate) const EVENT_COLUMNS: &str =
    "id, kind, name, contact_id, visitor_key, url, domain, path, \
     referrer, referrer_domain, title, device, data, starts_visit, occurred_at";

/// Reads an event row of [`EVENT_COLUMNS`].
pub(crate) fn tracked_event(row: &AnyRow) -> Result<TrackedEvent, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let device: Option<String> = row.try_get("device")?;
    Ok(TrackedEvent {
        id: EventId(row.try_get("id")?),
        kind: EventKind::parse(&kind),
        name: row.try_get("name")?,
        contact: row.try_get::<Option<i64>, _>("contact_id")?.map(ContactId),
        visitor: row.try_get("visitor_key")?,
        url: row.try_get("url")?,
        domain: row.try_get("domain")?,
        path: row.try_get("path")?,
        referrer: row.try_get("referrer")?,
        referrer_domain: row.try_get("referrer_domain")?,
        title: row.try_get("title")?,
        device: device.as_deref().and_then(Device::parse),
        data: row.try_get("data")?,
        starts_visit: row.try_get::<i64, _>("starts_visit")? != 0,
        occurred_at: Timestamp(row.try_get("occurred_at")?),
    })
}

/// What the store knows of one visitor while it records a group.
#[derive(Debug, Clone, Copy)]
struct VisitorState {
    contact: Option<ContactId>,
    last_page_at: Option<Timestamp>,
    last_seen_at: Timestamp,
}

/// Which events of an account's timeline to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventQuery {
    /// Only this contact's.
    pub contact: Option<ContactId>,
    /// Only events at or after this time.
    pub after: Option<Timestamp>,
}

impl Store {
    /// Records a group of events in one transaction: all of them, or none when it fails.
    /// Events whose `message_id` was recorded before are skipped.
    pub async fn record_events(
        &self,
        events: &[NewEvent],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        self.write(async |tx| {
            record_events_in(self.engine, tx, events, now).await?;
            Ok(())
        })
        .await
    }

    /// Records that `visitor` is `contact` from now on; the visitor's earlier anonymous events
    /// become the contact's.
    pub async fn identify_visitor(
        &self,
        account: AccountId,
        visitor: &str,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(async |tx| {
            identify_in(tx, account, visitor, contact, now).await?;
            Ok(())
        })
        .await
    }

    /// The contact a visitor is known to be.
    pub async fn visitor_contact(
        &self,
        account: AccountId,
        visitor: &str,
    ) -> Result<Option<ContactId>, StoreError> {
        let row = sqlx::query(
            "SELECT contact_id FROM visitors WHERE account_id = $1 AND visitor_key = $2",
        )
        .bind(account.0)
        .bind(visitor)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row
            .map(|row| row.try_get::<Option<i64>, _>("contact_id"))
            .transpose()?
            .flatten()
            .map(ContactId))
    }

    /// One page of events, newest first.
    pub async fn events(
        &self,
        account: AccountId,
        query: EventQuery,
        page: Page,
    ) -> Result<Listed<TrackedEvent>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM events WHERE account_id = ");
        filter.push_bind(account.0);
        if let Some(contact) = query.contact {
            filter.and(" AND contact_id = ", contact.0);
        }
        if let Some(after) = query.after {
            filter.and(" AND occurred_at >= ", after.0);
        }
        let order = "occurred_at DESC, id DESC";
        page_of(
            &self.reader,
            EVENT_COLUMNS,
            &filter,
            order,
            page,
            tracked_event,
        )
        .await
    }

    /// The event with this id, or [`StoreError::NotFound`].
    pub async fn existing_event(
        &self,
        account: AccountId,
        id: EventId,
    ) -> Result<TrackedEvent, StoreError> {
        let key = (Model::Event, account, id.0);
        owned_row(&self.reader, "events", EVENT_COLUMNS, key, tracked_event).await
    }

    /// Deletes the events never tied to a contact that arrived before `cutoff`, and the
    /// anonymous visitors last seen before it. Returns how many events went.
    pub async fn expire_anonymous(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        // Most hours nothing has expired: the check is a read, so the writer is not taken (and
        // the writes' health is not touched) for nothing.
        let expired: Option<i64> = sqlx::query_scalar(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM events WHERE contact_id IS NULL \
             AND received_at < $1) OR EXISTS (SELECT 1 FROM visitors WHERE contact_id IS NULL \
             AND last_seen_at < $1)",
        )
        .bind(cutoff.0)
        .fetch_optional(&self.reader)
        .await?;
        if expired.is_none() {
            return Ok(0);
        }
        let events =
            sqlx::query("DELETE FROM events WHERE contact_id IS NULL AND received_at < $1")
                .bind(cutoff.0)
                .execute(&self.writer)
                .written(self)
                .await?
                .rows_affected();
        sqlx::query("DELETE FROM visitors WHERE contact_id IS NULL AND last_seen_at < $1")
            .bind(cutoff.0)
            .execute(&self.writer)
            .written(self)
            .await?;
        Ok(events)
    }
}

/// Records on `conn` that `visitor` is `contact` from now on, and gives it the visitor's earlier
/// anonymous events.
pub(crate) async fn identify_in(
    conn: &mut AnyConnection,
    account: AccountId,
    visitor: &str,
    contact: ContactId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO visitors (account_id, visitor_key, contact_id, first_seen_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (account_id, visitor_key) DO UPDATE \
         SET contact_id = excluded.contact_id, last_seen_at = excluded.last_seen_at",
    )
    .bind(account.0)
    .bind(visitor)
    .bind(contact.0)
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    adopt_anonymous_events(conn, account, visitor, contact).await
}

/// Records `events` in the caller's transaction (see [`Store::record_events`]).
pub(crate) async fn record_events_in(
    engine: Engine,
    tx: &mut AnyConnection,
    events: &[NewEvent],
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut visitors = load_visitors(engine, &mut *tx, events).await?;
    let mut identified = BTreeMap::new();
    let mut seen_message_ids = HashSet::new();
    let mut rows = Vec::with_capacity(events.len());
    let mut heard = Vec::new();
    for event in events {
        if let Some(id) = &event.message_id {
            if !seen_message_ids.insert((event.account, id.as_str())) {
                continue;
            }
        }
        let mut contact = event.contact;
        let mut visit_start = false;
        if let Some(key) = &event.visitor {
            let state = visitors
                .entry((event.account, key.clone()))
                .or_insert(VisitorState {
                    contact: None,
                    last_page_at: None,
                    last_seen_at: event.occurred_at,
                });
            if let Some(who) = event.contact {
                if state.contact != Some(who) {
                    identified.insert((event.account, key.clone()), who);
                }
                state.contact = Some(who);
            }
            contact = state.contact;
            if event.kind == EventKind::PageVisit {
                visit_start = starts_visit(state.last_page_at, event.occurred_at);
                state.last_page_at = state.last_page_at.max(Some(event.occurred_at));
            }
            state.last_seen_at = state.last_seen_at.max(event.occurred_at);
        }
        rows.push((contact, event_row(event, contact, visit_start, now)));
        heard.extend(timeline_change(event, contact));
    }
    save_visitors(engine, &mut *tx, &visitors).await?;
    // In contact order: the rows' triggers queue their contacts for segment checks, and two
    // transactions that lock queue rows in one order never wait on each other.
    rows.sort_by_key(|(contact, _)| *contact);
    let rows = rows.into_iter().map(|(_, row)| row).collect();
    let with_ids = events.iter().any(|event| event.message_id.is_some());
    let inserted = insert_events(engine, &mut *tx, rows, with_ids).await?;
    // A message recorded before (a retried batch) is not reported again.
    heard.retain(|(change, message_id)| {
        message_id.is_none_or(|id| inserted.contains(&(change.account.0, id.to_owned())))
    });
    let heard: Vec<Change> = heard.into_iter().map(|(change, _)| change).collect();
    record_changes(&mut *tx, engine, &heard).await?;
    for ((account, key), contact) in &identified {
        adopt_anonymous_events(&mut *tx, *account, key, *contact).await?;
    }
    mark_sites_visited(&mut *tx, events).await?;
    count_link_hits(engine, &mut *tx, events).await?;
    Ok(())
}

/// Gives the visitor's anonymous events to the contact it turned out to be.
async fn adopt_anonymous_events(
    conn: &mut AnyConnection,
    account: AccountId,
    visitor: &str,
    contact: ContactId,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE events SET contact_id = $1 \
         WHERE account_id = $2 AND visitor_key = $3 AND contact_id IS NULL",
    )
    .bind(contact.0)
    .bind(account.0)
    .bind(visitor)
    .execute(conn)
    .await?;
    Ok(())
}

/// Reads the state of every visitor the group names.
async fn load_visitors(
    engine: Engine,
    conn: &mut AnyConnection,
    events: &[NewEvent],
) -> Result<BTreeMap<(AccountId, String), VisitorState>, StoreError> {
    let mut keys: BTreeMap<AccountId, Vec<&str>> = BTreeMap::new();
    for event in events {
        if let Some(key) = &event.visitor {
            keys.entry(event.account).or_default().push(key);
        }
    }
    let mut visitors = BTreeMap::new();
    for (account, mut keys) in keys {
        keys.sort_unstable();
        keys.dedup();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let mut select = Statement::new(
                engine,
                "SELECT visitor_key, contact_id, last_page_at, last_seen_at FROM visitors \
                 WHERE account_id = ",
            );
            select.push_bind(account.0).push(" AND visitor_key IN ");
            select.push_row(chunk.iter().map(|key| Value::from(*key)));
            for row in select.query().fetch_all(&mut *conn).await? {
                let state = VisitorState {
                    contact: row.try_get::<Option<i64>, _>("contact_id")?.map(ContactId),
                    last_page_at: row
                        .try_get::<Option<i64>, _>("last_page_at")?
                        .map(Timestamp),
                    last_seen_at: Timestamp(row.try_get("last_seen_at")?),
                };
                visitors.insert((account, row.try_get("visitor_key")?), state);
            }
        }
    }
    Ok(visitors)
}

/// Writes the visitors' new state, creating the new ones.
async fn save_visitors(
    engine: Engine,
    conn: &mut AnyConnection,
    visitors: &BTreeMap<(AccountId, String), VisitorState>,
) -> Result<(), StoreError> {
    let all: Vec<_> = visitors.iter().collect();
    for chunk in all.chunks(ROWS_PER_STATEMENT) {
        let mut upsert = Statement::new(
            engine,
            "INSERT INTO visitors (account_id, visitor_key, contact_id, last_page_at, \
             first_seen_at, last_seen_at) VALUES ",
        );
        upsert.push_rows(chunk.iter().map(|((account, key), state)| {
            [
                Value::from(account.0),
                Value::from(key.as_str()),
                Value::from(state.contact.map(|c| c.0)),
                Value::from(state.last_page_at.map(|t| t.0)),
                Value::from(state.last_seen_at.0),
                Value::from(state.last_seen_at.0),
            ]
        }));
        upsert.push(
            " ON CONFLICT (account_id, visitor_key) DO UPDATE SET \
             contact_id = COALESCE(excluded.contact_id, visitors.contact_id), \
             last_page_at = excluded.last_page_at, last_seen_at = excluded.last_seen_at",
        );
        upsert.query().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The columns of a new event row, in [`event_row`]'s order.
const NEW_EVENT_COLUMNS: &str = "account_id, kind, name, contact_id, visitor_key, url, domain, \
     path, referrer, referrer_domain, title, device, data, message_id, starts_visit, \
     occurred_at, received_at, campaign_id, form_id, by_machine";

fn event_row(
    event: &NewEvent,
    contact: Option<ContactId>,
    starts_visit: bool,
    now: Timestamp,
) -> Vec<Value> {
    let page = event.page.as_ref();
    let referrer = event.referrer.as_ref();
    let (campaign, form) = match event.source {
        Some(EventSource::Campaign(campaign)) => (Some(campaign), None),
        Some(EventSource::Form(form)) => (None, Some(form)),
        None => (event.link.map(|hit| hit.campaign), None),
    };
    vec![
        Value::from(event.account.0),
        Value::from(event.kind.as_str()),
        Value::from(event.name.as_str()),
        Value::from(contact.map(|c| c.0)),
        Value::from(event.visitor.clone()),
        Value::from(page.map(|p| p.url.clone())),
        Value::from(page.map(|p| p.domain.clone())),
        Value::from(page.map(|p| p.path.clone())),
        Value::from(referrer.map(|r| r.url.clone())),
        Value::from(referrer.map(|r| r.domain.clone())),
        Value::from(event.title.clone()),
        Value::from(event.device.map(|d| d.as_str().to_owned())),
        Value::from(event.data.clone()),
        Value::from(event.message_id.clone()),
        Value::from(i64::from(starts_visit)),
        Value::from(event.occurred_at.0),
        Value::from(now.0),
        Value::from(campaign.map(|c| c.0)),
        Value::from(form.map(|f| f.0)),
        Value::from(i64::from(
            event.link.is_some_and(|hit| hit.machine.is_some()),
        )),
    ]
}

/// Inserts event rows, skipping those whose `message_id` the account already recorded.
/// Inserts the rows; when `with_ids`, answers the (account, message id) of those inserted
/// (a message id recorded before is skipped).
async fn insert_events(
    engine: Engine,
    conn: &mut AnyConnection,
    rows: Vec<Vec<Value>>,
    with_ids: bool,
) -> Result<HashSet<(i64, String)>, StoreError> {
    let mut inserted = HashSet::new();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Statement::new(
            engine,
            &format!("INSERT INTO events ({NEW_EVENT_COLUMNS}) VALUES "),
        );
        insert.push_rows(chunk.iter().map(|row| row.iter().cloned()));
        insert
            .push(" ON CONFLICT (account_id, message_id) WHERE message_id IS NOT NULL DO NOTHING");
        if !with_ids {
            insert.query().execute(&mut *conn).await?;
            continue;
        }
        insert.push(" RETURNING account_id, message_id");
        for row in insert.query().fetch_all(&mut *conn).await? {
            if let Some(id) = row.try_get::<Option<String>, _>("message_id")? {
                inserted.insert((row.try_get("account_id")?, id));
            }
        }
    }
    Ok(inserted)
}

async fn mark_sites_visited(
    conn: &mut AnyConnection,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let mut latest: BTreeMap<(AccountId, &str), Timestamp> = BTreeMap::new();
    for event in events {
        if let Some(site) = &event.site {
            let at = latest
                .entry((event.account, site))
                .or_insert(event.occurred_at);
            *at = (*at).max(event.occurred_at);
        }
    }
    for ((account, site), at) in latest {
        sqlx::query(
            "UPDATE site_domains SET last_visit_at = $1 WHERE account_id = $2 AND name = $3 \
             AND (last_visit_at IS NULL OR last_visit_at < $1)",
        )
        .bind(at.0)
        .bind(account.0)
        .bind(site)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
