//! The email steps of automations (`sendEmail`, `notify`): a send queued in the move's
//! transaction, so each visit of the step queues one message, once, and the sender delivers
//! it as it delivers campaigns (handed over once, its `Message-ID` naming the send).
//!
//! Each step sends through a campaign of its own per version of the message's links (see
//! migration 0033), made on its first send with those links: an edit of the message's links
//! makes a new campaign, and the links already sent keep their destinations.
//!
//! The sender renders the message as it is when it hands the send over: an edit of its links
//! in the moment between a move and the hand-over sends the new links against the old ones'
//! campaign (as an edit during a campaign's sending does).
//! TODO(issue 12): queue the links' digest with the send and let the sender re-file it.

use std::collections::{BTreeSet, HashMap};

use sqlx::{AnyConnection, Row};
use tracklane_core::email::ContactEmail;
use tracklane_core::ids::{AutomationId, CampaignId, ContactId, MessageId};
use tracklane_core::invalid::Invalid;
use tracklane_core::links::{find_links, links_digest};
use tracklane_core::list::ListStatus;
use tracklane_core::message::CampaignStatus;
use tracklane_core::time::Timestamp;

use super::claims::Claimed;
use crate::campaign_start::record_links_in;
use crate::send_status::SendStatus;
use crate::sql::{Statement, Value};
use crate::{Engine, StoreError};

/// The campaign of a step's message, by the digest of its links.
const STEP_CAMPAIGN: &str = "SELECT id FROM campaigns WHERE automation_id = $1 \
    AND automation_step = $2 AND message_id = $3 AND links_digest = $4";

/// The campaigns of email steps found in one transaction, by automation, step and message:
/// the message's links are read once per transaction, not once per send.
pub(crate) type StepCampaigns = HashMap<(AutomationId, String, MessageId), CampaignId>;

/// Why an automation email to a contact was skipped.
pub(crate) const NOT_SUBSCRIBED: &str =
    "the contact is subscribed to no list: automations email subscribers only";

/// How many sends one statement queues.
const CHUNK: usize = 200;

/// An email a step sends, for a claimed run's contact.
#[derive(Debug, Clone)]
pub(crate) struct StepEmail {
    /// The run, as claimed: the send is unique per run and visit (the claim's epoch).
    pub claimed: Claimed,
    /// The step's id.
    pub step: String,
    /// The message.
    pub message: MessageId,
    /// For a notification, who gets it (about the contact); none sends to the contact.
    pub notify: Option<ContactEmail>,
}

/// Queues the steps' emails in the move's transaction, a chunk per statement; answers those
/// skipped. A contact subscribed to no list gets no email from an automation (as in
/// ActiveCampaign: an unsubscribe is the person's choice): its email is skipped ([`NOT_SUBSCRIBED`]);
/// a notification goes to its address whatever the contact's lists.
pub(crate) async fn queue_emails_in<'a>(
    tx: &mut AnyConnection,
    engine: Engine,
    emails: &'a [StepEmail],
    campaigns: &mut StepCampaigns,
    now: Timestamp,
) -> Result<Vec<&'a StepEmail>, StoreError> {
    let readers: Vec<ContactId> = emails
        .iter()
        .filter(|email| email.notify.is_none())
        .map(|email| email.claimed.contact)
        .collect();
    let subscribed = subscribed_anywhere(tx, engine, &readers).await?;
    let (sent, skipped): (Vec<&StepEmail>, Vec<&StepEmail>) = emails
        .iter()
        .partition(|email| email.notify.is_some() || subscribed.contains(&email.claimed.contact));
    let mut rows = Vec::with_capacity(sent.len());
    for email in sent {
        let claimed = &email.claimed;
        let key = (claimed.automation, email.step.clone(), email.message);
        let campaign = match campaigns.get(&key) {
            Some(campaign) => *campaign,
            None => {
                let campaign = step_campaign(tx, email, now).await?;
                campaigns.insert(key, campaign);
                campaign
            }
        };
        rows.push([
            Value::from(claimed.account.0),
            campaign.0.into(),
            claimed.contact.0.into(),
            (SendStatus::Queued as i64).into(),
            now.0.into(),
            now.0.into(),
            claimed.run.0.into(),
            claimed.epoch.into(),
            email.notify.as_ref().map(ToString::to_string).into(),
        ]);
    }
    for chunk in rows.chunks(CHUNK) {
        let mut insert = Statement::new(
            engine,
            "INSERT INTO sends (account_id, campaign_id, contact_id, status, next_attempt_at, \
             created_at, run_id, visit, to_address) VALUES ",
        );
        insert
            .push_rows(chunk.iter().cloned())
            .push(" ON CONFLICT (campaign_id, contact_id, run_id, visit) DO NOTHING");
        insert.query().execute(&mut *tx).await?;
    }
    Ok(skipped)
}

