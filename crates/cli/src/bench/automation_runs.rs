//! `--automations N`: active automations whose behavior triggers the bench's events do not
//! match, kept during the tracking scenarios (every event is tested against them).
//!
//! `--automation-contacts N`: automation step executions/s. N imported contacts enter an active
//! automation of five internal steps (add a tag, adjust a score, an if/else on the tag, set a
//! field, end) through `POST /api/3/contactAutomations` by 64 clients, while the server's
//! runner moves them. Measured: entries/s, and from the first entry until the last run left,
//! step executions/s (each run passes the five steps, in two walks: the if/else is evaluated
//! after the effects before it commit).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::json;

use super::campaign::Api;
use super::Server;

/// The entering clients.
const CLIENTS: usize = 64;
/// The steps each run passes.
const STEPS: u64 = 5;
/// How long the runs may take after the entries before the bench gives up.
const DRAIN_LIMIT: Duration = Duration::from_secs(1_800);

/// Creates `count` active automations, each triggered by an event name the load never sends.
pub async fn save_unmatched(api: &Api<'_>, count: u32) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let tag = api
        .create(
            "/tags",
            "tag",
            json!({"tag": "bench-unmatched", "tagType": "contact"}),
        )
        .await?;
    for i in 0..count {
        let definition = json!({
            "triggers": [{"behavior": {"event": {"name": format!("never {i}")}}}],
            "steps": [{"id": "tag", "addTag": tag}]
        });
        let body =
            json!({"name": format!("unmatched {i}"), "status": "1", "definition": definition});
        api.create("/automations", "automation", body).await?;
    }
    Ok(())
}

/// Runs the measure on `server` and prints its table.
pub async fn measure(api: &Api<'_>, server: &Server, contacts: u64) -> anyhow::Result<()> {
    let tag = api
        .create(
            "/tags",
            "tag",
            json!({"tag": "bench", "tagType": "contact"}),
        )
        .await?;
    let model = api
        .create("/scores", "score", json!({"name": "bench"}))
        .await?;
    let definition = json!({"steps": [
        {"id": "tag", "addTag": tag},
        {"id": "points", "adjustScore": {"score": model, "points": 5}},
        {"id": "tagged", "if": {"hasTag": tag}, "then": "name", "else": "done"},
        {"id": "name", "setField": {"field": "firstName", "value": "Ran"}},
        {"id": "done", "end": true}
    ]});
    let automation = api
        .create(
            "/automations",
            "automation",
            json!({"name": "bench", "status": "1", "definition": definition}),
        )
        .await?;
    let list = api
        .import_list(&server.store, "automation bench", "runs", contacts)
        .await?;
    let people = api.list_members(list).await?;
    if (people.len() as u64) < contacts {
        bail!("the import made {} of {contacts} contacts", people.len());
    }

    eprintln!("bench: {contacts} contacts entering, {CLIENTS} clients");
    let started = Instant::now();
    let failures = stream::iter(people)
        .map(|contact| {
            let body = json!({"contactAutomation": {"contact": contact, "automation": automation}});
            async move {
                api.call(Method::POST, "/contactAutomations", Some(body))
                    .await
            }
        })
        .buffer_unordered(CLIENTS)
        .filter_map(|answer| async move { answer.err() })
        .collect::<Vec<_>>()
        .await;
    let entered = started.elapsed();
    if let Some(first) = failures.first() {
        bail!("{} entries failed, the first: {first:#}", failures.len());
    }
    let report = format!("/automations/{automation}/report");
    loop {
        let answer = api.call(Method::GET, &report, None).await?;
        let left = answer["report"]["exitedEarly"]
            .as_str()
            .and_then(|n| n.parse::<u64>().ok())
            .context("the report's exitedEarly")?;
        if left >= contacts {
            break;
        }
        if started.elapsed() > DRAIN_LIMIT {
            bail!(
                "{left} of {contacts} runs left in {} s",
                started.elapsed().as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ran = started.elapsed();

    println!("automation runs: {contacts} contacts through 5 internal steps");
    println!(
        "{:<9} {:<52} {:>9} {:>9} {:>11}",
        "engine", "measure", "count", "seconds", "per second"
    );
    let rows = [
        (
            "POST /api/3/contactAutomations (entries)",
            contacts,
            entered,
        ),
        (
            "step executions, first entry to last exit",
            contacts * STEPS,
            ran,
        ),
    ];
    for (measure, count, took) in rows {
        let seconds = took.as_secs_f64();
        println!(
            "{:<9} {:<52} {:>9} {:>9.2} {:>11.0}",
            server.engine,
            measure,
            count,
            seconds,
            count as f64 / seconds
        );
    }
    Ok(())
}
