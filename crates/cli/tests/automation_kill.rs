//! Automations survive SIGKILL: `tracklane serve` is killed at 100 random moments while 1,500
//! contacts enter an automation (through the API, retried until answered) and its runs move
//! through their steps; it is started again each time. At the end every effect happened exactly
//! once: one run per contact, each tagged, subscribed and scored +1 once, mailed once (one
//! message in the outbox per contact), and each step passed once per contact.

use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;

use common::{free_port, request, run, serve, tracklane, wait_for_port};

const CONTACTS: usize = 1_500;
const KILLS: usize = 100;

/// An API v3 call; `None` when the server did not answer (it was killed).
fn call(
    port: u16,
    key: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let body = body.map(|body| body.to_string()).unwrap_or_default();
    let headers = format!("Api-Token: {key}\r\nContent-Type: application/json\r\n");
    let (status, text) = std::panic::catch_unwind(|| {
        request(port, method, &format!("/api/3{path}"), &headers, &body)
    })
    .ok()?;
    let code = status.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// An API call that must succeed now; answers the body.
fn must(port: u16, key: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = call(port, key, method, path, body).expect("the server answers");
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
    answer
}

fn id_of(answer: &Value, key: &str) -> String {
    answer[key]["id"].as_str().unwrap().to_owned()
}

/// A number from 0 to `below`, from a simple generator (no dependency for a test's jitter).
fn jitter(state: &mut u64, below: u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1);
    (*state >> 33) % below
}

fn start(dir: &std::path::Path, port: u16) -> Child {
    let server = serve(dir, port);
    wait_for_port(port);
    server
}

