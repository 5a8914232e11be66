//! What recipients did with a campaign's mail, as its statistics count it: one row per click on a
//! link, open (at [`OPEN_PIXEL`]), unsubscribe and trap-link hit, with the scanner's verdict,
//! written in the same commit as the hit's timeline event ([`count_link_hits`]). Unique counts
//! and link actions leave machines out.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use tracklane_core::cid::{OPEN_PIXEL, TRAP_LINK, UNSUBSCRIBE};
use tracklane_core::event::NewEvent;
use tracklane_core::ids::{AccountId, CampaignId, ContactId};
use tracklane_core::time::Timestamp;

use crate::send_status::SendStatus;
use crate::sql::{Statement, Value};
use crate::{Engine, Store, StoreError};

/// A campaign's link and what its recipients did with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStats {
    /// The link row's id.
    pub id: i64,
    /// Its position in the message.
    pub position: i64,
    /// Its destination.
    pub url: String,
    /// Its text.
    pub text: String,
    /// Clicks by people.
    pub clicks: i64,
    /// People who clicked.
    pub unique_clicks: i64,
    /// Clicks the scanner rules took for a machine's.
    pub machine_clicks: i64,
}

/// What the scanner rules need to know when a recipient follows a campaign's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickContext {
    /// The link's destination; `None` for the open pixel, the trap link or an unknown position.
    pub url: Option<String>,
    /// When the campaign was handed over for this recipient.
    pub sent_at: Option<Timestamp>,
    /// How many tracked links the campaign's message has.
    pub links_in_message: usize,
    /// How many distinct other links the recipient clicked since the window's start.
    pub other_links_clicked_since: usize,
    /// When the recipient last followed the campaign's trap link.
    pub trap_followed_at: Option<Timestamp>,
    /// Whether the link has actions to run on a person's click.
    pub has_actions: bool,
    /// Whether the recipient's contact was deleted since: the hit is then counted without a
    /// contact, and runs nothing.
    pub contact_deleted: bool,
}

/// A campaign's counters, as AC's campaign object shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CampaignCounters {
    /// Recipients queued.
    pub total: i64,
    /// Messages handed over (sent, or handed over when a node stopped).
    pub sent: i64,
    /// Recipients whose mail was refused for good.
    pub bounced: i64,
    /// Opens by people.
    pub opens: i64,
    /// People who opened.
    pub unique_opens: i64,
    /// Clicks by people, on any link.
    pub clicks: i64,
    /// People who clicked a link.
    pub unique_clicks: i64,
    /// People who unsubscribed through the campaign.
    pub unsubscribes: i64,
    /// Clicks and opens the scanner rules took for a machine's.
    pub machine_hits: i64,
}

