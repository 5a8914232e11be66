//! Pausing a campaign (through the API, or because its deliveries keep failing for reasons
//! that are not the recipients'), resuming it, and cancelling it.
//!
//! A failure that is not the recipient's (the connection, the sender's settings, the message,
//! the mail server) is retried with backoff like any other, but it also counts against its
//! campaign: `campaigns.failures` holds how many of its deliveries in a row failed so, and a
//! message accepted or a recipient refused (which shows the server at work) starts the count
//! again. At [`PAUSE_AFTER_FAILURES`] the campaign is paused (status 3) with the reason and the
//! server's last answer; its remaining sends stay queued and are not claimed until
//! [`Store::resume_campaign`]. Recipient deferrals (a busy mailbox) neither count nor reset.

use sqlx::{AnyConnection, Row};
use tracklane_core::ids::{AccountId, CampaignId};
use tracklane_core::invalid::Invalid;
use tracklane_core::message::{
    pause_reason, CampaignStatus, PAUSED_BY_REQUEST, PAUSE_AFTER_FAILURES,
};
use tracklane_core::time::Timestamp;

use crate::campaign_start::automation_refusal;
use crate::send_status::SendStatus;
use crate::sends::{ClaimedSend, SendOutcome};
use crate::{Store, StoreError};

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// A scheduled campaign went back to draft: nothing was sent.
    Unscheduled,
    /// A sending or paused campaign stopped (status 4); this many queued sends were dropped.
    Stopped(u64),
}

/// How one round's outcomes change a campaign's count of failures in a row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tally {
    /// Whether the count starts again (a message was accepted or a recipient refused).
    restart: bool,
    /// Failures since the restart, or since the round began when there was none.
    failures: i64,
    /// The last failure's answer.
    last_error: Option<String>,
}

impl Tally {
    /// Adds one outcome, in the order the round finished them.
    fn add(&mut self, outcome: &SendOutcome) {
        match outcome {
            SendOutcome::Sent | SendOutcome::Bounced { .. } => {
                self.restart = true;
                self.failures = 0;
            }
            SendOutcome::Failed { error, .. } => {
                self.failures += 1;
                self.last_error = Some(error.clone());
            }
            SendOutcome::Deferred { .. } | SendOutcome::Dropped => {}
        }
    }
}

/// The tallies of `finished`'s campaigns, in the order each campaign first appears.
fn tallies(finished: &[(ClaimedSend, SendOutcome)]) -> Vec<(CampaignId, Tally)> {
    let mut tallies: Vec<(CampaignId, Tally)> = Vec::new();
    for (send, outcome) in finished {
        let index = match tallies.iter().position(|(id, _)| *id == send.campaign) {
            Some(index) => index,
            None => {
                tallies.push((send.campaign, Tally::default()));
                tallies.len() - 1
            }
        };
        tallies[index].1.add(outcome);
    }
    tallies
}

