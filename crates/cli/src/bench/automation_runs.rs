//! `--automations N`: active automations whose behavior triggers the bench's events do not
//! match, kept during the tracking scenarios (every event is tested against them).
//!
//! `--automation-contacts N`: the runtime's throughput and latency.
//! - N imported contacts enter the six-step automation (add a tag, adjust a score, wait
//!   a second, an if/else on the tag, set a field, send an email) at once, through `POST
//!   /api/3/automations/{id}/entries` with their list, while the server's runner moves them and
//!   its sender mails them (into aiosmtpd when it is installed, else the outbox). Measured:
//!   the entry, the step executions/s from the entry until the last run left, and the messages
//!   handed over per second until the last one.
//! - Latency, over [`LATENCY_CONTACTS`] other contacts sent one event each at a steady pace:
//!   from an event's commit to the tag an automation it triggers puts on (its first step), and
//!   from the event a `waitFor` waits for to the tag of the step after it. The delays are read
//!   from the rows' own times (`Store::tag_delays`).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tracklane_core::ids::{AccountId, TagId};

use super::campaign::Api;
use super::scenarios::BENCH_DOMAIN;
use super::Server;

/// The steps each run passes (the six of the definition, and its end).
const STEPS: u64 = 7;
/// How long the runs may take after the entries before the bench gives up.
const DRAIN_LIMIT: Duration = Duration::from_secs(1_800);
/// The contacts of the latency measures.
const LATENCY_CONTACTS: u64 = 1_000;
/// The pace of the latency measures' events.
const EVENT_GAP: Duration = Duration::from_millis(4);
/// The event that enters the latency contacts.
const ENTRY_EVENT: &str = "bench entry";
/// The event the latency contacts' runs wait for.
const AWAITED_EVENT: &str = "bench paid";

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

/// One row of the table.
struct Row {
    measure: String,
    count: u64,
    seconds: f64,
}

