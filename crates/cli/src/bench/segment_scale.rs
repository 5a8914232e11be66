//! `--segment-contacts N`: segments at scale. Writes `N` contacts through the CSV import (on
//! a list, 2% of them tagged) and `--segment-events` timeline rows through the store's batch
//! write (the ingest writer's path) with a realistic skew: a few hot pages and a long tail of
//! blog posts, 60/25/15 desktop/mobile/tablet, a fifth of visits referred, custom events,
//! opens and clicks of one campaign, and a few very active contacts. Then times `preview` of
//! representative definitions, a saved segment's computation, its `count`, and how long
//! scoring rules take to score the past behavior when added or edited.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tracklane_core::device::Device;
use tracklane_core::event::{EventKind, EventSource, NewEvent, PAGE_VISIT_NAME};
use tracklane_core::ids::{AccountId, CampaignId, ContactId, TagId};
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;
use tracklane_core::visit::PageUrl;
use tracklane_core::webhook::event::WebhookSource;
use tracklane_store::contacts::ContactQuery;
use tracklane_store::Store;

use super::campaign::{message_html, Api};
use super::report::percentiles;

/// Rows written per store batch.
const BATCH: usize = 10_000;
/// The pages most visits go to.
const HOT_PAGES: [&str; 5] = ["/pricing", "/", "/features", "/signup", "/cancel"];
/// Blog posts in the long tail.
const BLOG_POSTS: u64 = 20_000;
/// The span the rows are spread over.
const DAYS: i64 = 90;
const DAY: i64 = 86_400_000_000;
/// How long a saved segment may take to be computed.
const COMPUTE_LIMIT: Duration = Duration::from_secs(3600);

/// A small xorshift generator: the same data on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// Skewed towards 0: a few items get most of the picks.
    fn skewed(&mut self, n: u64) -> u64 {
        let u = self.below(1 << 20) as f64 / f64::from(1 << 20);
        ((u * u * u) * n as f64) as u64
    }
}

