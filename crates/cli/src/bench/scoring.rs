//! `--score-models N`: scoring models of ten rules each, created through API v3 before the
//! load, so that the tracking scenarios measure ingest with every event scored live. The rules
//! mix both ways of scoring: single behaviors awarded per row (with a cap, once, an expiry)
//! and conditions held while true (a tag, a count in a window).

use serde_json::{json, Value};

use super::campaign::Api;
use super::scenarios::{BENCH_DOMAIN, EVENT_NAME};

/// Rules per model.
pub const RULES: u32 = 10;

/// Creates `count` models of [`RULES`] rules each.
pub async fn save(api: &Api<'_>, count: u32) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let tag = api
        .create(
            "/tags",
            "tag",
            json!({"tag": "bench-customer", "tagType": "contact"}),
        )
        .await?;
    for i in 0..count {
        let model = api
            .create("/scores", "score", json!({"name": format!("bench {i}")}))
            .await?;
        for r in 0..RULES {
            api.create(
                &format!("/scores/{model}/rules"),
                "scoreRule",
                rule(i, r, tag),
            )
            .await?;
        }
    }
    Ok(())
}

/// Rule `r` of model `i`: one rule per kind of behavior, as a marketer writes them, so that
/// a tracked event or page view meets a rule or two of each model.
fn rule(i: u32, r: u32, tag: i64) -> Value {
    let n = i + 1;
    match r {
        0 => json!({"condition": {"visited": {"url": {"contains": format!("/page/{n}")}}},
            "points": 20}),
        1 => json!({"condition": {"visited": {"domain": {"equals": BENCH_DOMAIN}}}, "points": 1,
            "cap": {"points": 50, "days": 1}}),
        2 => json!({"condition": {"event": {"name": EVENT_NAME}}, "points": 5}),
        3 => json!({"condition": {"event": {"name": format!("demo {n}")}}, "points": 30,
            "frequency": "once"}),
        4 => json!({"condition": {"submittedForm": {}}, "points": 10}),
        5 => json!({"condition": {"opened": {}}, "points": 5, "expiryDays": 30}),
        6 => json!({"condition": {"clicked": {}}, "points": 10}),
        7 => json!({"condition": {"visited": {"url": {"contains": "/cancel"}}}, "points": -20}),
        8 => json!({"condition": {"hasTag": tag}, "points": 50}),
        _ => json!({"condition": {"event": {"name": EVENT_NAME, "count": {"atLeast": 3},
            "within": {"days": 1}}}, "points": 15, "expiryDays": 7}),
    }
}
