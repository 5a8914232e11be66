//! Forms: create, read, update, delete, and a submission, which creates or updates the contact,
//! subscribes it to the form's list, adds the form's tags and identifies the visitor in one
//! transaction, so that nothing of it is ever half written.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use tracklane_core::contact::FieldValueInput;
use tracklane_core::form::{Form, FormField, FormPatch, Submission};
use tracklane_core::ids::{AccountId, ContactId, FieldId, FormId, ListId, TagId};
use tracklane_core::invalid::Invalid;
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::WebhookSource;

use crate::contacts::sync_in;
use crate::events::identify_in;
use crate::listing::{owned_row, page_of, Listed};
use crate::lists::{write_list_status, Membership};
use crate::sql::{Statement, Value};
use crate::tags::tag_contact;
use crate::{Model, Store, StoreError};

/// The columns [`form_row`] reads.
const FORM_COLUMNS: &str =
    "id, account_id, name, fields, list_id, thank_you_url, created_at, updated_at";

/// A form without its tags (they are read apart, see [`Store::with_tags`]).
fn form_row(row: &AnyRow) -> Result<Form, sqlx::Error> {
    let fields: String = row.try_get("fields")?;
    Ok(Form {
        id: FormId(row.try_get("id")?),
        account: AccountId(row.try_get("account_id")?),
        name: row.try_get("name")?,
        fields: fields
            .lines()
            .filter_map(|name| FormField::parse(name).ok())
            .collect(),
        list: row.try_get::<Option<i64>, _>("list_id")?.map(ListId),
        tags: Vec::new(),
        thank_you_url: row.try_get("thank_you_url")?,
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

/// The stored spelling of a form's fields: one API spelling a line.
fn fields_text(fields: &[FormField]) -> String {
    fields
        .iter()
        .map(FormField::name)
        .collect::<Vec<_>>()
        .join("\n")
}

impl Store {
    /// Creates a form from a validated draft; its list, tags and custom fields must be the
    /// account's.
    pub async fn create_form(
        &self,
        account: AccountId,
        draft: FormPatch,
        now: Timestamp,
    ) -> Result<Form, StoreError> {
        self.check_form_references(account, &draft).await?;
        let id = self
            .write(async |tx| {
                let id: i64 = sqlx::query(
                "INSERT INTO forms (account_id, name, fields, list_id, thank_you_url, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            )
            .bind(account.0)
            .bind(draft.name.unwrap_or_default())
            .bind(fields_text(&draft.fields.unwrap_or_default()))
            .bind(draft.list.flatten().map(|list| list.0))
            .bind(draft.thank_you_url.flatten())
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
                write_form_tags(tx, FormId(id), &draft.tags.unwrap_or_default()).await?;
                Ok(FormId(id))
            })
            .await?;
        self.existing_form(account, id).await
    }

    /// The form with this id in this account, or [`StoreError::NotFound`].
    pub async fn existing_form(&self, account: AccountId, id: FormId) -> Result<Form, StoreError> {
        let key = (Model::Form, account, id.0);
        let form = owned_row(&self.reader, "forms", FORM_COLUMNS, key, form_row).await?;
        let mut forms = self.with_tags(vec![form]).await?;
        Ok(forms.remove(0))
    }

    /// The form a public submission names, whatever its account.
    pub async fn submitted_form(&self, id: FormId) -> Result<Option<Form>, StoreError> {
        let row = sqlx::query(&format!("SELECT {FORM_COLUMNS} FROM forms WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await?;
        match row.as_ref().map(form_row).transpose()? {
            Some(form) => Ok(self.with_tags(vec![form]).await?.pop()),
            None => Ok(None),
        }
    }

    /// One page of the account's forms, oldest first.
    pub async fn forms(&self, account: AccountId, page: Page) -> Result<Listed<Form>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM forms WHERE account_id = ");
        filter.push_bind(account.0);
        let listed = page_of(&self.reader, FORM_COLUMNS, &filter, "id", page, form_row).await?;
        Ok(Listed {
            items: self.with_tags(listed.items).await?,
            total: listed.total,
        })
    }

    /// Changes the attributes present in `patch`.
    pub async fn update_form(
        &self,
        account: AccountId,
        id: FormId,
        patch: FormPatch,
        now: Timestamp,
    ) -> Result<Form, StoreError> {
        self.existing_form(account, id).await?;
        self.check_form_references(account, &patch).await?;
        self.write(async |tx| {
            let mut update = Statement::new(self.engine, "UPDATE forms SET updated_at = ");
            update.push_bind(now.0);
            let texts = [
                (", name = ", patch.name),
                (", fields = ", patch.fields.as_deref().map(fields_text)),
            ];
            update.push_present(texts);
            if let Some(list) = patch.list {
                update.and(", list_id = ", list.map(|list| list.0));
            }
            if let Some(url) = patch.thank_you_url {
                update.and(", thank_you_url = ", url);
            }
            update
                .and(" WHERE account_id = ", account.0)
                .and(" AND id = ", id.0);
            update.query().execute(&mut *tx).await?;
            if let Some(tags) = patch.tags {
                sqlx::query("DELETE FROM form_tags WHERE form_id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                write_form_tags(tx, id, &tags).await?;
            }
            Ok(())
        })
        .await?;
        self.existing_form(account, id).await
    }

    /// Deletes a form.
    pub async fn delete_form(&self, account: AccountId, id: FormId) -> Result<(), StoreError> {
        self.delete_owned("forms", Model::Form, account, id.0).await
    }

    /// Records a valid submission of `form` in one transaction: creates or updates the contact
    /// by email (with the custom fields it answered), subscribes it to the form's list, adds the
    /// form's tags, and identifies the visitor, whose anonymous events become the contact's.
    pub async fn submit_form(
        &self,
        form: &Form,
        submission: &Submission,
        now: Timestamp,
    ) -> Result<ContactId, StoreError> {
        let account = form.account;
        self.write(async |tx| {
            let mut draft = submission.contact.clone();
            let fields = custom_fields(tx, account).await?;
            for (perstag, value) in &submission.custom {
                if let Some(field) = fields.get(perstag) {
                    draft.attributes.field_values.push(FieldValueInput {
                        field: *field,
                        value: value.clone(),
                    });
                }
            }
            let (contact, _, _) = sync_in(self.engine, tx, account, &draft, now).await?;
            if let Some(list) = form.list {
                let membership = Membership::subscribed(contact.id, list);
                write_list_status(tx, account, membership, now).await?;
            }
            for tag in &form.tags {
                tag_contact(
                    tx,
                    self.engine,
                    account,
                    contact.id,
                    *tag,
                    WebhookSource::Public,
                    now,
                )
                .await?;
            }
            if let Some(visitor) = &submission.visitor {
                identify_in(tx, account, visitor, contact.id, now).await?;
            }
            Ok(contact.id)
        })
        .await
    }

    /// Checks that the list, the tags and the custom fields a form names are the account's.
    async fn check_form_references(
        &self,
        account: AccountId,
        patch: &FormPatch,
    ) -> Result<(), StoreError> {
        if let Some(Some(list)) = patch.list {
            self.existing_list(account, list).await?;
        }
        for tag in patch.tags.iter().flatten() {
            self.existing_tag(account, *tag).await?;
        }
        let custom: Vec<&str> = patch
            .fields
            .iter()
            .flatten()
            .filter_map(|field| match field {
                FormField::Custom(perstag) => Some(perstag.as_str()),
                _ => None,
            })
            .collect();
        if custom.is_empty() {
            return Ok(());
        }
        let mut conn = self.reader.acquire().await?;
        let known = custom_fields(&mut conn, account).await?;
        match custom.iter().find(|perstag| !known.contains_key(**perstag)) {
            Some(unknown) => Err(Invalid::bad_value(
                "fields",
                format!("there is no custom field with the perstag {unknown}"),
            )
            .into()),
            None => Ok(()),
        }
    }

    /// Fills in the tags of `forms`.
    async fn with_tags(&self, mut forms: Vec<Form>) -> Result<Vec<Form>, StoreError> {
        if forms.is_empty() {
            return Ok(forms);
        }
        let mut select = Statement::new(
            self.engine,
            "SELECT form_id, tag_id FROM form_tags WHERE form_id IN ",
        );
        select.push_row(forms.iter().map(|form| Value::from(form.id.0)));
        select.push(" ORDER BY form_id, position");
        for row in select.query().fetch_all(&self.reader).await? {
            let form: i64 = row.try_get("form_id")?;
            let tag = TagId(row.try_get("tag_id")?);
            if let Some(form) = forms.iter_mut().find(|f| f.id.0 == form) {
                form.tags.push(tag);
            }
        }
        Ok(forms)
    }
}

/// The account's custom fields by personalization tag.
async fn custom_fields(
    conn: &mut AnyConnection,
    account: AccountId,
) -> Result<HashMap<String, FieldId>, StoreError> {
    let rows = sqlx::query("SELECT id, perstag FROM fields WHERE account_id = $1")
        .bind(account.0)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("perstag")?, FieldId(row.try_get("id")?))))
        .collect()
}

/// Writes a form's tags, in order.
async fn write_form_tags(
    conn: &mut AnyConnection,
    form: FormId,
    tags: &[TagId],
) -> Result<(), StoreError> {
    for (position, tag) in tags.iter().enumerate() {
        sqlx::query("INSERT INTO form_tags (form_id, tag_id, position) VALUES ($1, $2, $3)")
            .bind(form.0)
            .bind(tag.0)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
