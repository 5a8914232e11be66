//! Several nodes on one PostgreSQL database: one first account, shared data, no duplicates.

use std::sync::Arc;

use serde_json::json;
use tracklane_e2e::postgres::fresh_database;
use tracklane_server::config::SettingsLayer;
use tracklane_server::startup::Application;
use tracklane_server::state::SystemClock;

async fn node(database_url: &str) -> Application {
    let settings = SettingsLayer {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(std::env::temp_dir()),
        database_url: Some(database_url.to_owned()),
        ..SettingsLayer::default()
    }
    .resolve(SettingsLayer::default())
    .unwrap();
    Application::build_with_clock(settings, Arc::new(SystemClock))
        .await
        .unwrap()
}

#[tokio::test]
async fn nodes_starting_together_create_one_first_account_and_share_data() {
    let url = fresh_database().await;
    let (mut first, mut second) = tokio::join!(node(&url), node(&url));
    let accounts: Vec<_> = [first.take_new_account(), second.take_new_account()]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        accounts.len(),
        1,
        "exactly one node creates the first account"
    );
    let key = secrecy::ExposeSecret::expose_secret(&accounts[0].api_key).to_owned();
    let addresses = [
        format!("http://127.0.0.1:{}", first.port()),
        format!("http://127.0.0.1:{}", second.port()),
    ];
    tokio::spawn(first.run_until_stopped(std::future::pending()));
    tokio::spawn(second.run_until_stopped(std::future::pending()));

    let client = reqwest::Client::new();
    let mut syncs = tokio::task::JoinSet::new();
    for i in 0..20 {
        let request = client
            .post(format!("{}/api/3/contact/sync", addresses[i % 2]))
            .header("Api-Token", &key)
            .json(
                &json!({"contact": {"email": "shared@example.com", "firstName": format!("N{i}")}}),
            );
        syncs.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    }
    while let Some(status) = syncs.join_next().await {
        let status = status.unwrap().unwrap();
        assert!(status == 200 || status == 201, "sync answered {status}");
    }
    let listed: serde_json::Value = client
        .get(format!("{}/api/3/contacts", addresses[1]))
        .header("Api-Token", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["meta"]["total"], "1",
        "concurrent upserts make one contact"
    );
}

/// An API v3 call through `address`; answers the status and the JSON body.
async fn call(
    client: &reqwest::Client,
    (address, key): (&str, &str),
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = client
        .request(method, format!("{address}/api/3{path}"))
        .header("Api-Token", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or_default())
}

#[tokio::test]
async fn two_nodes_run_each_automation_step_once() {
    use reqwest::Method;
    let url = fresh_database().await;
    let (mut first, mut second) = tokio::join!(node(&url), node(&url));
    // Either node may be the one that creates the first account.
    let account = first
        .take_new_account()
        .or_else(|| second.take_new_account())
        .unwrap();
    let key = secrecy::ExposeSecret::expose_secret(&account.api_key).to_owned();
    let addresses = [
        format!("http://127.0.0.1:{}", first.port()),
        format!("http://127.0.0.1:{}", second.port()),
    ];
    tokio::spawn(first.run_until_stopped(std::future::pending()));
    tokio::spawn(second.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::new();
    let on = |i: usize| (addresses[i % 2].as_str(), key.as_str());
    let id = |answer: &serde_json::Value, key: &str| answer[key]["id"].as_str().unwrap().to_owned();
    let (_, tag) = call(
        &client,
        on(0),
        Method::POST,
        "/tags",
        Some(json!({"tag": {"tag": "ran", "tagType": "contact"}})),
    )
    .await;
    let (_, model) = call(
        &client,
        on(0),
        Method::POST,
        "/scores",
        Some(json!({"score": {"name": "Ran"}})),
    )
    .await;
    let (tag, model) = (id(&tag, "tag"), id(&model, "score"));
    let definition = json!({"steps": [
        {"id": "tag", "addTag": tag},
        {"id": "points", "adjustScore": {"score": model, "points": 1}},
        {"id": "done", "end": true}
    ]});
    let (status, automation) = call(
        &client,
        on(1),
        Method::POST,
        "/automations",
        Some(json!({"automation": {"name": "Ran", "status": "1", "definition": definition}})),
    )
    .await;
    assert_eq!(status, 201, "{automation}");
    let automation = id(&automation, "automation");
    const CONTACTS: usize = 200;
    for i in 0..CONTACTS {
        let (status, contact) = call(
            &client,
            on(i),
            Method::POST,
            "/contact/sync",
            Some(json!({"contact": {"email": format!("c{i}@example.com")}})),
        )
        .await;
        assert_eq!(status, 201, "{contact}");
        let contact = id(&contact, "contact");
        let entry = json!({"contactAutomation": {"contact": contact, "automation": automation}});
        let (status, answer) = call(
            &client,
            on(i + 1),
            Method::POST,
            "/contactAutomations",
            Some(entry),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
    }
    let report = format!("/automations/{automation}/report");
    let count = CONTACTS.to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let done = loop {
        let (_, answer) = call(&client, on(0), Method::GET, &report, None).await;
        if answer["report"]["exitedEarly"] == count.as_str() {
            break answer["report"].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "runs did not finish: {answer}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    for step in done["steps"].as_array().unwrap() {
        assert_eq!(
            step["passed"],
            CONTACTS.to_string(),
            "each step once per contact: {done}"
        );
    }
    let preview = json!({"definition": {"score": {"model": model.parse::<i64>().unwrap(), "value": {"exactly": 1}}}});
    let (_, scored) = call(
        &client,
        on(1),
        Method::POST,
        "/segments/preview",
        Some(preview),
    )
    .await;
    assert_eq!(
        scored["count"], CONTACTS,
        "every score is +1 exactly: {scored}"
    );
}
