//! Starting campaigns: at once through the API's send, or at their `sdate` by the sender's pass
//! ([`start_due`]). Both check the message the same way and record its links when they are
//! tracked.

use tracklane_core::ids::{AccountId, CampaignId};
use tracklane_core::invalid::{Code, Invalid};
use tracklane_core::links::{find_links, TrackedLink};
use tracklane_core::time::Timestamp;
use tracklane_store::{Store, StoreError};

/// Scheduled campaigns started in one pass, at most.
const DUE_PER_PASS: i64 = 10;

/// The links of campaign `id`'s message that its sends track (none when tracking is off for it
/// or its account), after checking that the message renders; refused as an [`Invalid`] on
/// `html` otherwise.
pub async fn tracked_links(
    store: &Store,
    account: AccountId,
    id: CampaignId,
) -> Result<Vec<TrackedLink>, StoreError> {
    let campaign = store.existing_campaign(account, id).await?;
    let message = store.existing_message(account, campaign.message).await?;
    message.check_renders()?;
    let tracked = campaign.track_links && store.email_settings(account).await?.track_links;
    if !tracked {
        return Ok(Vec::new());
    }
    Ok(find_links(&message.html).map_err(|error| Invalid::bad_value("html", error.to_string()))?)
}

/// Starts a draft or scheduled campaign now; answers how many sends were queued.
pub async fn start_campaign(
    store: &Store,
    account: AccountId,
    id: CampaignId,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let links = tracked_links(store, account, id).await?;
    store.start_campaign(account, id, &links, now).await
}

/// Starts the scheduled campaigns whose `sdate` has come; answers how many started. One whose
/// segment is being computed waits for the next pass; one refused for good (its message no
/// longer renders, its segment is gone) goes back to draft with the reason as its `lastError`.
/// A campaign cancelled or moved meanwhile is left as it now is, and of several nodes one
/// starts each campaign. A failure of one campaign is logged and does not keep the others (or
/// the sends after this pass) waiting.
pub async fn start_due(store: &Store, now: Timestamp) -> Result<usize, StoreError> {
    let mut started = 0;
    for (account, id) in store.due_campaigns(now, DUE_PER_PASS).await? {
        let start = async {
            let links = tracked_links(store, account, id).await?;
            store
                .start_scheduled_campaign(account, id, &links, now)
                .await
        };
        match start.await {
            Ok(queued) => {
                tracing::info!(campaign = %id, queued, "scheduled campaign started");
                started += 1;
            }
            // Being computed: the next pass starts it. No longer scheduled for now (cancelled,
            // moved, started elsewhere): nothing to do.
            Err(StoreError::Invalid(refusal))
                if refusal.code == Code::NotReady || refusal.attribute == "status" => {}
            Err(StoreError::Invalid(refusal)) => {
                let why = format!("the scheduled start was refused: {}", refusal.detail);
                match store
                    .unschedule_campaign(account, id, Some(&why), now)
                    .await
                {
                    Ok(true) => tracing::warn!(campaign = %id, reason = %refusal.detail, "{why}"),
                    Ok(false) => {}
                    Err(error) => tracing::error!(campaign = %id, error = ?error, "{why}"),
                }
            }
            Err(error) => {
                tracing::error!(campaign = %id, error = ?error, "starting a scheduled campaign failed");
            }
        }
    }
    Ok(started)
}
