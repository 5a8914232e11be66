//! Saved automations: a name, whether triggers enter contacts, and the versions of the
//! definition. Every edit of the definition adds a version; the rows it names must exist in
//! the account.

use sqlx::any::AnyRow;
use sqlx::Row;
use tracklane_core::automation::saved::{Automation, AutomationDraft, AutomationPatch};
use tracklane_core::automation::{Definition, Reference};
use tracklane_core::ids::{AccountId, AutomationId};
use tracklane_core::invalid::Invalid;
use tracklane_core::page::Page;
use tracklane_core::segment::DefinitionError;
use tracklane_core::time::Timestamp;

use super::entries::index_triggers;
use crate::fields::field_by_perstag;
use crate::listing::{owned_row, page_of, Listed};
use crate::segments::refused;
use crate::sql::Statement;
use crate::{Model, Store, StoreError};

/// The standard fields a step may set.
const SETTABLE_FIELDS: [&str; 3] = ["firstName", "lastName", "phone"];

/// The columns [`automation`] reads.
const AUTOMATION_COLUMNS: &str = "id, name, active, version, entered, exited, created_at, \
     updated_at, (SELECT v.definition FROM automation_versions v \
     WHERE v.automation_id = automations.id AND v.version = automations.version) AS definition";

/// A stored definition.
pub(super) fn stored_definition(text: &str) -> Result<Definition, sqlx::Error> {
    Definition::parse(text).map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

/// A stored automation row.
fn automation(row: &AnyRow) -> Result<Automation, sqlx::Error> {
    let definition: String = row.try_get("definition")?;
    Ok(Automation {
        id: AutomationId(row.try_get("id")?),
        name: row.try_get("name")?,
        active: row.try_get::<i64, _>("active")? == 1,
        version: row.try_get("version")?,
        definition: stored_definition(&definition)?,
        entered: row.try_get("entered")?,
        exited: row.try_get("exited")?,
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

/// Whether the definition's triggers read the timeline rows added to contacts (1) or not (0).
fn reads_rows(definition: &Definition) -> i64 {
    i64::from(!definition.behaviors().is_empty())
}

/// Whether runs of the definition may wait on their contact's changes (1) or not (0). Kept
/// once set: runs of an earlier version may still wait.
fn watches(definition: &Definition) -> i64 {
    let steps = definition.steps().len();
    i64::from((0..steps).any(|step| definition.watches(step)))
}

/// The definition as stored.
fn definition_text(definition: &Definition) -> String {
    serde_json::to_string(definition).expect("a definition is plain JSON")
}

impl Store {
    /// Saves a new automation, version 1 of its definition.
    pub async fn create_automation(
        &self,
        account: AccountId,
        draft: AutomationDraft,
        now: Timestamp,
    ) -> Result<Automation, StoreError> {
        self.admit_automation(account, &draft.definition, now)
            .await?;
        let id = self
            .write(async |tx| {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO automations (account_id, name, active, version, created_at, \
                     updated_at, reads_rows, watches) VALUES ($1, $2, $3, 1, $4, $4, $5, $6) \
                     RETURNING id",
                )
                .bind(account.0)
                .bind(&draft.name)
                .bind(i64::from(draft.active))
                .bind(now.0)
                .bind(reads_rows(&draft.definition))
                .bind(watches(&draft.definition))
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO automation_versions (automation_id, version, definition, \
                     created_at) VALUES ($1, 1, $2, $3)",
                )
                .bind(id)
                .bind(definition_text(&draft.definition))
                .bind(now.0)
                .execute(&mut *tx)
                .await?;
                let key = (account, AutomationId(id));
                index_triggers(tx, self.engine, key, &draft.definition, draft.active, now).await?;
                Ok(id)
            })
            .await?;
        self.existing_automation(account, AutomationId(id)).await
    }

    /// The automation with this id, or [`StoreError::NotFound`].
    pub async fn existing_automation(
        &self,
        account: AccountId,
        id: AutomationId,
    ) -> Result<Automation, StoreError> {
        let key = (Model::Automation, account, id.0);
        owned_row(
            &self.reader,
            "automations",
            AUTOMATION_COLUMNS,
            key,
            automation,
        )
        .await
    }

    /// One page of the account's automations, oldest first.
    pub async fn automations(
        &self,
        account: AccountId,
        page: Page,
    ) -> Result<Listed<Automation>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM automations WHERE account_id = ");
        filter.push_bind(account.0);
        page_of(
            &self.reader,
            AUTOMATION_COLUMNS,
            &filter,
            "id ASC",
            page,
            automation,
        )
        .await
    }

    /// Changes what `patch` holds. A definition that differs from the current one becomes a
    /// new version; contacts inside go on with the version they entered.
    pub async fn update_automation(
        &self,
        account: AccountId,
        id: AutomationId,
        patch: AutomationPatch,
        now: Timestamp,
    ) -> Result<Automation, StoreError> {
        let current = self.existing_automation(account, id).await?;
        let definition = patch
            .definition
            .filter(|definition| definition.document() != current.definition.document());
        if let Some(definition) = &definition {
            self.admit_automation(account, definition, now).await?;
        }
        self.write(async |tx| {
            // Waits for the scorer's steps that read the current version (they hold the row
            // with a key share lock, which an update of its columns alone would not wait for).
            sqlx::query(&format!(
                "SELECT id FROM automations WHERE id = $1{}",
                self.engine.lock_for_update()
            ))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let mut update = Statement::new(self.engine, "UPDATE automations SET updated_at = ");
            update.push_bind(now.0);
            if let Some(definition) = &definition {
                update
                    .push(", version = version + 1, reads_rows = ")
                    .push_bind(reads_rows(definition))
                    .push(", watches = watches | ")
                    .push_bind(watches(definition));
            }
            update.push_present([(", name = ", patch.name.clone())]);
            if let Some(active) = patch.active {
                update.push(", active = ").push_bind(i64::from(active));
            }
            update
                .and(" WHERE account_id = ", account.0)
                .and(" AND id = ", id.0)
                .push(" RETURNING version, active");
            let updated = update.query().fetch_one(&mut *tx).await?;
            let version: i64 = updated.try_get("version")?;
            let active = updated.try_get::<i64, _>("active")? == 1;
            let now_defined = definition.as_ref().unwrap_or(&current.definition);
            index_triggers(tx, self.engine, (account, id), now_defined, active, now).await?;
            if let Some(definition) = &definition {
                sqlx::query(
                    "INSERT INTO automation_versions (automation_id, version, definition, \
                     created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(id.0)
                .bind(version)
                .bind(definition_text(definition))
                .bind(now.0)
                .execute(&mut *tx)
                .await?;
            }
            Ok(())
        })
        .await?;
        self.existing_automation(account, id).await
    }

    /// Deletes an automation and its versions; refused while another automation's current
    /// version starts it (they are named).
    pub async fn delete_automation(
        &self,
        account: AccountId,
        id: AutomationId,
    ) -> Result<(), StoreError> {
        self.existing_automation(account, id).await?;
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {AUTOMATION_COLUMNS} FROM automations WHERE account_id = "),
        );
        select.push_bind(account.0).push(" ORDER BY id");
        let starting: Vec<String> = crate::listing::all_of(&self.reader, &select, automation)
            .await?
            .iter()
            .filter(|other| {
                other
                    .definition
                    .references()
                    .iter()
                    .any(|(_, named)| *named == Reference::Automation(id))
            })
            .map(|other| other.id.to_string())
            .collect();
        if !starting.is_empty() {
            return Err(Invalid::bad_value(
                "automation",
                format!(
                    "automation {} starts this automation; change it first",
                    starting.join(", ")
                ),
            )
            .into());
        }
        self.delete_owned("automations", Model::Automation, account, id.0)
            .await
    }

    /// Refuses a definition that names a row the account does not have, or whose conditions
    /// the account cannot take; the refusal points into the definition.
    async fn admit_automation(
        &self,
        account: AccountId,
        definition: &Definition,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        for (pointer, condition) in definition.conditions() {
            if let Some(refusal) = self.definition_refusal(account, condition).await? {
                return Err(refused(DefinitionError {
                    pointer: format!("{pointer}{}", refusal.pointer),
                    message: refusal.message,
                }));
            }
            self.segment_filter(account, condition, now)?;
        }
        for (pointer, named) in definition.references() {
            let (table, what, id) = match &named {
                Reference::Tag(id) => ("tags", "tag", id.0),
                Reference::List(id) => ("lists", "list", id.0),
                Reference::Message(id) => ("messages", "message", id.0),
                Reference::ScoreModel(id) => ("score_models", "scoring model", id.0),
                Reference::Segment(id) => ("segments", "segment", id.0),
                Reference::Automation(id) => ("automations", "automation", id.0),
                Reference::Webhook(id) => ("webhooks", "webhook", id.0),
                Reference::Field(name) => {
                    if !self.field_exists(account, name).await? {
                        return Err(refused(DefinitionError {
                            pointer,
                            message: format!("there is no field '{name}'"),
                        }));
                    }
                    continue;
                }
            };
            if self.first_missing(table, account, &[id]).await?.is_some() {
                return Err(refused(DefinitionError {
                    pointer,
                    message: format!("there is no {what} {id}"),
                }));
            }
        }
        Ok(())
    }

    /// Whether `name` is a standard field a step may set or a custom field's personalization
    /// tag in the account.
    async fn field_exists(&self, account: AccountId, name: &str) -> Result<bool, StoreError> {
        if SETTABLE_FIELDS.contains(&name) {
            return Ok(true);
        }
        Ok(field_by_perstag(&self.reader, account, name)
            .await?
            .is_some())
    }
}
