//! `/fields`, `/fieldValues`, `/fieldRels` and field options.

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

async fn new_field(app: &TestApp, title: &str, kind: &str) -> String {
    let answer = app
        .post(
            "/api/3/fields",
            json!({"field": {"title": title, "type": kind}}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["field"]["id"].as_str().unwrap().to_owned()
}

async fn fields_round_trip(app: TestApp) {
    let id = new_field(&app, "Favourite colour", "text").await;
    let path = format!("/api/3/fields/{id}");
    let shown = app.get(&path).await;
    assert_eq!(shown.body["field"]["perstag"], "FAVOURITE_COLOUR");
    assert_eq!(shown.body["field"]["type"], "text");
    assert!(shown.body["fieldRels"].is_array());

    let duplicate = app
        .post(
            "/api/3/fields",
            json!({"field": {"title": "Favourite colour", "type": "text"}}),
        )
        .await;
    assert_eq!(duplicate.status, 422);
    assert_eq!(duplicate.body["errors"][0]["code"], "duplicate");
    let bad_type = app
        .post(
            "/api/3/fields",
            json!({"field": {"title": "Blob", "type": "blob"}}),
        )
        .await;
    assert_eq!(bad_type.status, 422);

    let updated = app
        .put(&path, json!({"field": {"descript": "Asked at signup"}}))
        .await;
    assert_eq!(updated.body["field"]["descript"], "Asked at signup");
    assert_eq!(updated.body["field"]["title"], "Favourite colour");

    let rel = app
        .post(
            "/api/3/fieldRels",
            json!({"fieldRel": {"field": id, "relid": 0}}),
        )
        .await;
    assert_eq!(rel.status, 201);
    assert_eq!(rel.body["fieldRel"]["relid"], "0");
    for spelling in ["/api/3/fieldOption/bulk", "/api/3/fieldOptions/bulk"] {
        let options = app
            .post(
                spelling,
                json!({"fieldOptions": [{"field": id, "label": "Red", "value": "red"}]}),
            )
            .await;
        assert_eq!(options.status, 201, "{spelling}: {}", options.text);
    }
    let options = app.get(&format!("{path}/options")).await;
    assert_eq!(options.body["fieldOptions"].as_array().unwrap().len(), 2);
    let listed = app
        .get("/api/3/fields?filters%5Bperstag%5D=FAVOURITE_COLOUR")
        .await;
    assert_eq!(listed.body["meta"]["total"], "1");

    assert_eq!(app.delete(&path).await.body, json!({}));
    let gone = app.get(&path).await;
    assert_eq!(
        gone.body["message"],
        format!("No Result found for Field with id {id}")
    );
}

async fn contacts_hold_field_values(app: TestApp) {
    let colour = new_field(&app, "Colour", "text").await;
    let birthday = new_field(&app, "Birthday", "date").await;
    let created = app
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": "ada@example.com", "fieldValues": [
                {"field": colour, "value": "blue"},
                {"field": birthday.parse::<i64>().unwrap(), "value": "1815-12-10"}
            ]}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["fieldValues"].as_array().unwrap().len(), 2);
    let contact = created.body["contact"]["id"].as_str().unwrap().to_owned();

    let values = app
        .get(&format!("/api/3/contacts/{contact}/fieldValues"))
        .await;
    assert_eq!(values.body["fieldValues"][0]["value"], "blue");
    let value_id = values.body["fieldValues"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let set = app
        .post(
            "/api/3/fieldValues",
            json!({"fieldValue": {"contact": contact, "field": colour, "value": "green"}, "useDefaults": true}),
        )
        .await;
    assert_eq!(set.status, 200);
    assert_eq!(
        set.body["fieldValue"]["id"],
        value_id.as_str(),
        "one value per contact and field"
    );
    assert_eq!(set.body["contacts"][0]["id"], contact.as_str());

    let path = format!("/api/3/fieldValues/{value_id}");
    app.update(&path, json!({"fieldValue": {"value": "red"}}))
        .await;
    assert_eq!(app.get(&path).await.body["fieldValue"]["value"], "red");
    let filtered = app
        .get(&format!(
            "/api/3/fieldValues?filters%5Bfieldid%5D={colour}&filters%5Bval%5D=red"
        ))
        .await;
    assert_eq!(filtered.body["meta"]["total"], "1");

    let bad_date = app
        .post(
            "/api/3/fieldValues",
            json!({"fieldValue": {"contact": contact, "field": birthday, "value": "10 Dec"}}),
        )
        .await;
    assert_eq!(bad_date.status, 422);
    let unknown_field = app
        .post(
            "/api/3/contact/sync",
            json!({"contact": {"email": "ada@example.com", "firstName": "Changed", "fieldValues": [{"field": 999999, "value": "x"}]}}),
        )
        .await;
    assert_eq!(unknown_field.status, 422);
    assert_eq!(
        app.get(&format!("/api/3/contacts/{contact}")).await.body["contact"]["firstName"],
        "",
        "a refused sync changes nothing, not even the valid attributes"
    );
    let unknown_contact = app
        .post(
            "/api/3/fieldValues",
            json!({"fieldValue": {"contact": 999999, "field": colour, "value": "x"}}),
        )
        .await;
    assert_eq!(unknown_contact.status, 404);

    assert_eq!(app.delete(&path).await.body, json!({}));
    let gone = app.get(&path).await;
    assert_eq!(
        gone.body["message"],
        format!("No Result found for FieldValue with id {value_id}")
    );
}

async fn field_rels_name_only_the_accounts_lists(app: TestApp) {
    let field = new_field(&app, "Favourite colour", "text").await;
    let other_key = app.other_account_key().await;
    let theirs = app
        .create_as(
            &other_key,
            "/api/3/lists",
            json!({"list": {"name": "Theirs"}}),
        )
        .await;
    for relid in [json!(theirs), json!(-5), json!(999_999)] {
        let refused = app
            .post(
                "/api/3/fieldRels",
                json!({"fieldRel": {"field": field, "relid": relid}}),
            )
            .await;
        assert_eq!(refused.status, 404, "relid {relid}: {}", refused.text);
        assert_eq!(refused.body["errors"][0]["detail"], "List not found");
    }
    let shown = app.get(&format!("/api/3/fields/{field}")).await;
    assert_eq!(shown.body["fieldRels"], json!([]), "nothing was related");

    let ours = app
        .create("/api/3/lists", json!({"list": {"name": "Ours"}}))
        .await;
    let related = app
        .post(
            "/api/3/fieldRels",
            json!({"fieldRel": {"field": field, "relid": ours}}),
        )
        .await;
    assert_eq!(related.status, 201, "{}", related.text);
    assert_eq!(related.body["fieldRel"]["relid"], ours.as_str());
}

both_engines!(
    fields_round_trip,
    contacts_hold_field_values,
    field_rels_name_only_the_accounts_lists
);
