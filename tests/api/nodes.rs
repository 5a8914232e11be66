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