/// Runs the measures on `server` (one of `nodes` over its database) and prints their table.
pub async fn measure(
    api: &Api<'_>,
    server: &Server,
    contacts: u64,
    nodes: u32,
) -> anyhow::Result<()> {
    let mut rows = throughput(api, server, contacts).await?;
    let delays = latency(api, server).await?;
    println!(
        "automation runs: {contacts} contacts through 6 steps (tag, score, wait 1 s, if/else, \
         field, email), {nodes} node(s)"
    );
    println!(
        "{:<9} {:<52} {:>9} {:>9} {:>11}",
        "engine", "measure", "count", "seconds", "per second"
    );
    for row in rows.drain(..) {
        println!(
            "{:<9} {:<52} {:>9} {:>9.2} {:>11.0}",
            server.engine,
            row.measure,
            row.count,
            row.seconds,
            row.count as f64 / row.seconds
        );
    }
    println!(
        "{:<9} {:<52} {:>9} {:>9} {:>9} {:>9}",
        "engine", "latency (ms)", "count", "p50", "p99", "max"
    );
    for (measure, mut micros) in delays {
        micros.sort_unstable();
        let at = |share: f64| {
            let index = ((micros.len() as f64 * share).ceil() as usize).saturating_sub(1);
            micros.get(index).map_or(0.0, |&us| us as f64 / 1000.0)
        };
        println!(
            "{:<9} {:<52} {:>9} {:>9.1} {:>9.1} {:>9.1}",
            server.engine,
            measure,
            micros.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
    Ok(())
}

/// The automation, entered by `contacts` imported contacts at once: the entry, the
/// step executions and the messages.
async fn throughput(api: &Api<'_>, server: &Server, contacts: u64) -> anyhow::Result<Vec<Row>> {
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
    let message = api
        .create(
            "/messages",
            "message",
            json!({"subject": "Hello %FIRSTNAME%", "fromemail": "bench@example.com",
                "html": "<p>Hello %FIRSTNAME%, <a href=\"https://example.com/\">read on</a></p>",
                "text": "Hello %FIRSTNAME%"}),
        )
        .await?;
    let definition = json!({"steps": [
        {"id": "tag", "addTag": tag},
        {"id": "points", "adjustScore": {"score": model, "points": 5}},
        {"id": "pause", "wait": {"seconds": 1}},
        {"id": "tagged", "if": {"hasTag": tag}, "then": "name", "else": "done"},
        {"id": "name", "setField": {"field": "firstName", "value": "Ran"}},
        {"id": "mail", "sendEmail": {"message": message}},
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

    eprintln!("bench: {contacts} contacts entering at once");
    let started = Instant::now();
    let entries = format!("/automations/{automation}/entries");
    let answer = api
        .call(Method::POST, &entries, Some(json!({"list": list})))
        .await?;
    let entered = counted(&answer["entered"])?;
    let entry = started.elapsed();
    if entered < contacts {
        bail!("{entered} of {contacts} contacts entered");
    }
    let report = format!("/automations/{automation}/report");
    let ran = until(started, "runs left", contacts, async || {
        let answer = api.call(Method::GET, &report, None).await?;
        counted(&answer["report"]["exitedEarly"])
    })
    .await?;
    let series = automation.to_string();
    let mailed = until(started, "messages handed over", contacts, async || {
        let answer = api.call(Method::GET, "/campaigns", None).await?;
        let campaigns = answer["campaigns"].as_array().context("no campaigns")?;
        let ours = campaigns
            .iter()
            .find(|campaign| campaign["seriesid"].as_str() == Some(series.as_str()));
        ours.map_or(Ok(0), |campaign| counted(&campaign["send_amt"]))
    })
    .await?;
    Ok(vec![
        Row {
            measure: "POST /automations/{id}/entries (a list, at once)".into(),
            count: contacts,
            seconds: entry.as_secs_f64(),
        },
        Row {
            measure: "step executions, entry to last exit".into(),
            count: contacts * STEPS,
            seconds: ran.as_secs_f64(),
        },
        Row {
            measure: "email step: messages handed over, entry to last".into(),
            count: contacts,
            seconds: mailed.as_secs_f64(),
        },
    ])
}

/// Waits until `count` reaches `target`; answers the time since `started`.
async fn until(
    started: Instant,
    what: &str,
    target: u64,
    mut count: impl AsyncFnMut() -> anyhow::Result<u64>,
) -> anyhow::Result<Duration> {
    loop {
        let done = count().await?;
        if done >= target {
            return Ok(started.elapsed());
        }
        if started.elapsed() > DRAIN_LIMIT {
            bail!(
                "{what}: {done} of {target} in {} s",
                started.elapsed().as_secs()
            );
        }
        // Each look is a query over every run or send: taken at least every 20 ms, and at most
        // every 0.5% of the time so far, which bounds what the look costs the measure, and
        // what it adds to it.
        let pause = (started.elapsed() / 200).max(Duration::from_millis(20));
        tokio::time::sleep(pause).await;
    }
}

/// A count the API answers as a string.
fn counted(value: &Value) -> anyhow::Result<u64> {
    value
        .as_str()
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("not a count: {value}"))
}

/// The two latency measures, each with its delays in microseconds.
async fn latency(api: &Api<'_>, server: &Server) -> anyhow::Result<Vec<(String, Vec<i64>)>> {
    api.call(
        Method::PUT,
        "/eventTracking",
        Some(json!({"eventTracking": {"enabled": true}})),
    )
    .await?;
    for name in [ENTRY_EVENT, AWAITED_EVENT] {
        api.call(
            Method::POST,
            "/eventTrackingEvents",
            Some(json!({"eventTrackingEvent": {"name": name}})),
        )
        .await?;
    }
    let entered_tag = api
        .create(
            "/tags",
            "tag",
            json!({"tag": "bench entered", "tagType": "contact"}),
        )
        .await?;
    let moved_tag = api
        .create(
            "/tags",
            "tag",
            json!({"tag": "bench moved", "tagType": "contact"}),
        )
        .await?;
    let on_entry = json!({
        "triggers": [{"behavior": {"event": {"name": ENTRY_EVENT}}}],
        "steps": [{"id": "tag", "addTag": entered_tag}]
    });
    api.create(
        "/automations",
        "automation",
        json!({"name": "bench entry", "status": "1", "definition": on_entry}),
    )
    .await?;
    let waiting = json!({"steps": [
        {"id": "wait", "waitFor": {"event": {"name": AWAITED_EVENT}}, "timeout": {"days": 1},
         "timeoutNext": "done"},
        {"id": "tag", "addTag": moved_tag},
        {"id": "done", "end": true}
    ]});
    let waiter = api
        .create(
            "/automations",
            "automation",
            json!({"name": "bench wait", "status": "1", "definition": waiting}),
        )
        .await?;
    let list = api
        .import_list(&server.store, "latency bench", "latency", LATENCY_CONTACTS)
        .await?;
    api.call(
        Method::POST,
        &format!("/automations/{waiter}/entries"),
        Some(json!({"list": list})),
    )
    .await?;
    // The waiting runs reach their wait before the awaited events come.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let account = AccountId(api.keys.actid);
    let mut measured = Vec::new();
    for (event, tag, measure) in [
        (
            ENTRY_EVENT,
            entered_tag,
            "event commit -> first step's effect (entry)",
        ),
        (
            AWAITED_EVENT,
            moved_tag,
            "awaited event commit -> run moved on (waitFor)",
        ),
    ] {
        eprintln!("bench: {LATENCY_CONTACTS} '{event}' events, one every {EVENT_GAP:?}");
        for i in 0..LATENCY_CONTACTS {
            send_event(api, event, &format!("latency-{i}@{BENCH_DOMAIN}")).await?;
            tokio::time::sleep(EVENT_GAP).await;
        }
        let started = Instant::now();
        until(started, measure, LATENCY_CONTACTS, async || {
            let path = format!("/contacts?tagid={tag}&limit=1");
            let answer = api.call(Method::GET, &path, None).await?;
            counted(&answer["meta"]["total"])
        })
        .await?;
        let delays = server.store.tag_delays(account, TagId(tag), event).await?;
        measured.push((measure.to_owned(), delays));
    }
    Ok(measured)
}

/// `--waiting-contacts N`: the process's resident memory and the database's size as N imported
/// contacts enter an automation whose first step waits 30 days, and then as the same N enter a
/// second one: the first entry fills the database's page caches (bounded), the second shows what
/// more waiting runs cost once they are warm (waiting is rows, not memory). Prints the bytes
/// per waiting run on disk.
pub async fn waiting(api: &Api<'_>, server: &Server, contacts: u64) -> anyhow::Result<()> {
    let list = api
        .import_list(&server.store, "waiting bench", "waiting", contacts)
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut rows = vec![(
        "imported, none waiting".to_owned(),
        resident_bytes()?,
        server.store.database_bytes().await?,
    )];
    for round in 1..=2 {
        enter_waiting(api, server, list, contacts, round).await?;
        rows.push((
            format!("{} waiting", contacts * round),
            resident_bytes()?,
            server.store.database_bytes().await?,
        ));
    }
    println!("waiting runs: {contacts} contacts entering two automations that wait 30 days");
    println!(
        "{:<9} {:<28} {:>16} {:>16}",
        "engine", "state", "resident bytes", "database bytes"
    );
    for (state, memory, bytes) in &rows {
        println!("{:<9} {state:<28} {memory:>16} {bytes:>16}", server.engine);
    }
    let per_run = |from: usize| (rows[from + 1].2 - rows[from].2) as f64 / contacts as f64;
    let memory_per_run =
        |from: usize| (rows[from + 1].1 as f64 - rows[from].1 as f64) / contacts as f64;
    println!(
        "{:<9} per waiting run: {:.0} database bytes (the run, its indexes, its timeline row); \
         resident bytes {:.0} for the first {contacts} (page caches filling), {:.0} for the next",
        server.engine,
        per_run(1),
        memory_per_run(0),
        memory_per_run(1)
    );
    Ok(())
}

/// Enters the list's contacts into a new automation that waits 30 days, and waits until every
/// run waits there.
async fn enter_waiting(
    api: &Api<'_>,
    server: &Server,
    list: i64,
    contacts: u64,
    round: u64,
) -> anyhow::Result<()> {
    let definition = json!({"steps": [
        {"id": "pause", "wait": {"days": 30}},
        {"id": "done", "end": true}
    ]});
    let automation = api
        .create(
            "/automations",
            "automation",
            json!({"name": format!("waiting {round}"), "status": "1", "definition": definition}),
        )
        .await?;
    let started = Instant::now();
    api.call(
        Method::POST,
        &format!("/automations/{automation}/entries"),
        Some(json!({"list": list})),
    )
    .await?;
    let report = format!("/automations/{automation}/report");
    until(started, "runs waiting", contacts, async || {
        let answer = api.call(Method::GET, &report, None).await?;
        let steps = answer["report"]["steps"].as_array().context("no steps")?;
        counted(&steps[0]["waiting"])
    })
    .await?;
    while server
        .store
        .runs_due(tracklane_core::time::Timestamp::now())
        .await?
        > 0
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}

/// The process's resident memory, in bytes (Linux).
fn resident_bytes() -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let kilobytes = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .context("no VmRSS in /proc/self/status")?;
    Ok(kilobytes * 1024)
}

/// `POST /event` of `event` for the contact of `email`.
async fn send_event(api: &Api<'_>, event: &str, email: &str) -> anyhow::Result<()> {
    let visit = json!({ "email": email }).to_string();
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("actid", &api.keys.actid.to_string())
        .append_pair("key", api.keys.event_key.expose_secret())
        .append_pair("event", event)
        .append_pair("eventdata", "bench")
        .append_pair("visit", &visit)
        .finish();
    let answer = api
        .client
        .post(format!("{}/event", api.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await?;
    if !answer.status().is_success() {
        bail!("POST /event answered {}", answer.status());
    }
    Ok(())
}
