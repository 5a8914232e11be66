//! The people a group of tracking messages names by email (found, or created when the account
//! allows it; their traits set; the visitors they turned out to be), recorded with the
//! messages' events in one commit, so that a refused group changes nothing.

use tracklane_core::contact::{ContactDraft, ContactInput, ContactPatch};
use tracklane_core::email::ContactEmail;
use tracklane_core::event::NewEvent;
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::time::Timestamp;

use crate::contacts::{sync_in, update_in};
use crate::events::{identify_in, record_events_in};
use crate::{Model, Store, StoreError};

/// A person that tracking messages name by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPerson {
    /// Their email.
    pub email: ContactEmail,
    /// Whether a contact is created when the account has none with this email.
    pub create: bool,
    /// Attributes to set on the contact (an identify's traits).
    pub traits: Option<ContactPatch>,
    /// Visitors who are this contact from now on.
    pub visitors: Vec<String>,
}

/// An event of a group, and the index of the person among the group's who caused it.
pub type PersonEvent = (Option<usize>, NewEvent);

impl Store {
    /// Records, in one commit, the `people` a group of tracking messages names and the group's
    /// `events`, each event's contact being the person at its index. When any of it fails,
    /// nothing is written; a person with no contact who may not be created is
    /// [`StoreError::NotFound`].
    pub async fn record_people_and_events(
        &self,
        account: AccountId,
        people: &[NamedPerson],
        events: Vec<PersonEvent>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(async |tx| {
            let mut contacts = Vec::with_capacity(people.len());
            for person in people {
                let found = match self.contact_id_in(tx, account, &person.email).await? {
                    Some(contact) => contact,
                    None if person.create => {
                        let draft = new_contact(&person.email)?;
                        sync_in(self.engine, tx, account, &draft, now).await?.0.id
                    }
                    None => {
                        return Err(StoreError::NotFound {
                            model: Model::Contact,
                            id: 0,
                        })
                    }
                };
                if let Some(traits) = &person.traits {
                    update_in(self.engine, tx, account, found, traits, now).await?;
                }
                for visitor in &person.visitors {
                    identify_in(tx, account, visitor, found, now).await?;
                }
                contacts.push(found);
            }
            let events: Vec<NewEvent> = events
                .into_iter()
                .map(|(person, mut event)| {
                    if let Some(contact) = person.and_then(|index| contacts.get(index)) {
                        event.contact = Some(*contact);
                    }
                    event
                })
                .collect();
            record_events_in(self.engine, tx, &events, now).await?;
            Ok(())
        })
        .await
    }

    async fn contact_id_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        account: AccountId,
        email: &ContactEmail,
    ) -> Result<Option<ContactId>, StoreError> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM contacts WHERE account_id = $1 AND email = $2")
                .bind(account.0)
                .bind(email.as_str())
                .fetch_optional(conn)
                .await?;
        Ok(id.map(ContactId))
    }
}

/// A contact with nothing but its email.
fn new_contact(email: &ContactEmail) -> Result<ContactDraft, StoreError> {
    Ok(ContactInput {
        email: Some(email.as_str().to_owned()),
        ..ContactInput::default()
    }
    .into_draft()?)
}
