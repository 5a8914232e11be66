//! The changes webhooks report: recorded in the transaction of the change itself when a
//! subscription of the account hears of its type, then turned by the webhook worker into one
//! delivery per subscription that hears of it (its type, its source, and its list when it names
//! one), each with its body rendered once, in one transaction that also deletes the changes.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, ContactId, ListId};
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::{WebhookEvent, WebhookSource};
use tracklane_core::webhook::payload::{PayloadChange, PayloadContact};
use tracklane_core::webhook::Webhook;

use super::{webhook, WEBHOOK_COLUMNS};
use crate::automations::entries::enter_by_changes;
use crate::sql::{Statement, Value};
use crate::{Engine, Store, StoreError};

/// The deliveries one dispatch makes before it leaves the next changes to the next one.
pub const DELIVERIES_AT_ONCE: usize = 500;

/// A change to report.
#[derive(Debug, Clone)]
pub struct Change {
    /// The account it happened in.
    pub account: AccountId,
    /// Its type.
    pub event: WebhookEvent,
    /// Who caused it.
    pub source: WebhookSource,
    /// The list it is of, if any.
    pub list: Option<ListId>,
    /// The contact it is about, if any.
    pub contact: Option<ContactId>,
    /// The tag or segment it is of, if any (what automations' triggers name).
    pub subject: Option<i64>,
    /// What else its payload says, with AC's keys.
    pub extra: Vec<(String, String)>,
    /// When it happened.
    pub at: Timestamp,
}

impl Change {
    /// A change of `account` at `at`, of no list or contact and saying nothing more yet.
    pub fn new(
        account: AccountId,
        event: WebhookEvent,
        source: WebhookSource,
        at: Timestamp,
    ) -> Self {
        Self {
            account,
            event,
            source,
            list: None,
            contact: None,
            subject: None,
            extra: Vec::new(),
            at,
        }
    }

    /// The same change, about `contact`.
    pub fn about(mut self, contact: ContactId) -> Self {
        self.contact = Some(contact);
        self
    }

    /// The same change, of `list`.
    pub fn of_list(mut self, list: Option<ListId>) -> Self {
        self.list = list;
        self
    }

    /// The same change, of the tag or segment `id`.
    pub fn of(mut self, id: i64) -> Self {
        self.subject = Some(id);
        self
    }

    /// The same change, its payload also saying `value` under AC's `key`.
    pub fn saying(mut self, key: &str, value: impl Into<String>) -> Self {
        self.extra.push((key.to_owned(), value.into()));
        self
    }
}

/// Records `changes` in the transaction that makes them (entering the contacts whose change an
/// automation's trigger names, see `automations::entries`), those that a subscription of their
/// account that is not disabled hears of (by type): one indexed test per account and type
/// among them (a subscription's types are tested by the database, so that an account with
/// many subscriptions costs no more per change), and an insert only when some are heard of.
pub(crate) async fn record_changes(
    tx: &mut AnyConnection,
    engine: Engine,
    changes: &[Change],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    enter_by_changes(tx, engine, changes).await?;
    let kinds: BTreeSet<(AccountId, &str)> = changes
        .iter()
        .map(|change| (change.account, change.event.name()))
        .collect();
    let mut heard = BTreeSet::new();
    for (account, event) in kinds {
        // Names hold `_`, which LIKE reads as any one character: a name it could confuse
        // would only record a change that no delivery is made of.
        let listening: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM webhooks WHERE account_id = $1 AND disabled_at IS NULL \
             AND ',' || events || ',' LIKE $2 LIMIT 1",
        )
        .bind(account.0)
        .bind(format!("%,{event},%"))
        .fetch_optional(&mut *tx)
        .await?;
        if listening.is_some() {
            heard.insert((account, event));
        }
    }
    let values: Vec<[Value; 7]> = changes
        .iter()
        .filter(|change| heard.contains(&(change.account, change.event.name())))
        .map(|change| {
            [
                change.account.0.into(),
                change.event.name().into(),
                change.source.name().into(),
                change.list.map(|list| list.0).into(),
                change.contact.map(|contact| contact.0).into(),
                serde_json::to_string(&change.extra)
                    .unwrap_or_else(|_| "[]".to_owned())
                    .into(),
                change.at.0.into(),
            ]
        })
        .collect();
    for chunk in values.chunks(100) {
        let mut insert = Statement::new(
            engine,
            "INSERT INTO webhook_changes (account_id, type, source, list_id, contact_id, data, \
             occurred_at) VALUES ",
        );
        insert.push_rows(chunk.iter().cloned());
        insert.query().execute(&mut *tx).await?;
    }
    Ok(())
}

