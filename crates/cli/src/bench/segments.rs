//! `--segments N`: saved segments of mixed kinds, created through API v3 before the load, so
//! that the tracking scenarios measure ingest with live membership kept for every event.

use serde_json::{json, Value};

use super::campaign::Api;
use super::scenarios::{BENCH_DOMAIN, EVENT_NAME};

/// Saves `count` segments cycling through ten kinds of definition (page visits with counts
/// and windows, referrers, devices, page and site visit totals, events, tags, lists, fields,
/// and negated and nested mixes), each kind with different numbers.
pub async fn save(api: &Api<'_>, count: u32) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let tag = api
        .create(
            "/tags",
            "tag",
            json!({"tag": "bench-vip", "tagType": "contact"}),
        )
        .await?;
    let list = api.create_list("bench").await?;
    for i in 0..count {
        let segment = json!({"name": format!("bench {i}"), "definition": definition(i, tag, list)});
        api.create("/segments", "segment", segment).await?;
    }
    Ok(())
}

/// The `i`th definition.
fn definition(i: u32, tag: i64, list: i64) -> Value {
    let n = i64::from(i / 10 + 1);
    let page = format!("/page/{n}");
    match i % 10 {
        0 => json!({"visited": {"url": {"contains": page}, "count": {"atLeast": n},
            "within": {"days": 30}}}),
        1 => json!({"visited": {"domain": {"equals": BENCH_DOMAIN}, "count": {"atLeast": n * 3}}}),
        2 => json!({"event": {"name": EVENT_NAME, "count": {"atLeast": n * 2},
            "within": {"hours": 24}}}),
        3 => json!({"event": {"name": EVENT_NAME, "data": {"contains": n.to_string()}}}),
        4 => {
            json!({"all": [{"hasTag": tag}, {"not": {"visited": {"url": {"contains": "/cancel"}}}}]})
        }
        5 => json!({"list": {"id": list, "status": "subscribed"}}),
        6 => json!({"pageVisits": {"count": {"atLeast": n * 5}, "within": {"days": 7}}}),
        7 => json!({"siteVisits": {"count": {"atMost": n}}}),
        8 => json!({"any": [{"visitedFrom": {"device": "mobile"}},
            {"field": {"name": "email", "value": {"contains": format!("-{n}@")}}}]}),
        _ => json!({"not": {"event": {"name": EVENT_NAME, "within": {"days": n}}}}),
    }
}
