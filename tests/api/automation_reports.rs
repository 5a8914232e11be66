//! What automations report: the runs per step (and a dry run, which writes nothing), each A/B
//! split path's runs and goal rate, and a contact's automation history on its timeline
//! (entered, goal reached, completed, ended).

use serde_json::{json, Value};
use tracklane_e2e::{both_engines, TestApp};

use crate::automation_runs::{automation, enter, settle, tags_of, DAY};

async fn a_split_reports_each_path_with_its_goal_rate(app: TestApp) {
    let a = app.new_tag("a").await;
    let b = app.new_tag("b").await;
    let flow = automation(
        &app,
        json!([
            {"id": "ab", "split": [{"percent": 50, "next": "pathA"}, {"percent": 50, "next": "pathB"}]},
            {"id": "pathA", "addTag": a, "next": "goal"},
            {"id": "pathB", "addTag": b},
            {"id": "goal", "goal": {"hasTag": a.parse::<i64>().unwrap()}, "unmet": "continue"}
        ]),
    )
    .await;
    for i in 0..20 {
        let contact = app.new_contact(&format!("c{i}@example.com")).await;
        assert_eq!(enter(&app, &contact, &flow).await.status, 201);
    }
    app.settle_segments().await;
    app.settle_automations().await;
    let tagged_a = app.get(&format!("/api/3/contacts?tagid={a}&limit=1")).await;
    let took_a: i64 = tagged_a.body["meta"]["total"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..20).contains(&took_a),
        "both paths taken: {took_a} of 20 took A"
    );

    let report = app.get(&format!("/api/3/automations/{flow}/report")).await;
    let report = &report.body["report"];
    assert_eq!(report["completed"], "20", "{report}");
    let paths = &report["splits"][0]["paths"];
    assert_eq!(report["splits"][0]["id"], "ab");
    assert_eq!(paths[0]["next"], "pathA");
    assert_eq!(paths[0]["entered"], took_a.to_string().as_str(), "{paths}");
    assert_eq!(paths[0]["completed"], took_a.to_string().as_str());
    assert_eq!(paths[0]["goalReached"], took_a.to_string().as_str());
    assert_eq!(paths[0]["goalRate"], "1.00");
    assert_eq!(paths[1]["entered"], (20 - took_a).to_string().as_str());
    assert_eq!(
        paths[1]["goalReached"], "0",
        "B's contacts pass the goal unmet"
    );
    assert_eq!(paths[1]["goalRate"], "0.00");
    assert_eq!(report["goals"][0]["reached"], took_a.to_string().as_str());
    assert_eq!(report["goals"][0]["meanSecondsToGoal"], 0.0);
}

/// The data of the contact's automation rows on its timeline, oldest first.
async fn history(app: &TestApp, contact: &str) -> Vec<Value> {
    let logs = app
        .get(&format!("/api/3/contacts/{contact}/trackingLogs?limit=100"))
        .await;
    let mut rows: Vec<Value> = logs.body["trackingLogs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|log| log["kind"] == "automation")
        .map(|log| {
            assert_eq!(log["type"], "__automation");
            serde_json::from_str(log["value"].as_str().unwrap()).unwrap()
        })
        .collect();
    rows.reverse();
    rows
}

async fn a_contacts_automation_history_is_on_its_timeline(app: TestApp) {
    let done = app.new_tag("done").await;
    let flow = automation(
        &app,
        json!([
            {"id": "tag", "addTag": done},
            {"id": "goal", "goal": {"hasTag": done.parse::<i64>().unwrap()}}
        ]),
    )
    .await;
    let stop = automation(&app, json!([{"id": "pause", "wait": {"days": 1}}])).await;
    let ann = app.new_contact("ann@example.com").await;
    assert_eq!(enter(&app, &ann, &flow).await.status, 201);
    assert_eq!(enter(&app, &ann, &stop).await.status, 201);
    app.settle_segments().await;
    app.settle_automations().await;
    let run = app
        .get(&format!("/api/3/contacts/{ann}/contactAutomations"))
        .await;
    let waiting = run.body["contactAutomations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|run| run["automation"] == stop.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let removed = app
        .delete(&format!("/api/3/contactAutomations/{waiting}"))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);

    let said: Vec<(String, Option<String>, String)> = history(&app, &ann)
        .await
        .iter()
        .map(|row| {
            (
                row["what"].as_str().unwrap().to_owned(),
                row["step"].as_str().map(str::to_owned),
                row["automation"].to_string(),
            )
        })
        .collect();
    let mut expected = vec![
        ("entered".to_owned(), None, flow.clone()),
        ("entered".to_owned(), None, stop.clone()),
        ("goal".to_owned(), Some("goal".to_owned()), flow.clone()),
        ("completed".to_owned(), None, flow),
        ("ended".to_owned(), None, stop),
    ];
    let counts = app
        .get(&format!("/api/3/contacts/{ann}/automationEntryCounts"))
        .await;
    assert_eq!(counts.body["meta"]["total"], "2", "{}", counts.text);
    for row in counts.body["automationEntryCounts"].as_array().unwrap() {
        assert_eq!(row["count"], "1", "{row}");
    }
    let mut sorted = said.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "{said:?}");
}

