//! Link actions: stored per campaign and link destination, run when a person clicks.

use sqlx::Row;
use tracklane_core::ids::{
    AccountId, AutomationId, CampaignId, ContactId, LinkActionId, ListId, TagId,
};
use tracklane_core::link_action::LinkAction;
use tracklane_core::list::ListStatus;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::WebhookSource;

use crate::writes::Written;
use crate::{Model, Store, StoreError};

/// A stored link action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLinkAction {
    /// Its id.
    pub id: i64,
    /// The link's destination it applies to.
    pub url: String,
    /// What it does.
    pub action: LinkAction,
    /// The tag, list or automation it does it with.
    pub target: i64,
}

impl Store {
    /// Adds an action to the campaign's link to `url`; its tag or list must be the account's.
    pub async fn add_link_action(
        &self,
        account: AccountId,
        campaign: CampaignId,
        url: &str,
        action: LinkAction,
        target: i64,
        now: Timestamp,
    ) -> Result<StoredLinkAction, StoreError> {
        self.existing_campaign(account, campaign).await?;
        match action {
            LinkAction::AddTag | LinkAction::RemoveTag => {
                self.existing_tag(account, TagId(target)).await?;
            }
            LinkAction::Subscribe | LinkAction::Unsubscribe => {
                self.existing_list(account, ListId(target)).await?;
            }
            LinkAction::StartAutomation | LinkAction::EndAutomation => {
                self.existing_automation(account, AutomationId(target))
                    .await?;
            }
        }
        let id: i64 = sqlx::query(
            "INSERT INTO link_actions (account_id, campaign_id, url, action, target_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(account.0)
        .bind(campaign.0)
        .bind(url)
        .bind(action.as_str())
        .bind(target)
        .bind(now.0)
        .fetch_one(&self.writer)
        .written(self)
        .await?
        .try_get("id")?;
        Ok(StoredLinkAction {
            id,
            url: url.to_owned(),
            action,
            target,
        })
    }

    /// The campaign's link actions, oldest first.
    pub async fn link_actions(
        &self,
        account: AccountId,
        campaign: CampaignId,
    ) -> Result<Vec<StoredLinkAction>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, url, action, target_id FROM link_actions \
             WHERE account_id = $1 AND campaign_id = $2 ORDER BY id",
        )
        .bind(account.0)
        .bind(campaign.0)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .filter_map(|row| {
                let action: String = row.try_get("action").ok()?;
                Some(Ok(StoredLinkAction {
                    id: row.try_get("id").ok()?,
                    url: row.try_get("url").ok()?,
                    action: LinkAction::parse(&action).ok()?,
                    target: row.try_get("target_id").ok()?,
                }))
            })
            .collect()
    }

    /// Deletes a link action.
    pub async fn delete_link_action(
        &self,
        account: AccountId,
        id: LinkActionId,
    ) -> Result<(), StoreError> {
        self.delete_owned("link_actions", Model::LinkAction, account, id.0)
            .await
    }

    /// Runs the actions of the campaign's link to `url` for `contact` (a person's click).
    /// Returns how many ran (an automation that does not take the contact, or that it is not
    /// inside, runs nothing).
    pub async fn apply_link_actions(
        &self,
        account: AccountId,
        campaign: CampaignId,
        url: &str,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut ran = 0;
        for action in self.link_actions(account, campaign).await? {
            if action.url != url {
                continue;
            }
            let outcome = match action.action {
                LinkAction::AddTag => self
                    .add_contact_tag(
                        account,
                        contact,
                        TagId(action.target),
                        WebhookSource::Public,
                        now,
                    )
                    .await
                    .map(|_| true),
                LinkAction::RemoveTag => self
                    .untag_contact(
                        account,
                        contact,
                        TagId(action.target),
                        WebhookSource::Public,
                        now,
                    )
                    .await
                    .map(|_| true),
                LinkAction::Subscribe | LinkAction::Unsubscribe => {
                    let status = if action.action == LinkAction::Subscribe {
                        ListStatus::Active
                    } else {
                        ListStatus::Unsubscribed
                    };
                    self.set_list_status(
                        account,
                        contact,
                        ListId(action.target),
                        status,
                        0,
                        Some(WebhookSource::Public),
                        now,
                    )
                    .await
                    .map(|_| true)
                }
                LinkAction::StartAutomation => {
                    let cause = format!("click:{campaign}:{}", now.0);
                    let automation = AutomationId(action.target);
                    self.enter_automation(account, automation, contact, &cause, now)
                        .await
                        .map(|entered| entered.is_ok())
                }
                LinkAction::EndAutomation => {
                    let automation = AutomationId(action.target);
                    self.end_automation_for(account, automation, contact, now)
                        .await
                }
            };
            match outcome {
                Ok(true) => ran += 1,
                Ok(false) | Err(StoreError::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(ran)
    }
}