/// The subscriptions of `change`'s account that hear of it.
fn listeners<'a>(
    webhooks: &'a BTreeMap<AccountId, Vec<Webhook>>,
    change: &'a Change,
) -> impl Iterator<Item = &'a Webhook> {
    let held = webhooks.get(&change.account).into_iter().flatten();
    held.filter(move |webhook| hears(webhook, change))
}

/// Whether `webhook` hears of `change`.
fn hears(webhook: &Webhook, change: &Change) -> bool {
    webhook.disabled_at.is_none()
        && webhook.events.contains(&change.event)
        && webhook.sources.contains(&change.source)
        && (webhook.list.is_none() || change.list.is_none() || webhook.list == change.list)
}

impl Store {
    /// Turns up to `limit` recorded changes, oldest first, into deliveries due at `now`, and
    /// no more changes once [`DELIVERIES_AT_ONCE`] deliveries are made, so that one
    /// transaction stays short (on PostgreSQL, changes another node is turning are left to
    /// it). Returns how many deliveries were made.
    pub async fn dispatch_webhook_changes(
        &self,
        limit: i64,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let engine = self.engine;
        // An idle server opens no write transaction (nor marks writes healthy by one that
        // wrote nothing).
        let any: Option<i64> = sqlx::query_scalar("SELECT id FROM webhook_changes LIMIT 1")
            .fetch_optional(&self.reader)
            .await?;
        if any.is_none() {
            return Ok(0);
        }
        self.write_in_background(async |tx| {
            let mut select = Statement::new(
                engine,
                "SELECT id, account_id, type, source, list_id, contact_id, data, occurred_at \
                 FROM webhook_changes ORDER BY id LIMIT ",
            );
            select.push_bind(limit).push(engine.skip_locked());
            let mut ids = Vec::new();
            let mut changes = Vec::new();
            for row in select.query().fetch_all(&mut *tx).await? {
                ids.push(row.try_get::<i64, _>("id")?);
                changes.push(change(&row)?);
            }
            if changes.is_empty() {
                return Ok(0);
            }
            let accounts: BTreeSet<AccountId> = changes.iter().map(|c| c.account).collect();
            let webhooks = subscriptions(tx, engine, &accounts).await?;
            // The oldest changes that make up to DELIVERIES_AT_ONCE deliveries (one at least);
            // the others are left, unread of their contacts, to the next dispatch.
            let mut consumed = 0;
            let mut planned = 0;
            for change in &changes {
                if planned >= DELIVERIES_AT_ONCE {
                    break;
                }
                planned += listeners(&webhooks, change).count();
                consumed += 1;
            }
            changes.truncate(consumed);
            ids.truncate(consumed);
            let contacts: BTreeSet<ContactId> = changes.iter().filter_map(|c| c.contact).collect();
            let people = payload_contacts(tx, engine, &contacts).await?;
            let mut rows = Vec::with_capacity(planned);
            for change in &changes {
                for webhook in listeners(&webhooks, change) {
                    let payload = PayloadChange {
                        event: change.event,
                        at: change.at,
                        source: change.source,
                        list: change.list,
                        contact: change.contact.and_then(|id| people.get(&id).cloned()),
                        extra: change.extra.clone(),
                    };
                    rows.push([
                        Value::from(change.account.0),
                        webhook.id.0.into(),
                        change.event.name().into(),
                        webhook.format.media_type().into(),
                        payload.body(webhook.format).into(),
                        "pending".into(),
                        now.0.into(),
                        now.0.into(),
                    ]);
                }
            }
            for chunk in rows.chunks(100) {
                let mut insert = Statement::new(
                    engine,
                    "INSERT INTO webhook_deliveries (account_id, webhook_id, type, content_type, \
                     body, status, next_attempt_at, created_at) VALUES ",
                );
                insert.push_rows(chunk.iter().cloned());
                insert.query().execute(&mut *tx).await?;
            }
            for chunk in ids.chunks(500) {
                let mut delete = Statement::new(engine, "DELETE FROM webhook_changes WHERE id IN ");
                delete.push_row(chunk.iter().map(|&id| id.into()));
                delete.query().execute(&mut *tx).await?;
            }
            Ok(rows.len())
        })
        .await
    }
}