impl Store {
    /// What is known of a recipient's click on (or open of) the campaign's `position` since
    /// `window_start`; `None` when the campaign is not the account's, or the contact is another
    /// account's (a token that pairs one account's campaign with another's contact names no
    /// recipient). A contact deleted since is no reason to refuse: links in mail already sent
    /// outlive it.
    pub async fn click_context(
        &self,
        account: AccountId,
        campaign: CampaignId,
        contact: ContactId,
        position: i64,
        window_start: Timestamp,
    ) -> Result<Option<ClickContext>, StoreError> {
        // `+position`: without it, SQLite (3.46) reads the recipient's recent clicks through
        // `link_clicks_by_campaign` for the order of `DISTINCT position`, that is every click on
        // the campaign, which made each click slower as the campaign collected clicks.
        let row = sqlx::query(
            "SELECT \
             (SELECT url FROM campaign_links WHERE campaign_id = $2 AND position = $4) AS url, \
             (SELECT COUNT(*) FROM campaign_links WHERE campaign_id = $2) AS links, \
             (SELECT MAX(sent_at) FROM sends WHERE campaign_id = $2 AND contact_id = $3) AS sent_at, \
             (SELECT MAX(clicked_at) FROM link_clicks WHERE campaign_id = $2 AND contact_id = $3 \
              AND position = $6) AS trap_at, \
             (SELECT COUNT(DISTINCT position) FROM link_clicks WHERE campaign_id = $2 \
              AND contact_id = $3 AND +position >= 0 AND +position <> $4 AND clicked_at >= $5) \
              AS others, \
             (SELECT COUNT(*) FROM link_actions a JOIN campaign_links l \
              ON l.campaign_id = a.campaign_id AND l.url = a.url \
              WHERE a.campaign_id = $2 AND l.position = $4) AS actions, \
             (SELECT account_id FROM contacts WHERE id = $3) AS contact_account \
             FROM campaigns WHERE id = $2 AND account_id = $1",
        )
        .bind(account.0)
        .bind(campaign.0)
        .bind(contact.0)
        .bind(position)
        .bind(window_start.0)
        .bind(TRAP_LINK)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let contact_deleted = match row.try_get::<Option<i64>, _>("contact_account")? {
            None => true,
            Some(owner) if owner == account.0 => false,
            Some(_) => return Ok(None),
        };
        let count = |column: &str| -> Result<usize, sqlx::Error> {
            Ok(usize::try_from(row.try_get::<i64, _>(column)?).unwrap_or_default())
        };
        Ok(Some(ClickContext {
            url: row.try_get("url")?,
            sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(Timestamp),
            links_in_message: count("links")?,
            other_links_clicked_since: count("others")?,
            trap_followed_at: row.try_get::<Option<i64>, _>("trap_at")?.map(Timestamp),
            has_actions: count("actions")? > 0,
            contact_deleted,
        }))
    }

    /// A campaign's links with their statistics, in message order, then the open pixel (at
    /// [`OPEN_PIXEL`], as AC's "Read Tracker" row).
    pub async fn link_stats(
        &self,
        account: AccountId,
        campaign: CampaignId,
    ) -> Result<Vec<LinkStats>, StoreError> {
        let counted = sqlx::query(
            "SELECT position, COUNT(*) FILTER (WHERE machine IS NULL) AS clicks, \
             COUNT(DISTINCT contact_id) FILTER (WHERE machine IS NULL) AS unique_clicks, \
             COUNT(*) FILTER (WHERE machine IS NOT NULL) AS machine_clicks \
             FROM link_clicks WHERE account_id = $1 AND campaign_id = $2 GROUP BY position",
        )
        .bind(account.0)
        .bind(campaign.0)
        .fetch_all(&self.reader)
        .await?;
        let mut counts = HashMap::new();
        for row in counted {
            let position: i64 = row.try_get("position")?;
            let count: [i64; 3] = [
                row.try_get("clicks")?,
                row.try_get("unique_clicks")?,
                row.try_get("machine_clicks")?,
            ];
            counts.insert(position, count);
        }
        let links = sqlx::query(
            "SELECT id, position, url, text FROM campaign_links \
             WHERE account_id = $1 AND campaign_id = $2 ORDER BY position",
        )
        .bind(account.0)
        .bind(campaign.0)
        .fetch_all(&self.reader)
        .await?;
        let mut stats = Vec::with_capacity(links.len() + 1);
        for row in links {
            stats.push((
                row.try_get("id")?,
                row.try_get("position")?,
                row.try_get("url")?,
                row.try_get("text")?,
            ));
        }
        stats.push((0, OPEN_PIXEL, "open".to_owned(), "Read Tracker".to_owned()));
        Ok(stats
            .into_iter()
            .map(|(id, position, url, text)| {
                let [clicks, unique_clicks, machine_clicks] =
                    counts.get(&position).copied().unwrap_or_default();
                LinkStats {
                    id,
                    position,
                    url,
                    text,
                    clicks,
                    unique_clicks,
                    machine_clicks,
                }
            })
            .collect())
    }