/// Writes the data set, then measures and prints the table.
pub async fn measure(
    api: &Api<'_>,
    store: &Store,
    contacts: u64,
    events: u64,
) -> anyhow::Result<()> {
    let account = AccountId(api.keys.actid);
    let list = api
        .import_list(store, "Bench segments", "seg", contacts)
        .await?;
    let ids: Vec<ContactId> = store
        .contacts(
            account,
            &ContactQuery::default(),
            Page {
                limit: i64::MAX,
                offset: 0,
            },
        )
        .await?
        .items
        .into_iter()
        .map(|contact| contact.id)
        .collect();
    let tag = TagId(api.create("/tags", "tag", json!({"tag": "vip"})).await?);
    let campaign = CampaignId(
        api.create_campaign("Bench segments", list, &message_html(3, 2_000))
            .await?,
    );
    let now = Timestamp::now();
    let mut rng = Rng(0x5e6_0e75);
    let started = Instant::now();
    for contact in ids.iter().step_by(50) {
        store
            .add_contact_tag(account, *contact, tag, WebhookSource::Api, now)
            .await?;
    }
    eprintln!(
        "bench: tagged {} contacts in {:.1} s",
        ids.len() / 50,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let mut written = 0;
    while written < events {
        let size = BATCH.min(usize::try_from(events - written).unwrap_or(BATCH));
        let batch: Vec<NewEvent> = (0..size)
            .map(|_| row(&mut rng, account, &ids, campaign, now))
            .collect();
        store.record_events(&batch, now).await?;
        written += size as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "bench: wrote {written} timeline rows in {seconds:.1} s ({:.0} rows/s)",
        written as f64 / seconds
    );
    println!("segments at scale: {contacts} contacts, {events} timeline rows");
    println!(
        "{:<44} {:>9} {:>10} {:>10}",
        "preview", "count", "first ms", "again ms"
    );
    for (label, definition) in definitions(tag, list, campaign) {
        let first = preview(api, &definition).await?;
        let again = preview(api, &definition).await?;
        println!(
            "{label:<44} {:>9} {:>10.0} {:>10.0}",
            first.0, first.1, again.1
        );
    }
    saved(api).await?;
    rescored(api, tag).await
}

/// One timeline row.
fn row(
    rng: &mut Rng,
    account: AccountId,
    ids: &[ContactId],
    campaign: CampaignId,
    now: Timestamp,
) -> NewEvent {
    let contact = ids[usize::try_from(rng.skewed(ids.len() as u64)).unwrap_or_default()];
    let at = Timestamp(now.0 - i64::try_from(rng.below((DAYS * DAY) as u64)).unwrap_or_default());
    let pick = rng.below(100);
    let kind = match pick {
        0..70 => EventKind::PageVisit,
        70..85 => EventKind::Custom,
        85..95 => EventKind::Open,
        _ => EventKind::Click,
    };
    let name = match kind {
        EventKind::PageVisit => PAGE_VISIT_NAME,
        EventKind::Custom if pick.is_multiple_of(3) => "file download request",
        EventKind::Custom => "signup",
        _ => "__activity",
    };
    let mut event = NewEvent::of_contact(account, kind, name, contact, None, at);
    match kind {
        EventKind::PageVisit => {
            let path = if rng.below(100) < 40 {
                HOT_PAGES[usize::try_from(rng.skewed(5)).unwrap_or_default()].to_owned()
            } else {
                format!("/blog/post-{}", rng.skewed(BLOG_POSTS))
            };
            event.page = PageUrl::parse("url", &format!("https://www.example.com{path}")).ok();
            event.visitor = Some(format!("v{}", contact.0));
            event.device = Some(match rng.below(100) {
                0..60 => Device::Desktop,
                60..85 => Device::Mobile,
                _ => Device::Tablet,
            });
            if rng.below(5) == 0 {
                let from = [
                    "https://www.google.com/",
                    "https://www.bing.com/",
                    "https://news.example.org/a",
                ];
                event.referrer = PageUrl::parse(
                    "referrer",
                    from[usize::try_from(rng.below(3)).unwrap_or_default()],
                )
                .ok();
            }
        }
        EventKind::Custom => event.data = Some(format!("plan={}", rng.below(3))),
        _ => {
            event.source = Some(EventSource::Campaign(campaign));
            if kind == EventKind::Click {
                event.page =
                    PageUrl::parse("url", "https://www.example.com/pricing?from=mail").ok();
            }
        }
    }
    event
}

/// The definitions `preview` is timed on: one per condition family, two nested mixes, one
/// negation, several 30-day windows.
fn definitions(tag: TagId, list: i64, campaign: CampaignId) -> Vec<(&'static str, Value)> {
    vec![
        (
            "field: email contains '-7@'",
            json!({"field": {"name": "email", "value": {"contains": "-7@"}}}),
        ),
        ("has tag", json!({"hasTag": tag.0})),
        (
            "subscribed to the list",
            json!({"list": {"id": list, "status": "subscribed"}}),
        ),
        (
            "visited /pricing >= 3 times in 30 days",
            json!({"visited": {"url": {"contains": "/pricing"}, "count": {"atLeast": 3}, "within": {"days": 30}}}),
        ),
        (
            "visited a blog post (URL contains)",
            json!({"visited": {"url": {"contains": "/blog/post-12"}}}),
        ),
        (
            "referred from a domain containing google",
            json!({"referredFrom": {"domain": {"contains": "google"}}}),
        ),
        (
            "visited from a tablet",
            json!({"visitedFrom": {"device": "tablet"}}),
        ),
        (
            "page visits >= 20",
            json!({"pageVisits": {"count": {"atLeast": 20}}}),
        ),
        (
            "site visits >= 5 in 30 days",
            json!({"siteVisits": {"count": {"atLeast": 5}, "within": {"days": 30}}}),
        ),
        (
            "event 'file download request'",
            json!({"event": {"name": "file download request"}}),
        ),
        (
            "opened the campaign in 30 days",
            json!({"opened": {"campaign": campaign.0, "within": {"days": 30}}}),
        ),
        (
            "mix: pricing>=3/30d AND tag AND NOT /cancel",
            json!({"all": [
            {"visited": {"url": {"contains": "/pricing"}, "count": {"atLeast": 3}, "within": {"days": 30}}},
            {"hasTag": tag.0},
            {"not": {"visited": {"url": {"contains": "/cancel"}}}}]}),
        ),
        (
            "mix: clicked /pricing OR event",
            json!({"any": [
            {"clicked": {"link": {"contains": "/pricing"}}},
            {"event": {"name": "file download request"}}]}),
        ),
        (
            "negation: no visit in 7 days",
            json!({"not": {"visited": {"within": {"days": 7}}}}),
        ),
    ]
}

/// `POST /segments/preview`: the count and how long it took, in ms.
async fn preview(api: &Api<'_>, definition: &Value) -> anyhow::Result<(i64, f64)> {
    let started = Instant::now();
    let answer = api
        .call(
            Method::POST,
            "/segments/preview",
            Some(json!({"definition": definition})),
        )
        .await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok((answer["count"].as_i64().unwrap_or_default(), ms))
}

/// A saved segment: how long its members take to be computed, then `count`'s latency.
async fn saved(api: &Api<'_>) -> anyhow::Result<()> {
    let definition = json!({"visited": {"url": {"contains": "/pricing"}, "count": {"atLeast": 3}}});
    let started = Instant::now();
    let id = api
        .create(
            "/segments",
            "segment",
            json!({"name": "Bench pricing", "definition": definition}),
        )
        .await?;
    loop {
        let shown = api
            .call(Method::GET, &format!("/segments/{id}/count"), None)
            .await?;
        if shown["ready"] == true {
            println!(
                "saved segment computed in {:.1} s: {} members",
                started.elapsed().as_secs_f64(),
                shown["count"]
            );
            break;
        }
        anyhow::ensure!(
            started.elapsed() < COMPUTE_LIMIT,
            "the segment was not computed in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut times: Vec<f64> = Vec::with_capacity(200);
    for _ in 0..200 {
        let started = Instant::now();
        api.call(Method::GET, &format!("/segments/{id}/count"), None)
            .await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p99, _) = percentiles(&times);
    println!("count: p50 {p50:.2} ms, p99 {p99:.2} ms over 200 requests");
    Ok(())
}

/// Scoring rules added to a model and edited, over the whole data set: how long until each
/// one's awards count (its recompute done).
async fn rescored(api: &Api<'_>, tag: TagId) -> anyhow::Result<()> {
    let model = api
        .create("/scores", "score", json!({"name": "Bench"}))
        .await?;
    let rules = [
        (
            "visited /pricing +20 (each row)",
            json!({"condition": {"visited": {"url": {"contains": "/pricing"}}}, "points": 20}),
        ),
        (
            "opened +5, expires in 30 days (each row)",
            json!({"condition": {"opened": {}}, "points": 5, "expiryDays": 30}),
        ),
        (
            "event 'signup' +10 once",
            json!({"condition": {"event": {"name": "signup"}}, "points": 10, "frequency": "once"}),
        ),
        (
            "has tag +50 (while true)",
            json!({"condition": {"hasTag": tag.0}, "points": 50}),
        ),
    ];
    let mut first = None;
    for (label, rule) in &rules {
        let started = Instant::now();
        let id = api
            .create(&format!("/scores/{model}/rules"), "scoreRule", rule.clone())
            .await?;
        counted(api, id, started).await?;
        println!(
            "score rule added: {label:<41} {:>7.1} s",
            started.elapsed().as_secs_f64()
        );
        first.get_or_insert(id);
    }
    let first = first.unwrap_or_default();
    let started = Instant::now();
    let edit = json!({"scoreRule": {"condition": {"visited": {"url": {"contains": "/pricing"}}},
        "points": 10}});
    api.call(Method::PUT, &format!("/scoreRules/{first}"), Some(edit))
        .await?;
    counted(api, first, started).await?;
    println!(
        "score rule edited: visited /pricing +10            {:>7.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Waits until the rule's current revision counts.
async fn counted(api: &Api<'_>, rule: i64, started: Instant) -> anyhow::Result<()> {
    loop {
        let shown = api
            .call(Method::GET, &format!("/scoreRules/{rule}"), None)
            .await?;
        if shown["scoreRule"]["ready"] == true {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < COMPUTE_LIMIT,
            "the rule was not counted in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