/// A recorded change row.
fn change(row: &sqlx::any::AnyRow) -> Result<Change, StoreError> {
    let decode = |invalid: tracklane_core::invalid::Invalid| {
        StoreError::Database(sqlx::Error::Decode(Box::new(invalid)))
    };
    let data: String = row.try_get("data")?;
    Ok(Change {
        account: AccountId(row.try_get("account_id")?),
        event: WebhookEvent::parse(&row.try_get::<String, _>("type")?).map_err(decode)?,
        source: WebhookSource::parse(&row.try_get::<String, _>("source")?).map_err(decode)?,
        list: row.try_get::<Option<i64>, _>("list_id")?.map(ListId),
        contact: row.try_get::<Option<i64>, _>("contact_id")?.map(ContactId),
        // Read back for delivery only, which names the tag or segment in `extra`.
        subject: None,
        extra: serde_json::from_str(&data).unwrap_or_default(),
        at: Timestamp(row.try_get("occurred_at")?),
    })
}

/// The subscriptions of `accounts`.
async fn subscriptions(
    tx: &mut AnyConnection,
    engine: Engine,
    accounts: &BTreeSet<AccountId>,
) -> Result<BTreeMap<AccountId, Vec<Webhook>>, StoreError> {
    let mut found: BTreeMap<AccountId, Vec<Webhook>> = BTreeMap::new();
    let mut select = Statement::new(
        engine,
        &format!("SELECT account_id, {WEBHOOK_COLUMNS} FROM webhooks WHERE account_id IN "),
    );
    select
        .push_row(accounts.iter().map(|account| account.0.into()))
        .push(" ORDER BY id");
    for row in select.query().fetch_all(&mut *tx).await? {
        found
            .entry(AccountId(row.try_get("account_id")?))
            .or_default()
            .push(webhook(&row)?);
    }
    Ok(found)
}

/// What payloads say of `contacts` (those that still exist): their attributes, tags and
/// custom fields' values.
pub(crate) async fn payload_contacts(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &BTreeSet<ContactId>,
) -> Result<BTreeMap<ContactId, PayloadContact>, StoreError> {
    let mut found = BTreeMap::new();
    let ids: Vec<i64> = contacts.iter().map(|contact| contact.0).collect();
    for chunk in ids.chunks(500) {
        let mut select = Statement::new(
            engine,
            "SELECT id, email, first_name, last_name, phone FROM contacts WHERE id IN ",
        );
        select.push_row(chunk.iter().map(|&id| id.into()));
        for row in select.query().fetch_all(&mut *tx).await? {
            let id = ContactId(row.try_get("id")?);
            found.insert(
                id,
                PayloadContact {
                    id,
                    email: row.try_get("email")?,
                    first_name: row.try_get("first_name")?,
                    last_name: row.try_get("last_name")?,
                    phone: row.try_get("phone")?,
                    tags: Vec::new(),
                    fields: Vec::new(),
                },
            );
        }
        let mut tags = Statement::new(
            engine,
            "SELECT ct.contact_id, t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id \
             WHERE ct.contact_id IN ",
        );
        tags.push_row(chunk.iter().map(|&id| id.into()))
            .push(" ORDER BY ct.contact_id, ct.id");
        for row in tags.query().fetch_all(&mut *tx).await? {
            if let Some(contact) = found.get_mut(&ContactId(row.try_get("contact_id")?)) {
                contact.tags.push(row.try_get("name")?);
            }
        }
        let mut fields = Statement::new(
            engine,
            "SELECT v.contact_id, f.perstag, v.value FROM field_values v \
             JOIN fields f ON f.id = v.field_id WHERE v.contact_id IN ",
        );
        fields
            .push_row(chunk.iter().map(|&id| id.into()))
            .push(" ORDER BY v.contact_id, f.id");
        for row in fields.query().fetch_all(&mut *tx).await? {
            if let Some(contact) = found.get_mut(&ContactId(row.try_get("contact_id")?)) {
                let key = row.try_get::<String, _>("perstag")?.to_lowercase();
                contact.fields.push((key, row.try_get("value")?));
            }
        }
    }
    Ok(found)
}