    /// The counters of the account's `campaigns` (those with nothing to count are missing).
    pub async fn campaign_counters(
        &self,
        account: AccountId,
        campaigns: &[CampaignId],
    ) -> Result<HashMap<CampaignId, CampaignCounters>, StoreError> {
        let mut counters: HashMap<CampaignId, CampaignCounters> = HashMap::new();
        if campaigns.is_empty() {
            return Ok(counters);
        }
        let ids = || campaigns.iter().map(|id| Value::from(id.0));
        let mut sends = Statement::new(self.engine, "SELECT campaign_id, COUNT(*) AS total, ");
        sends
            .push("COUNT(*) FILTER (WHERE status IN ")
            .push_row([SendStatus::Sent, SendStatus::Uncertain].map(|s| Value::from(s as i64)))
            .and(
                ") AS sent, COUNT(*) FILTER (WHERE status = ",
                SendStatus::Bounced as i64,
            )
            .and(") AS bounced FROM sends WHERE account_id = ", account.0)
            .push(" AND campaign_id IN ")
            .push_row(ids())
            .push(" GROUP BY campaign_id");
        for row in sends.query().fetch_all(&self.reader).await? {
            let entry = counters
                .entry(CampaignId(row.try_get("campaign_id")?))
                .or_default();
            entry.total = row.try_get("total")?;
            entry.sent = row.try_get("sent")?;
            entry.bounced = row.try_get("bounced")?;
        }
        let person = "machine IS NULL AND position";
        let mut hits = Statement::new(self.engine, "SELECT campaign_id, ");
        hits.push(&format!(
            "COUNT(*) FILTER (WHERE {person} = {OPEN_PIXEL}) AS opens, \
             COUNT(DISTINCT contact_id) FILTER (WHERE {person} = {OPEN_PIXEL}) AS unique_opens, \
             COUNT(*) FILTER (WHERE {person} >= 0) AS clicks, \
             COUNT(DISTINCT contact_id) FILTER (WHERE {person} >= 0) AS unique_clicks, \
             COUNT(DISTINCT contact_id) FILTER (WHERE position = {UNSUBSCRIBE}) AS unsubscribes, \
             COUNT(*) FILTER (WHERE machine IS NOT NULL) AS machine_hits \
             FROM link_clicks WHERE account_id = "
        ))
        .push_bind(account.0)
        .push(" AND campaign_id IN ")
        .push_row(ids())
        .push(" GROUP BY campaign_id");
        for row in hits.query().fetch_all(&self.reader).await? {
            let entry = counters
                .entry(CampaignId(row.try_get("campaign_id")?))
                .or_default();
            entry.opens = row.try_get("opens")?;
            entry.unique_opens = row.try_get("unique_opens")?;
            entry.clicks = row.try_get("clicks")?;
            entry.unique_clicks = row.try_get("unique_clicks")?;
            entry.unsubscribes = row.try_get("unsubscribes")?;
            entry.machine_hits = row.try_get("machine_hits")?;
        }
        Ok(counters)
    }
}

/// Counts the link hits of `events` (see [`NewEvent::link`]) in the transaction that records
/// them, and marks the hits an "every link at once" verdict showed to be a machine's.
pub(crate) async fn count_link_hits(
    engine: Engine,
    conn: &mut AnyConnection,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let hits: Vec<_> = events
        .iter()
        .filter_map(|event| Some((event, event.link?)))
        .collect();
    if hits.is_empty() {
        return Ok(());
    }
    for (event, hit) in &hits {
        if let (Some(since), Some(contact), Some(reason)) =
            (hit.machine_since, event.contact, hit.machine)
        {
            sqlx::query(
                "UPDATE link_clicks SET machine = $1 WHERE campaign_id = $2 AND contact_id = $3 \
                 AND clicked_at >= $4 AND machine IS NULL",
            )
            .bind(reason)
            .bind(hit.campaign.0)
            .bind(contact.0)
            .bind(since.0)
            .execute(&mut *conn)
            .await?;
        }
    }
    let mut insert = Statement::new(
        engine,
        "INSERT INTO link_clicks (account_id, campaign_id, position, contact_id, machine, \
         clicked_at) VALUES ",
    );
    insert.push_rows(hits.iter().map(|(event, hit)| {
        [
            Value::from(event.account.0),
            Value::from(hit.campaign.0),
            Value::from(hit.position),
            Value::from(event.contact.map(|c| c.0)),
            Value::from(hit.machine.map(str::to_owned)),
            Value::from(event.occurred_at.0),
        ]
    }));
    insert.query().execute(&mut *conn).await?;
    Ok(())
}