/// Which of `contacts` are subscribed to at least one list.
async fn subscribed_anywhere(
    tx: &mut AnyConnection,
    engine: Engine,
    contacts: &[ContactId],
) -> Result<BTreeSet<ContactId>, StoreError> {
    let mut subscribed = BTreeSet::new();
    for chunk in contacts.chunks(CHUNK) {
        let mut select = Statement::new(
            engine,
            "SELECT DISTINCT contact_id FROM contact_lists WHERE status = ",
        );
        select
            .push_bind(ListStatus::Active.code())
            .push(" AND contact_id IN ")
            .push_row(chunk.iter().map(|contact| Value::from(contact.0)));
        for row in select.query().fetch_all(&mut *tx).await? {
            subscribed.insert(ContactId(row.try_get(0)?));
        }
    }
    Ok(subscribed)
}

/// The campaign the step sends its message's current links through, made (with those links)
/// on their first send. Notifications are not tracked: their reader is not the contact.
async fn step_campaign(
    tx: &mut AnyConnection,
    email: &StepEmail,
    now: Timestamp,
) -> Result<CampaignId, StoreError> {
    let claimed = &email.claimed;
    let account = claimed.account;
    let message = sqlx::query(
        "SELECT m.html, a.name FROM messages m, automations a \
         WHERE m.id = $1 AND m.account_id = $2 AND a.id = $3",
    )
    .bind(email.message.0)
    .bind(account.0)
    .bind(claimed.automation.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| {
        Invalid::bad_value("message", format!("there is no message {}", email.message))
    })?;
    let html: String = message.try_get("html")?;
    let links = find_links(&html).map_err(|error| Invalid::bad_value("html", error.to_string()))?;
    let key = |sql: &'static str| {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(claimed.automation.0)
            .bind(email.step.as_str())
            .bind(email.message.0)
            .bind(links_digest(&links))
    };
    if let Some(id) = key(STEP_CAMPAIGN).fetch_optional(&mut *tx).await? {
        return Ok(CampaignId(id));
    }
    let tracked = email.notify.is_none();
    let automation: String = message.try_get("name")?;
    // On PostgreSQL a concurrent first send waits for the other's commit, then finds its
    // campaign.
    let made = key(
        "INSERT INTO campaigns (automation_id, automation_step, message_id, links_digest, \
         account_id, name, track_links, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (automation_id, automation_step, message_id, links_digest) \
         WHERE automation_id IS NOT NULL DO NOTHING RETURNING id",
    )
    .bind(account.0)
    .bind(format!("{automation}: {}", email.step))
    .bind(i64::from(tracked))
    .bind(CampaignStatus::Sending.code())
    .bind(now.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = made.map(CampaignId) else {
        return Ok(CampaignId(key(STEP_CAMPAIGN).fetch_one(&mut *tx).await?));
    };
    if tracked {
        record_links_in(tx, account, id, &links, now).await?;
    }
    Ok(id)
}