async fn the_report_counts_runs_per_step_and_a_dry_run_writes_nothing(app: TestApp) {
    let keen = app.new_tag("keen").await;
    let news = app.new_list("News").await;
    let flow = automation(
        &app,
        json!([
            {"id": "tag", "addTag": keen},
            {"id": "pause", "wait": {"days": 1}},
            {"id": "keen", "if": {"hasTag": keen.parse::<i64>().unwrap()}, "then": "join", "else": "done"},
            {"id": "join", "subscribe": news},
            {"id": "done", "end": true}
        ]),
    )
    .await;
    let ann = app.new_contact("ann@example.com").await;
    let bob = app.new_contact("bob@example.com").await;
    let dry = app
        .post(
            &format!("/api/3/automations/{flow}/dryRun"),
            json!({"contact": ann}),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    let ids: Vec<&str> = dry.body["dryRun"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["tag", "pause", "keen", "done"],
        "untagged now, so the else branch"
    );
    assert_eq!(dry.body["dryRun"]["end"], "ends");
    assert!(
        tags_of(&app, &ann).await.is_empty(),
        "a dry run writes nothing"
    );
    let unknown = app
        .post(
            &format!("/api/3/automations/{flow}/dryRun"),
            json!({"contact": 999999}),
        )
        .await;
    assert_eq!(unknown.status, 404);

    for contact in [&ann, &bob] {
        assert_eq!(enter(&app, contact, &flow).await.status, 201);
    }
    settle(&app).await;
    let report = app.get(&format!("/api/3/automations/{flow}/report")).await;
    assert_eq!(report.status, 200, "{}", report.text);
    let report = &report.body["report"];
    assert_eq!(report["entered"], "2");
    assert_eq!(report["active"], "2");
    assert_eq!(
        report["steps"][0],
        json!({"id": "tag", "kind": "addTag", "waiting": "0", "passed": "2"})
    );
    assert_eq!(report["steps"][1]["waiting"], "2");
    app.clock.advance(DAY);
    settle(&app).await;
    let report = app.get(&format!("/api/3/automations/{flow}/report")).await;
    let report = &report.body["report"];
    assert_eq!(
        (report["active"].as_str(), report["exitedEarly"].as_str()),
        (Some("0"), Some("2"))
    );
    assert_eq!(
        report["steps"][3]["passed"], "2",
        "both tagged, both joined"
    );
    assert_eq!(report["steps"][4]["passed"], "2");
}

both_engines!(
    the_report_counts_runs_per_step_and_a_dry_run_writes_nothing,
    a_split_reports_each_path_with_its_goal_rate,
    a_contacts_automation_history_is_on_its_timeline
);
