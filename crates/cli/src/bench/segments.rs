//! `--segments N`: saved segments of mixed kinds, created through API v3 before the load, so
//! that the tracking scenarios measure ingest with live membership kept for every event.

use reqwest::Method;
use serde_json::{json, Value};

use super::scenarios::{BENCH_DOMAIN, EVENT_NAME};
use super::setup::{call, Keys};

/// Saves `count` segments cycling through ten kinds of definition (page visits with counts
/// and windows, referrers, devices, page and site visit totals, events, tags, lists, fields,
/// and negated and nested mixes), each kind with different numbers.
pub async fn save(
    client: &reqwest::Client,
    base: &str,
    keys: &Keys,
    count: u32,
) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let api = |path: &str| format!("{base}/api/3{path}");
    let tag = call(
        client,
        Method::POST,
        &api("/tags"),
        &keys.api_key,
        Some(json!({"tag": {"tag": "bench-vip", "tagType": "contact"}})),
    )
    .await?;
    let list = call(
        client,
        Method::POST,
        &api("/lists"),
        &keys.api_key,
        Some(json!({"list": {"name": "bench"}})),
    )
    .await?;
    let tag = id(&tag["tag"]);
    let list = id(&list["list"]);
    for i in 0..count {
        let body = json!({"segment": {"name": format!("bench {i}"), "definition": definition(i, tag, list)}});
        call(
            client,
            Method::POST,
            &api("/segments"),
            &keys.api_key,
            Some(body),
        )
        .await?;
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

/// The id in a created resource's JSON.
fn id(resource: &Value) -> i64 {
    resource["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_default()
}
