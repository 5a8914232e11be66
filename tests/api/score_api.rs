//! Lead scoring's API: AC's reads of models and score values in AC's shape, contacts listed by
//! score, Tracklane's writes of models, rules and adjustments, and refused input that changes
//! nothing.

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

use crate::scores::{awards, model, score};
use crate::segments::contact;

async fn models_and_rules_are_answered_in_acs_shape(app: TestApp) {
    let created = app
        .post(
            "/api/3/scores",
            json!({"score": {"name": "Engagement", "descript": "how keen"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["score"]["id"].as_str().unwrap().to_owned();
    let shown = app.get(&format!("/api/3/scores/{id}")).await;
    for (key, value) in [
        ("reltype", "contact"),
        ("name", "Engagement"),
        ("descript", "how keen"),
        ("status", "1"),
    ] {
        assert_eq!(shown.body["score"][key], value, "{key}");
    }
    assert_eq!(shown.body["score"]["links"], json!([]));
    let listed = app.get("/api/3/scores").await;
    assert_eq!(listed.body["meta"]["total"], "1");
    assert_eq!(listed.body["scores"][0]["id"], id.as_str());
    let missing = app.get("/api/3/scores/999999").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        json!({"message": "No Result found for Score with id 999999"})
    );
    let other = app.other_account_key().await;
    let theirs = app
        .send("GET", &format!("/api/3/scores/{id}"), Some(&other), None)
        .await;
    assert_eq!(theirs.status, 404);

    let renamed = app
        .put(
            &format!("/api/3/scores/{id}"),
            json!({"score": {"name": "Keenness"}}),
        )
        .await;
    assert_eq!(renamed.body["score"]["name"], "Keenness");
    assert_eq!(renamed.body["score"]["descript"], "how keen");

    let added = app
        .post(
            &format!("/api/3/scores/{id}/rules"),
            json!({"scoreRule": {"condition": {"opened": {}}, "points": 5, "expiryDays": 30}}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let rule = &added.body["scoreRule"];
    assert_eq!(rule["score"], id.as_str());
    assert_eq!(rule["points"], 5);
    assert_eq!(rule["expiryDays"], 30);
    assert_eq!(rule["frequency"], "everyTime");
    assert_eq!(rule["scoring"], "eachRow");
    assert!(
        rule["ready"] == true || rule["progress"].as_f64().unwrap() < 1.0,
        "a recompute not done is not shown done: {rule}"
    );
    let rule_id = rule["id"].as_str().unwrap().to_owned();
    app.settle_segments().await;
    let shown = app.get(&format!("/api/3/scoreRules/{rule_id}")).await;
    assert_eq!(shown.body["scoreRule"]["ready"], true);
    assert_eq!(shown.body["scoreRule"]["progress"], 1.0);
    let listed = app.get(&format!("/api/3/scores/{id}/rules")).await;
    assert_eq!(listed.body["meta"]["total"], "1");
    assert_eq!(listed.body["scoreRules"][0]["id"], rule_id.as_str());
    let contact = contact(&app, "ann@example.com").await;
    let values = app
        .get(&format!("/api/3/contacts/{contact}/scoreValues"))
        .await;
    assert_eq!(values.body, json!({"scoreValues": []}));
    let removed = app.delete(&format!("/api/3/scoreRules/{rule_id}")).await;
    assert_eq!(removed.status, 200);
    assert_eq!(
        app.get(&format!("/api/3/scoreRules/{rule_id}"))
            .await
            .status,
        404
    );
}

async fn bad_rules_and_adjustments_are_refused_and_change_nothing(app: TestApp) {
    let id = model(&app, "Engagement").await;
    let contact = contact(&app, "ann@example.com").await;
    let path = format!("/api/3/scores/{id}/rules");
    for (body, attribute) in [
        (json!({"scoreRule": {"points": 5}}), "condition"),
        (
            json!({"scoreRule": {"condition": {"opened": {}}}}),
            "points",
        ),
        (
            json!({"scoreRule": {"condition": {"opened": {}}, "points": 0}}),
            "points",
        ),
        (
            json!({"scoreRule": {"condition": {"opened": {}}, "points": 5000}}),
            "points",
        ),
        (
            json!({"scoreRule": {"condition": {"opened": {}}, "points": 5, "expiryDays": 0}}),
            "expiryDays",
        ),
        (
            json!({"scoreRule": {"condition": {"hasTag": 999999}, "points": 5}}),
            "definition",
        ),
        (
            json!({"scoreRule": {"condition": {"visited": {"url": 3}}, "points": 5}}),
            "condition",
        ),
        (
            json!({"scoreRule": {"condition": {"score": {"model": 1, "value": {"atLeast": 1}}},
                "points": 5}}),
            "condition",
        ),
        (
            json!({"scoreRule": {"condition": {"hasTag": 1}, "points": 5, "frequency": "once"}}),
            "frequency",
        ),
    ] {
        let answer = app.post(&path, body.clone()).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
        assert!(answer.text.contains(attribute), "{body}: {}", answer.text);
    }
    for body in [
        json!({"scoreRule": {"points": "five"}}),
        json!({"nothing": 1}),
    ] {
        let answer = app.post(&path, body.clone()).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
    }
    let unknown = app
        .post(
            "/api/3/scores/999999/rules",
            json!({"scoreRule": {"condition": {"opened": {}}, "points": 5}}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let listed = app.get(&path).await;
    assert_eq!(listed.body["meta"]["total"], "0");

    let adjust = format!("/api/3/contacts/{contact}/scoreAdjustments");
    for body in [
        json!({"scoreAdjustment": {"score": id, "points": 10}}),
        json!({"scoreAdjustment": {"score": id, "points": 0, "reason": "x"}}),
        json!({"scoreAdjustment": {"points": 10, "reason": "x"}}),
        json!({"scoreAdjustment": {"score": id, "points": 10, "reason": "x", "expiryDays": -1}}),
    ] {
        let answer = app.post(&adjust, body.clone()).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
    }
    let unknown_model = app
        .post(
            &adjust,
            json!({"scoreAdjustment": {"score": 999999, "points": 10, "reason": "x"}}),
        )
        .await;
    assert_eq!(unknown_model.status, 404);
    let unknown_contact = app
        .post(
            "/api/3/contacts/999999/scoreAdjustments",
            json!({"scoreAdjustment": {"score": id, "points": 10, "reason": "x"}}),
        )
        .await;
    assert_eq!(unknown_contact.status, 404);
    assert_eq!(score(&app, &contact, &id).await, 0);
    assert!(awards(&app, &contact).await.is_empty());
}

async fn contacts_are_listed_by_their_score_in_a_model(app: TestApp) {
    let id = model(&app, "Engagement").await;
    for (email, points) in [
        ("bob@example.com", 10),
        ("ann@example.com", 30),
        ("cy@example.com", 0),
        ("di@example.com", -5),
    ] {
        let contact = contact(&app, email).await;
        if points != 0 {
            let adjusted = app
                .post(
                    &format!("/api/3/contacts/{contact}/scoreAdjustments"),
                    json!({"scoreAdjustment": {"score": id, "points": points, "reason": "met"}}),
                )
                .await;
            assert_eq!(adjusted.status, 201, "{}", adjusted.text);
        }
    }
    let emails = |listed: &serde_json::Value| -> Vec<String> {
        listed["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|contact| contact["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let keenest = app
        .get(&format!("/api/3/contacts?orders[score]=DESC&sortId={id}"))
        .await;
    assert_eq!(keenest.status, 200, "{}", keenest.text);
    assert_eq!(
        emails(&keenest.body),
        [
            "ann@example.com",
            "bob@example.com",
            "cy@example.com",
            "di@example.com"
        ]
    );
    let coldest = app
        .get(&format!(
            "/api/3/contacts?orders[score]=ASC&sortId={id}&limit=2"
        ))
        .await;
    assert_eq!(emails(&coldest.body), ["di@example.com", "cy@example.com"]);
    assert_eq!(coldest.body["meta"]["total"], "4");

    let missing = app.get("/api/3/contacts?orders[score]=DESC").await;
    assert_eq!(missing.status, 422, "{}", missing.text);
    assert!(missing.text.contains("sortId"), "{}", missing.text);
    let wrong = app
        .get("/api/3/contacts?orders[score]=DESC&sortId=high")
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    let unknown = app
        .get("/api/3/contacts?orders[score]=DESC&sortId=999999")
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let other = app.other_account_key().await;
    let theirs = app
        .send(
            "GET",
            &format!("/api/3/contacts?orders[score]=DESC&sortId={id}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.text);
}

both_engines!(
    models_and_rules_are_answered_in_acs_shape,
    bad_rules_and_adjustments_are_refused_and_change_nothing,
    contacts_are_listed_by_their_score_in_a_model,
);
