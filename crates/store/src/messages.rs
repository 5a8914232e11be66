//! Messages and campaigns.

use sqlx::any::AnyRow;
use sqlx::Row;
use tracklane_core::ids::{AccountId, AutomationId, CampaignId, ListId, MessageId, SegmentId};
use tracklane_core::invalid::Invalid;
use tracklane_core::message::{
    Campaign, CampaignDraft, CampaignStatus, Message, MessageDraft, MessagePatch,
};
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;

use crate::listing::{owned_row, page_of, Listed};
use crate::sql::Statement;
use crate::writes::Written;
use crate::{Model, Store, StoreError};

const MESSAGE_COLUMNS: &str =
    "id, name, subject, from_name, from_email, reply_to, html, text, created_at, updated_at";

const CAMPAIGN_COLUMNS: &str =
    "id, name, message_id, list_id, segment_id, track_links, status, paused_reason, last_error, \
     created_at, updated_at, automation_id, scheduled_at, started_at, finished_at";

fn message(row: &AnyRow) -> Result<Message, sqlx::Error> {
    Ok(Message {
        id: MessageId(row.try_get("id")?),
        name: row.try_get("name")?,
        subject: row.try_get("subject")?,
        from_name: row.try_get("from_name")?,
        from_email: row.try_get("from_email")?,
        reply_to: row.try_get("reply_to")?,
        html: row.try_get("html")?,
        text: row.try_get("text")?,
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

fn campaign(row: &AnyRow) -> Result<Campaign, sqlx::Error> {
    Ok(Campaign {
        id: CampaignId(row.try_get("id")?),
        name: row.try_get("name")?,
        message: MessageId(row.try_get("message_id")?),
        list: row.try_get::<Option<i64>, _>("list_id")?.map(ListId),
        segment: row.try_get::<Option<i64>, _>("segment_id")?.map(SegmentId),
        track_links: row.try_get::<i64, _>("track_links")? != 0,
        automation: row
            .try_get::<Option<i64>, _>("automation_id")?
            .map(AutomationId),
        status: CampaignStatus::from_code(row.try_get("status")?),
        paused_reason: row.try_get("paused_reason")?,
        last_error: row.try_get("last_error")?,
        scheduled_at: row
            .try_get::<Option<i64>, _>("scheduled_at")?
            .map(Timestamp),
        started_at: row.try_get::<Option<i64>, _>("started_at")?.map(Timestamp),
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(Timestamp),
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

/// What a campaign uses that must outlive it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CampaignUse {
    /// The message it sends.
    Message(MessageId),
    /// The list it sends to.
    List(ListId),
}

impl Store {
    /// Creates a message from a validated draft.
    pub async fn create_message(
        &self,
        account: AccountId,
        draft: MessageDraft,
        now: Timestamp,
    ) -> Result<Message, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO messages (account_id, name, subject, from_name, from_email, reply_to, \
             html, text, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(account.0)
        .bind(draft.name)
        .bind(draft.subject)
        .bind(draft.from_name)
        .bind(draft.from_email)
        .bind(draft.reply_to)
        .bind(draft.html)
        .bind(draft.text)
        .bind(now.0)
        .fetch_one(&self.writer)
        .written(self)
        .await?;
        Ok(message(&row)?)
    }

    /// The message with this id, or [`StoreError::NotFound`].
    pub async fn existing_message(
        &self,
        account: AccountId,
        id: MessageId,
    ) -> Result<Message, StoreError> {
        let key = (Model::Message, account, id.0);
        owned_row(&self.reader, "messages", MESSAGE_COLUMNS, key, message).await
    }

    /// One page of messages, oldest first.
    pub async fn messages(
        &self,
        account: AccountId,
        page: Page,
    ) -> Result<Listed<Message>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM messages WHERE account_id = ");
        filter.push_bind(account.0);
        page_of(
            &self.reader,
            MESSAGE_COLUMNS,
            &filter,
            "id ASC",
            page,
            message,
        )
        .await
    }

    /// Changes the attributes present in `patch`.
    pub async fn update_message(
        &self,
        account: AccountId,
        id: MessageId,
        patch: MessagePatch,
        now: Timestamp,
    ) -> Result<Message, StoreError> {
        let mut update = Statement::new(self.engine, "UPDATE messages SET updated_at = ");
        update.push_bind(now.0).push_present([
            (", name = ", patch.name),
            (", subject = ", patch.subject),
            (", from_name = ", patch.from_name),
            (", from_email = ", patch.from_email),
            (", reply_to = ", patch.reply_to),
            (", html = ", patch.html),
            (", text = ", patch.text),
        ]);
        update
            .and(" WHERE account_id = ", account.0)
            .and(" AND id = ", id.0)
            .push(" RETURNING ")
            .push(MESSAGE_COLUMNS);
        let row = update
            .query()
            .fetch_optional(&self.writer)
            .written(self)
            .await?;
        row.as_ref()
            .map(message)
            .transpose()?
            .ok_or(StoreError::NotFound {
                model: Model::Message,
                id: id.0,
            })
    }

    /// Deletes a message that no campaign uses.
    pub async fn delete_message(
        &self,
        account: AccountId,
        id: MessageId,
    ) -> Result<(), StoreError> {
        self.existing_message(account, id).await?;
        self.refuse_if_a_campaign_uses(
            account,
            CampaignUse::Message(id),
            Invalid::bad_value("message", "a campaign sends this message"),
        )
        .await?;
        self.delete_owned("messages", Model::Message, account, id.0)
            .await
    }

    /// Refuses with `refusal` when one of the account's campaigns uses the message or list:
    /// a campaign keeps what it sent and to whom, so neither may be deleted under it.
    pub(crate) async fn refuse_if_a_campaign_uses(
        &self,
        account: AccountId,
        used: CampaignUse,
        refusal: Invalid,
    ) -> Result<(), StoreError> {
        let (column, id) = match used {
            CampaignUse::Message(id) => ("message_id", id.0),
            CampaignUse::List(id) => ("list_id", id.0),
        };
        let campaign = sqlx::query(&format!(
            "SELECT id FROM campaigns WHERE account_id = $1 AND {column} = $2"
        ))
        .bind(account.0)
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        match campaign {
            Some(_) => Err(refusal.into()),
            None => Ok(()),
        }
    }

    /// Creates a campaign; its message, list and segment must be the account's.
    pub async fn create_campaign(
        &self,
        account: AccountId,
        draft: CampaignDraft,
        now: Timestamp,
    ) -> Result<Campaign, StoreError> {
        self.existing_message(account, draft.message).await?;
        if let Some(list) = draft.list {
            self.existing_list(account, list).await?;
        }
        if let Some(segment) = draft.segment {
            self.existing_segment(account, segment).await?;
        }
        let row = sqlx::query(&format!(
            "INSERT INTO campaigns (account_id, name, message_id, list_id, track_links, status, \
             created_at, updated_at, segment_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) \
             RETURNING {CAMPAIGN_COLUMNS}"
        ))
        .bind(account.0)
        .bind(draft.name)
        .bind(draft.message.0)
        .bind(draft.list.map(|l| l.0))
        .bind(i64::from(draft.track_links))
        .bind(CampaignStatus::Draft.code())
        .bind(now.0)
        .bind(draft.segment.map(|s| s.0))
        .fetch_one(&self.writer)
        .written(self)
        .await?;
        Ok(campaign(&row)?)
    }

    /// The campaign with this id, or [`StoreError::NotFound`].
    pub async fn existing_campaign(
        &self,
        account: AccountId,
        id: CampaignId,
    ) -> Result<Campaign, StoreError> {
        let key = (Model::Campaign, account, id.0);
        owned_row(&self.reader, "campaigns", CAMPAIGN_COLUMNS, key, campaign).await
    }

    /// One page of campaigns, newest first.
    pub async fn campaigns(
        &self,
        account: AccountId,
        page: Page,
    ) -> Result<Listed<Campaign>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM campaigns WHERE account_id = ");
        filter.push_bind(account.0);
        page_of(
            &self.reader,
            CAMPAIGN_COLUMNS,
            &filter,
            "id DESC",
            page,
            campaign,
        )
        .await
    }
}
