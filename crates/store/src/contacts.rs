//! Contacts: create, upsert by email, read, update, delete (their listing and filters are in
//! `listing`). An update through the API (`PUT`, or a sync of an existing email) is reported
//! to the webhooks that hear of it.

mod listing;

pub use listing::{ContactOrder, ContactQuery};

use sqlx::AnyConnection;
use tracklane_core::contact::{Contact, ContactDraft, ContactPatch};
use tracklane_core::email::ContactEmail;
use tracklane_core::field::FieldValue;
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::invalid::Invalid;
use tracklane_core::key::random_hex;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::{WebhookEvent, WebhookSource};

use crate::fields::write_field_values;
use crate::listing::owned_row;
use crate::rows::{self, CONTACT_COLUMNS};
use crate::send_status::SendStatus;
use crate::sql::{Statement, Value};
use crate::webhooks::changes::{record_changes, Change};
use crate::{Engine, Model, Store, StoreError};

const DUPLICATE_EMAIL: &str = "Email address already exists in the system";

impl Store {
    /// Creates a contact; refuses an email the account already has.
    pub async fn create_contact(
        &self,
        account: AccountId,
        draft: ContactDraft,
        now: Timestamp,
    ) -> Result<(Contact, Vec<FieldValue>), StoreError> {
        self.write(async |tx| {
            let contact = insert_contact(tx, account, &draft, now)
                .await?
                .ok_or_else(|| Invalid::duplicate("email", DUPLICATE_EMAIL))?;
            let values =
                write_field_values(tx, account, contact.id, &draft.attributes.field_values, now)
                    .await?;
            Ok((contact, values))
        })
        .await
    }

    /// Creates the contact with this email, or updates the one that has it. Returns whether it
    /// was created.
    pub async fn sync_contact(
        &self,
        account: AccountId,
        draft: ContactDraft,
        now: Timestamp,
    ) -> Result<(Contact, Vec<FieldValue>, bool), StoreError> {
        self.write(async |tx| {
            let synced = sync_in(self.engine, tx, account, &draft, now).await?;
            if !synced.2 {
                let update = Change::new(account, WebhookEvent::UPDATE, WebhookSource::Api, now);
                record_changes(tx, self.engine, &[update.about(synced.0.id)]).await?;
            }
            Ok(synced)
        })
        .await
    }