/// Counts `finished`'s failures against their campaigns and pauses the sending campaigns whose
/// failures in a row reach [`PAUSE_AFTER_FAILURES`]; answers those paused. Runs inside the
/// transaction that records the round, so the count and the sends never disagree; the count is
/// updated in place, so rounds of several nodes add up.
pub(crate) async fn pause_failing_campaigns_in(
    tx: &mut AnyConnection,
    finished: &[(ClaimedSend, SendOutcome)],
    now: Timestamp,
) -> Result<Vec<CampaignId>, StoreError> {
    let mut paused = Vec::new();
    for (campaign, tally) in tallies(finished) {
        if !tally.restart && tally.failures == 0 {
            continue;
        }
        let row = sqlx::query(
            "UPDATE campaigns SET failures = CASE WHEN $1 = 1 THEN $2 ELSE failures + $2 END, \
             last_error = COALESCE($3, last_error) WHERE id = $4 \
             RETURNING failures, status, last_error",
        )
        .bind(i64::from(tally.restart))
        .bind(tally.failures)
        .bind(tally.last_error)
        .bind(campaign.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { continue };
        let failures: i64 = row.try_get("failures")?;
        let status = CampaignStatus::from_code(row.try_get("status")?);
        if failures < PAUSE_AFTER_FAILURES || status != CampaignStatus::Sending {
            continue;
        }
        let last_error: Option<String> = row.try_get("last_error")?;
        sqlx::query(
            "UPDATE campaigns SET status = $1, paused_reason = $2, updated_at = $3 \
             WHERE id = $4 AND status = $5",
        )
        .bind(CampaignStatus::Paused.code())
        .bind(pause_reason(failures, last_error.as_deref().unwrap_or("")))
        .bind(now.0)
        .bind(campaign.0)
        .bind(CampaignStatus::Sending.code())
        .execute(&mut *tx)
        .await?;
        paused.push(campaign);
    }
    Ok(paused)
}

impl Store {
    /// Pauses a sending campaign (status 3) with [`PAUSED_BY_REQUEST`]: its sends stay queued
    /// and are not claimed until it is resumed; those being handed over finish. Refused (an
    /// [`Invalid`] on `status`) for a campaign that is not sending, and for an automation's.
    pub async fn pause_campaign(
        &self,
        account: AccountId,
        campaign: CampaignId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if self
            .existing_campaign(account, campaign)
            .await?
            .automation
            .is_some()
        {
            return Err(automation_refusal());
        }
        self.write(async |tx| {
            let paused = sqlx::query(
                "UPDATE campaigns SET status = $1, paused_reason = $2, updated_at = $3 \
                 WHERE account_id = $4 AND id = $5 AND status = $6",
            )
            .bind(CampaignStatus::Paused.code())
            .bind(PAUSED_BY_REQUEST)
            .bind(now.0)
            .bind(account.0)
            .bind(campaign.0)
            .bind(CampaignStatus::Sending.code())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if paused == 0 {
                return Err(Invalid::bad_value("status", "the campaign is not sending").into());
            }
            Ok(())
        })
        .await
    }

    /// Cancels a campaign: a scheduled one goes back to draft; a sending or paused one stops
    /// (status 4, its `ldate` now), and its queued sends are dropped in the same commit (those
    /// being handed over finish). Refused (an [`Invalid`] on `status`) for a draft or a
    /// finished campaign, and for an automation's.
    pub async fn cancel_campaign(
        &self,
        account: AccountId,
        campaign: CampaignId,
        now: Timestamp,
    ) -> Result<Cancelled, StoreError> {
        if self
            .existing_campaign(account, campaign)
            .await?
            .automation
            .is_some()
        {
            return Err(automation_refusal());
        }
        if self
            .unschedule_campaign(account, campaign, None, now)
            .await?
        {
            return Ok(Cancelled::Unscheduled);
        }
        self.write(async |tx| {
            let stopped = sqlx::query(
                "UPDATE campaigns SET status = $1, paused_reason = NULL, finished_at = $2, \
                 updated_at = $2 WHERE account_id = $3 AND id = $4 AND status IN ($5, $6)",
            )
            .bind(CampaignStatus::Stopped.code())
            .bind(now.0)
            .bind(account.0)
            .bind(campaign.0)
            .bind(CampaignStatus::Sending.code())
            .bind(CampaignStatus::Paused.code())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if stopped == 0 {
                return Err(Invalid::bad_value(
                    "status",
                    "only a scheduled, sending or paused campaign can be cancelled",
                )
                .into());
            }
            let dropped =
                sqlx::query("UPDATE sends SET status = $1 WHERE campaign_id = $2 AND status = $3")
                    .bind(SendStatus::Cancelled as i64)
                    .bind(campaign.0)
                    .bind(SendStatus::Queued as i64)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            Ok(Cancelled::Stopped(dropped))
        })
        .await
    }

    /// Sets a paused campaign sending again, in one commit: its count of failures starts
    /// again, the pause's reason is cleared, and its queued sends are due at once (the cause is
    /// taken to be fixed). Refuses (an [`Invalid`] on `status`) a campaign that is not paused.
    pub async fn resume_campaign(
        &self,
        account: AccountId,
        campaign: CampaignId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.existing_campaign(account, campaign).await?;
        self.write(async |tx| {
            let resumed = sqlx::query(
                "UPDATE campaigns SET status = $1, failures = 0, paused_reason = NULL, \
                 updated_at = $2 WHERE account_id = $3 AND id = $4 AND status = $5",
            )
            .bind(CampaignStatus::Sending.code())
            .bind(now.0)
            .bind(account.0)
            .bind(campaign.0)
            .bind(CampaignStatus::Paused.code())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if resumed == 0 {
                return Err(Invalid::bad_value("status", "the campaign is not paused").into());
            }
            sqlx::query(
                "UPDATE sends SET next_attempt_at = $1 \
                 WHERE campaign_id = $2 AND status = $3 AND next_attempt_at > $1",
            )
            .bind(now.0)
            .bind(campaign.0)
            .bind(SendStatus::Queued as i64)
            .execute(&mut *tx)
            .await?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use tracklane_core::ids::ContactId;

    use super::*;

    fn send(campaign: i64) -> ClaimedSend {
        ClaimedSend {
            id: 1,
            account: AccountId(1),
            campaign: CampaignId(campaign),
            contact: ContactId(1),
            attempts: 1,
            notify: None,
        }
    }

    fn failed(error: &str) -> SendOutcome {
        SendOutcome::Failed {
            at: Timestamp(0),
            error: error.to_owned(),
        }
    }

    fn deferred() -> SendOutcome {
        SendOutcome::Deferred {
            at: Timestamp(0),
            error: "450".to_owned(),
        }
    }

    #[test]
    fn failures_add_up_until_a_delivery_starts_the_count_again() {
        let round = [
            (send(1), failed("500 a")),
            (send(2), deferred()),
            (send(1), failed("500 b")),
            (send(2), SendOutcome::Sent),
            (send(1), deferred()),
        ];
        let tallies = tallies(&round);
        assert_eq!(tallies.len(), 2);
        assert_eq!(
            tallies[0],
            (
                CampaignId(1),
                Tally {
                    restart: false,
                    failures: 2,
                    last_error: Some("500 b".to_owned())
                }
            ),
            "failures without a delivery between add to the campaign's count"
        );
        assert_eq!(
            tallies[1],
            (
                CampaignId(2),
                Tally {
                    restart: true,
                    failures: 0,
                    last_error: None
                }
            )
        );
    }

    #[test]
    fn a_bounce_shows_the_server_at_work_and_starts_the_count_again() {
        let round = [
            (send(1), failed("421 a")),
            (
                send(1),
                SendOutcome::Bounced {
                    error: "550 5.1.1".to_owned(),
                },
            ),
            (send(1), failed("421 b")),
        ];
        let (_, tally) = &tallies(&round)[0];
        assert!(tally.restart);
        assert_eq!(
            tally.failures, 1,
            "only the failure after the bounce counts"
        );
    }
}
