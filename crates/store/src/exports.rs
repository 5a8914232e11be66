//! Reading a whole account out, a batch at a time in id order (`tracklane export`): contacts
//! with their field values, tags and lists, and the timeline. A caller asks for the batch after
//! the last id it got, so memory stays constant however large the account.

use std::collections::HashMap;

use sqlx::Row;
use tracklane_core::contact::Contact;
use tracklane_core::event::TrackedEvent;
use tracklane_core::ids::{AccountId, ContactId, EventId, FieldId};
use tracklane_core::list::ListStatus;

use crate::events::{tracked_event, EVENT_COLUMNS};
use crate::listing::all_of;
use crate::rows::{self, CONTACT_COLUMNS};
use crate::sql::{Statement, Value};
use crate::{Store, StoreError};

/// A contact as an export writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedContact {
    /// The contact.
    pub contact: Contact,
    /// Its custom field values.
    pub fields: HashMap<FieldId, String>,
    /// The names of its tags, in name order.
    pub tags: Vec<String>,
    /// The lists it is on, by name, with its status there, in name order.
    pub lists: Vec<(String, ListStatus)>,
}

impl Store {
    /// Up to `limit` of the account's contacts with ids above `after`, in id order, each with
    /// its field values, tags and lists (four queries a batch).
    pub async fn export_contacts(
        &self,
        account: AccountId,
        after: ContactId,
        limit: i64,
    ) -> Result<Vec<ExportedContact>, StoreError> {
        // `+account_id` keeps the account's index out: the batch is a range of the primary key
        // (`id > after`), read in order, not the account's whole index sorted again each time.
        let mut page = Statement::new(
            self.engine,
            &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE +account_id = "),
        );
        page.push_bind(account.0)
            .and(" AND id > ", after.0)
            .and(" ORDER BY id LIMIT ", limit);
        let contacts = all_of(&self.reader, &page, rows::contact).await?;
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Value> = contacts.iter().map(|c| Value::from(c.id.0)).collect();
        let of_these = |sql: &str| {
            let mut statement = Statement::new(self.engine, sql);
            statement.push_row(ids.clone());
            statement
        };
        let mut exported: Vec<ExportedContact> = contacts
            .into_iter()
            .map(|contact| ExportedContact {
                contact,
                fields: HashMap::new(),
                tags: Vec::new(),
                lists: Vec::new(),
            })
            .collect();
        let position: HashMap<i64, usize> = exported
            .iter()
            .enumerate()
            .map(|(index, e)| (e.contact.id.0, index))
            .collect();
        let at = |row: &sqlx::any::AnyRow| -> Result<usize, sqlx::Error> {
            let contact: i64 = row.try_get("contact_id")?;
            Ok(position.get(&contact).copied().unwrap_or_default())
        };
        let values =
            of_these("SELECT contact_id, field_id, value FROM field_values WHERE contact_id IN ");
        for row in values.query().fetch_all(&self.reader).await? {
            exported[at(&row)?]
                .fields
                .insert(FieldId(row.try_get("field_id")?), row.try_get("value")?);
        }
        let mut tags = of_these(
            "SELECT ct.contact_id, t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id \
             WHERE ct.contact_id IN ",
        );
        tags.push(" ORDER BY t.name");
        for row in tags.query().fetch_all(&self.reader).await? {
            exported[at(&row)?].tags.push(row.try_get("name")?);
        }
        let mut lists = of_these(
            "SELECT cl.contact_id, l.name, cl.status FROM contact_lists cl \
             JOIN lists l ON l.id = cl.list_id WHERE cl.contact_id IN ",
        );
        lists.push(" ORDER BY l.name");
        for row in lists.query().fetch_all(&self.reader).await? {
            let status = ListStatus::from_code(row.try_get("status")?);
            exported[at(&row)?]
                .lists
                .push((row.try_get("name")?, status));
        }
        Ok(exported)
    }

    /// Up to `limit` of the account's events (only `contact`'s, when given) with ids above
    /// `after`, in id order.
    pub async fn export_events(
        &self,
        account: AccountId,
        contact: Option<ContactId>,
        after: EventId,
        limit: i64,
    ) -> Result<Vec<TrackedEvent>, StoreError> {
        // A contact's events come by its index (they are few); the account's by a range of the
        // primary key, as for contacts above.
        let account_column = if contact.is_some() {
            "account_id"
        } else {
            "+account_id"
        };
        let mut page = Statement::new(
            self.engine,
            &format!("SELECT {EVENT_COLUMNS} FROM events WHERE {account_column} = "),
        );
        page.push_bind(account.0).and(" AND id > ", after.0);
        if let Some(contact) = contact {
            page.and(" AND contact_id = ", contact.0);
        }
        page.and(" ORDER BY id LIMIT ", limit);
        all_of(&self.reader, &page, tracked_event).await
    }
}