#[test]
fn runs_survive_a_hundred_sigkills_and_every_effect_happens_once() {
    let dir = tempfile::tempdir().unwrap();
    let init = run(tracklane(dir.path()).args(["init", "--json"]));
    assert!(init.status.success(), "{init:?}");
    let keys: Value = serde_json::from_slice(&init.stdout).unwrap();
    let key = keys["api_key"].as_str().unwrap().to_owned();
    let port = free_port();
    let mut server = start(dir.path(), port);

    let tag = id_of(
        &must(
            port,
            &key,
            "POST",
            "/tags",
            Some(json!({"tag": {"tag": "ran", "tagType": "contact"}})),
        ),
        "tag",
    );
    let list = id_of(
        &must(
            port,
            &key,
            "POST",
            "/lists",
            Some(json!({"list": {"name": "Ran"}})),
        ),
        "list",
    );
    let model = id_of(
        &must(
            port,
            &key,
            "POST",
            "/scores",
            Some(json!({"score": {"name": "Ran"}})),
        ),
        "score",
    );
    let message = id_of(
        &must(
            port,
            &key,
            "POST",
            "/messages",
            Some(
                json!({"message": {"subject": "Ran", "fromemail": "team@example.com",
                "html": "<p><a href=\"https://example.com/\">Hi</a></p>", "text": "Hi"}}),
            ),
        ),
        "message",
    );
    let steps = json!([
        {"id": "tag", "addTag": tag},
        {"id": "pause", "wait": {"seconds": 1}},
        {"id": "points", "adjustScore": {"score": model, "points": 1}},
        {"id": "keen", "if": {"hasTag": tag.parse::<i64>().unwrap()}, "then": "join", "else": "done"},
        {"id": "join", "subscribe": list},
        {"id": "mail", "sendEmail": {"message": message}},
        {"id": "name", "setField": {"field": "firstName", "value": "Ran"}},
        {"id": "done", "end": true}
    ]);
    let automation = id_of(
        &must(
            port,
            &key,
            "POST",
            "/automations",
            Some(
                json!({"automation": {"name": "Ran", "status": "1", "definition": {"steps": steps}}}),
            ),
        ),
        "automation",
    );
    let contacts: Vec<String> = (0..CONTACTS)
        .map(|i| {
            let contact = json!({"contact": {"email": format!("c{i}@example.com")}});
            id_of(
                &must(port, &key, "POST", "/contact/sync", Some(contact)),
                "contact",
            )
        })
        .collect();

    // A client enters every contact, retrying each entry until the server answers it: a 201,
    // or a 403 when an entry it never heard the answer of had committed.
    let entering = Arc::new(AtomicBool::new(true));
    let client = {
        let (key, automation, entering) = (key.clone(), automation.clone(), entering.clone());
        std::thread::spawn(move || {
            for contact in contacts {
                let body =
                    json!({"contactAutomation": {"contact": contact, "automation": automation}});
                loop {
                    match call(
                        port,
                        &key,
                        "POST",
                        "/contactAutomations",
                        Some(body.clone()),
                    ) {
                        Some((201 | 403, _)) => break,
                        Some((status, answer)) if status < 500 => panic!("{status} {answer}"),
                        _ => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            }
            entering.store(false, Ordering::SeqCst);
        })
    };
    let mut state = 7;
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(20 + jitter(&mut state, 150)));
        server.kill().unwrap();
        server.wait().unwrap();
        server = start(dir.path(), port);
    }
    client.join().unwrap();
    assert!(!entering.load(Ordering::SeqCst));

    let report_path = format!("/automations/{automation}/report");
    let deadline = Instant::now() + Duration::from_secs(120);
    let report = loop {
        let report = must(port, &key, "GET", &report_path, None)["report"].clone();
        if report["active"] == "0" {
            break report;
        }
        assert!(Instant::now() < deadline, "runs did not finish: {report}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let count = CONTACTS.to_string();
    assert_eq!(report["entered"], count.as_str(), "{report}");
    assert_eq!(report["exitedEarly"], count.as_str(), "{report}");
    for step in report["steps"].as_array().unwrap() {
        assert_eq!(
            step["passed"],
            count.as_str(),
            "each step once per contact: {report}"
        );
    }
    let runs = must(port, &key, "GET", "/contactAutomations?limit=1", None);
    assert_eq!(runs["meta"]["total"], count.as_str(), "one run per contact");
    let tagged = must(
        port,
        &key,
        "GET",
        &format!("/contacts?tagid={tag}&limit=1"),
        None,
    );
    assert_eq!(tagged["meta"]["total"], count.as_str());
    let subscribed = must(
        port,
        &key,
        "GET",
        &format!("/contacts?listid={list}&limit=1"),
        None,
    );
    assert_eq!(subscribed["meta"]["total"], count.as_str());
    let scored_once = json!({"definition": {"score": {"model": model.parse::<i64>().unwrap(), "value": {"exactly": 1}}}});
    let preview = must(port, &key, "POST", "/segments/preview", Some(scored_once));
    assert_eq!(
        preview["count"], CONTACTS,
        "every score is +1 exactly: {preview}"
    );
    let recipients = outbox_recipients(dir.path(), CONTACTS);
    assert_eq!(recipients.len(), CONTACTS, "one message per contact");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The recipients of the messages in the data directory's outbox, once it holds `count` (or
/// after 60 s); panics when a recipient got two.
fn outbox_recipients(dir: &std::path::Path, count: usize) -> std::collections::BTreeSet<String> {
    let outbox = dir
        .join(tracklane_server::config::DEFAULT_DATA_DIR)
        .join("outbox");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mails: Vec<_> = std::fs::read_dir(&outbox)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|path| path.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if mails.len() >= count || Instant::now() > deadline {
            let mut recipients = std::collections::BTreeSet::new();
            for mail in mails {
                let text = std::fs::read_to_string(&mail).unwrap();
                let to = text
                    .lines()
                    .find_map(|line| line.strip_prefix("To: "))
                    .expect("a To header")
                    .to_owned();
                assert!(recipients.insert(to.clone()), "{to} got two messages");
            }
            return recipients;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
