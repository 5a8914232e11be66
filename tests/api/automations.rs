//! Automations: Tracklane's writes of definitions (validated, with refusals that point into
//! the document, and versioned) and ActiveCampaign's reads in AC's shape.

use serde_json::{json, Value};
use tracklane_e2e::{both_engines, TestApp};

/// A nurture: a tag, a list, three days, then a branch on an open.
fn nurture(tag: &str, list: &str) -> Value {
    json!({
        "steps": [
            {"id": "tag", "addTag": tag},
            {"id": "list", "subscribe": list},
            {"id": "pause", "wait": {"days": 3}},
            {"id": "opened", "if": {"opened": {}}, "then": "done", "else": "again"},
            {"id": "again", "removeTag": tag},
            {"id": "done", "end": true}
        ]
    })
}

async fn automations_are_saved_versioned_and_read_in_acs_shape(app: TestApp) {
    let tag = app.new_tag("nurtured").await;
    let list = app.new_list("News").await;
    let created = app
        .post(
            "/api/3/automations",
            json!({"automation": {"name": "Nurture", "definition": nurture(&tag, &list)}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let automation = &created.body["automation"];
    let id = automation["id"].as_str().unwrap().to_owned();
    for (key, value) in [
        ("name", "Nurture"),
        ("status", "2"),
        ("entered", "0"),
        ("exited", "0"),
        ("hidden", "0"),
        ("version", "1"),
    ] {
        assert_eq!(automation[key], value, "{key}");
    }
    assert_eq!(automation["definition"], nurture(&tag, &list));
    assert!(automation["links"]["contactAutomations"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/3/automations/{id}/contactAutomations")));

    let listed = app.get("/api/3/automations").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["meta"]["total"], "1");
    assert_eq!(listed.body["meta"]["starts"], json!([]));
    assert_eq!(listed.body["automations"][0]["id"], id.as_str());

    // Activating, or sending the same definition again, keeps the version; a new one adds one.
    let path = format!("/api/3/automations/{id}");
    let activated = app
        .update(
            &path,
            json!({"automation": {"status": 1, "definition": nurture(&tag, &list)}}),
        )
        .await;
    assert_eq!(activated["automation"]["status"], "1");
    assert_eq!(activated["automation"]["version"], "1");
    let mut shorter = nurture(&tag, &list);
    shorter["steps"] = json!([{"id": "tag", "addTag": tag}]);
    let edited = app
        .put(
            &path,
            json!({"automation": {"name": "Short", "definition": shorter}}),
        )
        .await;
    assert_eq!(edited.body["automation"]["version"], "2");
    assert_eq!(edited.body["automation"]["name"], "Short");
    assert_eq!(edited.body["automation"]["status"], "1");
    assert_eq!(
        app.get(&path).await.body["automation"]["definition"],
        shorter
    );

    // Another account sees none of it.
    let other = app.other_account_key().await;
    let theirs = app.send("GET", &path, Some(&other), None).await;
    assert_eq!(theirs.status, 404);
    let theirs = app.send("DELETE", &path, Some(&other), None).await;
    assert_eq!(theirs.status, 404);

    let removed = app.delete(&path).await;
    assert_eq!(removed.status, 200);
    assert_eq!(removed.body, json!({}));
    let gone = app.get(&path).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body,
        json!({"message": format!("No Result found for Series with id {id}")})
    );
}

async fn bad_definitions_are_refused_where_they_are_wrong(app: TestApp) {
    let tag = app.new_tag("known").await;
    let list = app.new_list("News").await;
    let cases = [
        (
            json!({"steps": [{"id": "a", "addTag": 999999}]}),
            "/steps/0/addTag: there is no tag 999999",
        ),
        (
            json!({"steps": [{"id": "a", "unsubscribe": 999999}]}),
            "/steps/0/unsubscribe: there is no list 999999",
        ),
        (
            json!({"steps": [{"id": "a", "webhook": 999999}]}),
            "/steps/0/webhook: there is no webhook 999999",
        ),
        (
            json!({"steps": [{"id": "a", "sendEmail": {"message": 999999}}]}),
            "/steps/0/sendEmail/message: there is no message 999999",
        ),
        (
            json!({"triggers": [{"tagAdded": tag}, {"dateField": {"field": "BIRTHDAY"}}],
                "steps": [{"id": "a", "end": true}]}),
            "/triggers/1/dateField/field: there is no field 'BIRTHDAY'",
        ),
        (
            json!({"steps": [{"id": "a", "if": {"hasTag": 999999}, "then": "b", "else": "b"},
                {"id": "b", "end": true}]}),
            "/steps/0/if: there is no tag 999999",
        ),
        (
            json!({"steps": [{"id": "a", "setField": {"field": "NOPE", "value": "x"}}]}),
            "/steps/0/setField/field: there is no field 'NOPE'",
        ),
        (
            json!({"steps": [{"id": "a", "startAutomation": 999999}]}),
            "/steps/0/startAutomation: there is no automation 999999",
        ),
        (
            json!({"steps": [{"id": "a", "addTag": tag}, {"id": "b", "removeTag": tag, "next": "a"}]}),
            "/steps/0: the loop a -> b -> a never waits",
        ),
        (
            json!({"steps": [{"id": "a", "end": true}, {"id": "b", "addTag": tag}]}),
            "/steps/1: step \"b\" cannot be reached",
        ),
        (json!({"steps": "many"}), "/steps: must be an array"),
    ];
    for (definition, detail) in cases {
        let answer = app
            .post(
                "/api/3/automations",
                json!({"automation": {"name": "Bad", "definition": definition}}),
            )
            .await;
        assert_eq!(answer.status, 422, "{definition}: {}", answer.text);
        let found = answer.body["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default();
        assert!(found.starts_with(detail), "{definition}: {found}");
    }
    for body in [
        json!({"automation": {"name": "No definition"}}),
        json!({"automation": {"definition": nurture(&tag, &list)}}),
        json!({"automation": {"name": "x", "definition": nurture(&tag, &list), "status": "3"}}),
        json!({"automation": {"name": "x", "definition": nurture(&tag, &list), "extra": 1}}),
        json!({"nothing": {}}),
    ] {
        let answer = app.post("/api/3/automations", body.clone()).await;
        assert!(
            answer.status == 422 || answer.status == 400,
            "{body}: {}",
            answer.text
        );
    }
    assert_eq!(
        app.get("/api/3/automations").await.body["meta"]["total"],
        "0"
    );
    let unknown = app
        .put(
            "/api/3/automations/999999",
            json!({"automation": {"name": "x"}}),
        )
        .await;
    assert_eq!(unknown.status, 404);

    // An automation another one starts is not deleted under it.
    let started = app
        .create(
            "/api/3/automations",
            json!({"automation": {"name": "Started", "definition": {"steps": [{"id": "a", "addTag": tag}]}}}),
        )
        .await;
    let starter = app
        .create(
            "/api/3/automations",
            json!({"automation": {"name": "Starter", "definition":
                {"steps": [{"id": "go", "startAutomation": started}]}}}),
        )
        .await;
    let refused = app.delete(&format!("/api/3/automations/{started}")).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused
            .text
            .contains(&format!("automation {starter} starts")),
        "{}",
        refused.text
    );
    assert_eq!(
        app.get(&format!("/api/3/automations/{started}"))
            .await
            .status,
        200
    );
}

both_engines!(
    automations_are_saved_versioned_and_read_in_acs_shape,
    bad_definitions_are_refused_where_they_are_wrong,
);