    /// The contact with this id in this account.
    pub async fn contact(
        &self,
        account: AccountId,
        id: ContactId,
    ) -> Result<Option<Contact>, StoreError> {
        match self.existing_contact(account, id).await {
            Ok(contact) => Ok(Some(contact)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The id of the account's contact with this (normalised) email.
    pub async fn contact_id_by_email(
        &self,
        account: AccountId,
        email: &ContactEmail,
    ) -> Result<Option<ContactId>, StoreError> {
        let row = sqlx::query("SELECT id FROM contacts WHERE account_id = $1 AND email = $2")
            .bind(account.0)
            .bind(email.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(row
            .map(|row| sqlx::Row::try_get(&row, "id"))
            .transpose()?
            .map(ContactId))
    }

    /// The contact with this id, or [`StoreError::NotFound`].
    pub async fn existing_contact(
        &self,
        account: AccountId,
        id: ContactId,
    ) -> Result<Contact, StoreError> {
        let key = (Model::Contact, account, id.0);
        owned_row(
            &self.reader,
            "contacts",
            CONTACT_COLUMNS,
            key,
            rows::contact,
        )
        .await
    }

    /// Changes the attributes present in `patch`.
    pub async fn update_contact(
        &self,
        account: AccountId,
        id: ContactId,
        patch: ContactPatch,
        now: Timestamp,
    ) -> Result<(Contact, Vec<FieldValue>), StoreError> {
        self.write(async |tx| {
            let updated = update_in(self.engine, tx, account, id, &patch, now).await?;
            let update = Change::new(account, WebhookEvent::UPDATE, WebhookSource::Api, now);
            record_changes(tx, self.engine, &[update.about(id)]).await?;
            Ok(updated)
        })
        .await
    }

    /// Deletes a contact with its personal data: attributes, tags, list memberships, field
    /// values and timeline, and the sends still queued for it. Campaign statistics are history
    /// and stay as they were: its handed-over sends and its clicks and opens are kept, under a
    /// contact id that names nobody any more.
    pub async fn delete_contact(
        &self,
        account: AccountId,
        id: ContactId,
    ) -> Result<(), StoreError> {
        self.write(async |tx| {
            sqlx::query(
                "DELETE FROM sends WHERE account_id = $1 AND contact_id = $2 AND status = $3",
            )
            .bind(account.0)
            .bind(id.0)
            .bind(SendStatus::Queued as i64)
            .execute(&mut *tx)
            .await?;
            let deleted = sqlx::query("DELETE FROM contacts WHERE account_id = $1 AND id = $2")
                .bind(account.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Err(StoreError::NotFound {
                    model: Model::Contact,
                    id: id.0,
                });
            }
            Ok(())
        })
        .await
    }

    /// The account a contact is in; `None` when there is no such contact (any more).
    pub async fn contact_account(
        &self,
        contact: ContactId,
    ) -> Result<Option<AccountId>, StoreError> {
        let account: Option<i64> =
            sqlx::query_scalar("SELECT account_id FROM contacts WHERE id = $1")
                .bind(contact.0)
                .fetch_optional(&self.reader)
                .await?;
        Ok(account.map(AccountId))
    }
}

/// Changes the attributes present in `patch` of contact `id` on `conn`.
pub(crate) async fn update_in(
    engine: Engine,
    conn: &mut AnyConnection,
    account: AccountId,
    id: ContactId,
    patch: &ContactPatch,
    now: Timestamp,
) -> Result<(Contact, Vec<FieldValue>), StoreError> {
    let mut update = update_statement(engine, patch, now);
    update
        .and(" WHERE account_id = ", account.0)
        .and(" AND id = ", id.0)
        .push(" RETURNING ")
        .push(CONTACT_COLUMNS);
    let row = update
        .query()
        .fetch_optional(&mut *conn)
        .await
        .map_err(|error| {
            let error = StoreError::from(error);
            if error.is_unique_violation() {
                Invalid::duplicate("email", DUPLICATE_EMAIL).into()
            } else {
                error
            }
        })?;
    let contact = row
        .as_ref()
        .map(rows::contact)
        .transpose()?
        .ok_or(StoreError::NotFound {
            model: Model::Contact,
            id: id.0,
        })?;
    let values = write_field_values(conn, account, id, &patch.field_values, now).await?;
    Ok((contact, values))
}

/// A contact's standard text field that automations set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StandardField {
    /// `firstName`.
    FirstName,
    /// `lastName`.
    LastName,
    /// `phone`.
    Phone,
}

impl StandardField {
    /// Every standard field.
    pub(crate) const ALL: [Self; 3] = [Self::FirstName, Self::LastName, Self::Phone];

    /// The field of an API name (`firstName`), if it is a standard one.
    pub(crate) fn named(name: &str) -> Option<Self> {
        match name {
            "firstName" => Some(Self::FirstName),
            "lastName" => Some(Self::LastName),
            "phone" => Some(Self::Phone),
            _ => None,
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Phone => "phone",
        }
    }
}

/// Sets `field` of each contact to its value on `conn`, a chunk of contacts per statement.
/// Each contact must appear once.
pub(crate) async fn set_standard_many_in(
    conn: &mut AnyConnection,
    engine: Engine,
    field: StandardField,
    values: &[(AccountId, ContactId, &str)],
    now: Timestamp,
) -> Result<(), StoreError> {
    for chunk in values.chunks(300) {
        let mut update = Statement::new(engine, "WITH v (account_id, id, value) AS (VALUES ");
        update.push_rows(chunk.iter().map(|&(account, contact, value)| {
            [account.0.into(), contact.0.into(), Value::from(value)]
        }));
        update
            .push(") UPDATE contacts SET ")
            .push(field.column())
            .push(" = v.value, ")
            .and("updated_at = ", now.0)
            .push(" FROM v WHERE contacts.id = v.id AND contacts.account_id = v.account_id");
        update.query().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Creates or updates the contact with the draft's email on `conn`; returns whether it was
/// created.
pub(crate) async fn sync_in(
    engine: Engine,
    conn: &mut AnyConnection,
    account: AccountId,
    draft: &ContactDraft,
    now: Timestamp,
) -> Result<(Contact, Vec<FieldValue>, bool), StoreError> {
    let (contact, created) = match insert_contact(conn, account, draft, now).await? {
        Some(contact) => (contact, true),
        None => {
            let mut update = update_statement(engine, &draft.attributes, now);
            update
                .and(" WHERE account_id = ", account.0)
                .and(" AND email = ", draft.email.as_str())
                .push(" RETURNING ")
                .push(CONTACT_COLUMNS);
            let row = update.query().fetch_one(&mut *conn).await?;
            (rows::contact(&row)?, false)
        }
    };
    let values = write_field_values(
        conn,
        account,
        contact.id,
        &draft.attributes.field_values,
        now,
    )
    .await?;
    Ok((contact, values, created))
}

/// Inserts the contact, or returns `None` when the account already has its email.
async fn insert_contact(
    conn: &mut AnyConnection,
    account: AccountId,
    draft: &ContactDraft,
    now: Timestamp,
) -> Result<Option<Contact>, StoreError> {
    let hash = random_hex(16).map_err(|_| StoreError::Randomness)?;
    let attributes = &draft.attributes;
    let row = sqlx::query(&format!(
        "INSERT INTO contacts \
         (account_id, email, first_name, last_name, phone, hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (account_id, email) DO NOTHING RETURNING {CONTACT_COLUMNS}"
    ))
    .bind(account.0)
    .bind(draft.email.as_str())
    .bind(attributes.first_name.as_deref().unwrap_or_default())
    .bind(attributes.last_name.as_deref().unwrap_or_default())
    .bind(attributes.phone.as_deref().unwrap_or_default())
    .bind(hash)
    .bind(now.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(rows::contact).transpose()?)
}

/// `UPDATE contacts SET ...` for the attributes present in `patch`; the caller adds `WHERE`.
fn update_statement(engine: Engine, patch: &ContactPatch, now: Timestamp) -> Statement {
    let mut update = Statement::new(engine, "UPDATE contacts SET updated_at = ");
    update.push_bind(now.0);
    let columns = [
        (", email = ", patch.email.as_ref().map(|e| e.as_str())),
        (", first_name = ", patch.first_name.as_deref()),
        (", last_name = ", patch.last_name.as_deref()),
        (", phone = ", patch.phone.as_deref()),
    ];
    update.push_present(columns);
    update
}
