//! Starting a campaign, now or at its `sdate`. A start is one commit: its segment (when it
//! targets one) is held ready, its status moves from draft (or scheduled) to sending, its
//! tracked links are recorded, and a send row is queued per recipient, so a restart resumes and
//! nobody gets it twice. A scheduled campaign (status 1) waits for a sender's pass after its
//! `sdate` ([`Store::due_campaigns`]).

use sqlx::AnyConnection;
use tracklane_core::ids::{AccountId, CampaignId, SegmentId};
use tracklane_core::invalid::Invalid;
use tracklane_core::links::TrackedLink;
use tracklane_core::list::ListStatus;
use tracklane_core::message::{Campaign, CampaignStatus};
use tracklane_core::time::Timestamp;

use crate::send_status::SendStatus;
use crate::sql::Statement;
use crate::writes::Written;
use crate::{Engine, Store, StoreError};

/// Which campaigns a start takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Starting {
    /// A draft or a scheduled campaign, now (the API's send).
    Now,
    /// A scheduled campaign whose `sdate` has come, and only while it is still scheduled.
    AtItsDate,
}

/// Refuses a targeted segment that is gone or whose members answer an older revision, and
/// (PostgreSQL) holds its row until the transaction ends, so that neither an edit nor a
/// computation changes the members the sends are queued from.
async fn hold_ready_segment(
    tx: &mut AnyConnection,
    engine: Engine,
    account: AccountId,
    segment: SegmentId,
) -> Result<(), StoreError> {
    let revisions: Option<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT revision, computed_revision FROM segments WHERE id = $1 AND account_id = $2{}",
        engine.share_lock()
    ))
    .bind(segment.0)
    .bind(account.0)
    .fetch_optional(&mut *tx)
    .await?;
    let refusal = match revisions {
        None => "the segment this campaign targets was deleted",
        Some((revision, computed)) if computed < revision => {
            return Err(Invalid::not_ready(
                "segmentid",
                "the segment's members are being computed after an edit: send again in a moment",
            )
            .into());
        }
        Some(_) => return Ok(()),
    };
    Err(Invalid::bad_value("segmentid", refusal).into())
}

