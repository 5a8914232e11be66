//! One contact's facts for core's one-contact evaluator, read the way the set evaluator reads
//! them: custom fields by perstag (the oldest field first when two share one), page views and
//! custom events from the timeline, an absent page URL or domain as empty text.

use std::collections::BTreeMap;

use sqlx::Row;
use tracklane_core::device::Device;
use tracklane_core::event::EventKind;
use tracklane_core::ids::{AccountId, CampaignId, ContactId, FormId, ListId, TagId};
use tracklane_core::list::ListStatus;
use tracklane_core::segment::facts::{
    EmailAction, EmailActivity, FormSubmission, PageVisit, RecordedEvent,
};
use tracklane_core::segment::{ContactFacts, Reads};
use tracklane_core::time::Timestamp;

use crate::sends::SendStatus;
use crate::{Store, StoreError};

impl Store {
    /// The contact's attributes, custom fields, tags, lists, page views, custom events, email
    /// activity (sends, and people's opens, clicks, unsubscribes and bounces: a machine's hits
    /// are left out) and form submissions, for
    /// [`Definition::matches`](tracklane_core::segment::Definition::matches). Not read yet:
    /// scores (there are none; 0).
    pub async fn contact_facts(
        &self,
        account: AccountId,
        contact: ContactId,
    ) -> Result<ContactFacts, StoreError> {
        self.contact_facts_reading(account, contact, Reads::EVERYTHING)
            .await
    }

    /// The facts that definitions reading `reads` need (see [`Store::contact_facts`]); the rest
    /// is left empty. The contact's own row is always read.
    pub async fn contact_facts_reading(
        &self,
        account: AccountId,
        contact: ContactId,
        reads: Reads,
    ) -> Result<ContactFacts, StoreError> {
        let row = self.existing_contact(account, contact).await?;
        let mut facts = ContactFacts::created(row.created_at);
        facts.email = row.email.as_str().to_owned();
        facts.first_name = row.first_name;
        facts.last_name = row.last_name;
        facts.phone = row.phone;
        if reads.meets(Reads::FIELDS) {
            facts.fields = self.facts_fields(contact).await?;
        }
        if reads.meets(Reads::TAGS) {
            facts.tags = sqlx::query_scalar::<_, i64>(
                "SELECT tag_id FROM contact_tags WHERE contact_id = $1",
            )
            .bind(contact.0)
            .fetch_all(&self.reader)
            .await?
            .into_iter()
            .map(TagId)
            .collect();
        }
        if reads.meets(Reads::LISTS) {
            let lists =
                sqlx::query("SELECT list_id, status FROM contact_lists WHERE contact_id = $1")
                    .bind(contact.0)
                    .fetch_all(&self.reader)
                    .await?;
            for list in lists {
                facts.lists.insert(
                    ListId(list.try_get("list_id")?),
                    ListStatus::from_code(list.try_get("status")?),
                );
            }
        }
        if reads.meets(Reads::TIMELINE | Reads::EMAIL | Reads::FORMS) {
            self.facts_timeline(account, contact, &mut facts).await?;
        }
        if reads.meets(Reads::EMAIL) {
            self.facts_sent(account, contact, &mut facts).await?;
        }
        Ok(facts)
    }

    /// Custom field values by perstag; the oldest field wins when two share a perstag.
    async fn facts_fields(
        &self,
        contact: ContactId,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.perstag, fv.value FROM field_values fv JOIN fields f ON f.id = fv.field_id \
             WHERE fv.contact_id = $1 ORDER BY f.id",
        )
        .bind(contact.0)
        .fetch_all(&self.reader)
        .await?;
        let mut fields = BTreeMap::new();
        for row in rows {
            fields
                .entry(row.try_get("perstag")?)
                .or_insert(row.try_get("value")?);
        }
        Ok(fields)
    }

    /// Page views, custom events, people's email activity and form submissions.
    async fn facts_timeline(
        &self,
        account: AccountId,
        contact: ContactId,
        facts: &mut ContactFacts,
    ) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT kind, name, url, domain, referrer, referrer_domain, device, data, \
             starts_visit, occurred_at, campaign_id, form_id FROM events \
             WHERE account_id = $1 AND contact_id = $2 AND by_machine = 0",
        )
        .bind(account.0)
        .bind(contact.0)
        .fetch_all(&self.reader)
        .await?;
        for row in rows {
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
                EventKind::PageVisit | EventKind::Custom => {}
            }
            if kind == EventKind::PageVisit {
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
            } else if kind == EventKind::Custom {
                facts.events.push(RecordedEvent {
                    name: row.try_get("name")?,
                    data: row.try_get("data")?,
                    at,
                });
            }
        }
        Ok(())
    }

    /// The campaign emails sent to the contact.
    async fn facts_sent(
        &self,
        account: AccountId,
        contact: ContactId,
        facts: &mut ContactFacts,
    ) -> Result<(), StoreError> {
        let sent = sqlx::query(
            "SELECT campaign_id, sent_at FROM sends \
             WHERE account_id = $1 AND contact_id = $2 AND status = $3",
        )
        .bind(account.0)
        .bind(contact.0)
        .bind(SendStatus::Sent as i64)
        .fetch_all(&self.reader)
        .await?;
        for row in sent {
            facts.emails.push(EmailActivity {
                action: EmailAction::Sent,
                campaign: Some(CampaignId(row.try_get("campaign_id")?)),
                link: None,
                at: Timestamp(
                    row.try_get::<Option<i64>, _>("sent_at")?
                        .unwrap_or_default(),
                ),
            });
        }
        Ok(())
    }
}