/// Records a campaign's tracked links (the sent links name their positions).
pub(crate) async fn record_links_in(
    tx: &mut AnyConnection,
    account: AccountId,
    campaign: CampaignId,
    links: &[TrackedLink],
    now: Timestamp,
) -> Result<(), StoreError> {
    for link in links {
        sqlx::query(
            "INSERT INTO campaign_links (account_id, campaign_id, position, url, text, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(account.0)
        .bind(campaign.0)
        .bind(i64::try_from(link.position).unwrap_or(i64::MAX))
        .bind(link.url.as_str())
        .bind(link.text.as_str())
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The statement that queues one send per recipient of `campaign` at `now`: its list's
/// subscribers (who are members of its segment, when it targets one), or, for a campaign to a
/// segment alone, the segment's members subscribed to at least one list (once each: the
/// conflict clause drops their other lists' rows). Someone unsubscribed or bounced everywhere
/// is never sent to.
fn queue_sends(
    campaign: &Campaign,
    engine: Engine,
    account: AccountId,
    now: Timestamp,
) -> Statement {
    let mut insert = Statement::new(
        engine,
        "INSERT INTO sends (account_id, campaign_id, contact_id, status, next_attempt_at, \
         created_at) SELECT ",
    );
    insert
        .push_bind(account.0)
        .and(", ", campaign.id.0)
        .push(", cl.contact_id")
        .and(", ", SendStatus::Queued as i64)
        .and(", ", now.0)
        .and(", ", now.0)
        .and(" FROM contact_lists cl WHERE cl.account_id = ", account.0)
        .and(" AND cl.status = ", ListStatus::Active.code());
    if let Some(list) = campaign.list {
        insert.and(" AND cl.list_id = ", list.0);
    }
    if let Some(segment) = campaign.segment {
        insert
            .and(
                " AND EXISTS (SELECT 1 FROM segment_members m WHERE m.segment_id = ",
                segment.0,
            )
            .push(" AND m.contact_id = cl.contact_id)");
    }
    insert.push(" ON CONFLICT (campaign_id, contact_id, run_id, visit) DO NOTHING");
    insert
}

impl Store {
    /// Starts a draft or scheduled campaign now (the API's send): records its tracked links and
    /// queues one send per recipient (see [`queue_sends`]). Returns how many sends were queued.
    /// Refused (an [`Invalid`] on `status`) for a campaign that started already, and with the
    /// code `not_ready` while its segment is being computed.
    pub async fn start_campaign(
        &self,
        account: AccountId,
        campaign: CampaignId,
        links: &[TrackedLink],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        self.start(account, campaign, links, now, Starting::Now)
            .await
    }

    /// Starts a scheduled campaign whose `sdate` has come, as [`Store::start_campaign`] does;
    /// refused when it is no longer scheduled by then (cancelled, moved later, or started by
    /// another node meanwhile).
    pub async fn start_scheduled_campaign(
        &self,
        account: AccountId,
        campaign: CampaignId,
        links: &[TrackedLink],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        self.start(account, campaign, links, now, Starting::AtItsDate)
            .await
    }

    async fn start(
        &self,
        account: AccountId,
        campaign: CampaignId,
        links: &[TrackedLink],
        now: Timestamp,
        starting: Starting,
    ) -> Result<u64, StoreError> {
        let found = self.existing_campaign(account, campaign).await?;
        self.write(async |tx| {
            if let Some(segment) = found.segment {
                hold_ready_segment(tx, self.engine, account, segment).await?;
            }
            let mut claim = Statement::new(self.engine, "UPDATE campaigns SET status = ");
            claim
                .push_bind(CampaignStatus::Sending.code())
                .and(", updated_at = ", now.0)
                .and(", started_at = ", now.0)
                .and(" WHERE account_id = ", account.0)
                .and(" AND id = ", campaign.0);
            match starting {
                Starting::Now => claim
                    .and(" AND status IN (", CampaignStatus::Draft.code())
                    .and(", ", CampaignStatus::Scheduled.code())
                    .push(")"),
                Starting::AtItsDate => claim
                    .and(" AND status = ", CampaignStatus::Scheduled.code())
                    .and(" AND scheduled_at <= ", now.0),
            };
            let claimed = claim.query().execute(&mut *tx).await?.rows_affected();
            if claimed == 0 {
                return Err(Invalid::bad_value(
                    "status",
                    "the campaign is not a draft or scheduled to start now",
                )
                .into());
            }
            record_links_in(tx, account, campaign, links, now).await?;
            let queued = queue_sends(&found, self.engine, account, now)
                .query()
                .execute(&mut *tx)
                .await?
                .rows_affected();
            Ok(queued)
        })
        .await
    }

    /// Schedules a draft campaign (or moves a scheduled one) to start by itself at `at`
    /// (status 1). Refused for a campaign that started, and for an automation's.
    pub async fn schedule_campaign(
        &self,
        account: AccountId,
        campaign: CampaignId,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let found = self.existing_campaign(account, campaign).await?;
        if found.automation.is_some() {
            return Err(automation_refusal());
        }
        let scheduled = sqlx::query(
            "UPDATE campaigns SET status = $1, scheduled_at = $2, last_error = NULL, \
             updated_at = $3 WHERE account_id = $4 AND id = $5 AND status IN ($6, $1)",
        )
        .bind(CampaignStatus::Scheduled.code())
        .bind(at.0)
        .bind(now.0)
        .bind(account.0)
        .bind(campaign.0)
        .bind(CampaignStatus::Draft.code())
        .execute(&self.writer)
        .written(self)
        .await?
        .rows_affected();
        if scheduled == 0 {
            return Err(Invalid::bad_value("status", "the campaign was sent already").into());
        }
        Ok(())
    }

    /// Moves a scheduled campaign back to draft, noting `why` (a start that was refused) as
    /// its `lastError`; answers whether it was scheduled.
    pub async fn unschedule_campaign(
        &self,
        account: AccountId,
        campaign: CampaignId,
        why: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let unscheduled = sqlx::query(
            "UPDATE campaigns SET status = $1, scheduled_at = NULL, last_error = $2, \
             updated_at = $3 WHERE account_id = $4 AND id = $5 AND status = $6",
        )
        .bind(CampaignStatus::Draft.code())
        .bind(why)
        .bind(now.0)
        .bind(account.0)
        .bind(campaign.0)
        .bind(CampaignStatus::Scheduled.code())
        .execute(&self.writer)
        .written(self)
        .await?
        .rows_affected();
        Ok(unscheduled > 0)
    }

    /// Scheduled campaigns whose `sdate` is at or before `now`, earliest first, at most
    /// `limit`.
    pub async fn due_campaigns(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(AccountId, CampaignId)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT account_id, id FROM campaigns WHERE status = $1 AND scheduled_at <= $2 \
             ORDER BY scheduled_at, id LIMIT $3",
        )
        .bind(CampaignStatus::Scheduled.code())
        .bind(now.0)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(account, id)| (AccountId(account), CampaignId(id)))
            .collect())
    }
}

/// The refusal to schedule, pause or cancel an automation's email campaign, which sends as long
/// as its step does.
pub(crate) fn automation_refusal() -> StoreError {
    Invalid::bad_value(
        "status",
        "this campaign sends an automation's email step: change the automation instead",
    )
    .into()
}
