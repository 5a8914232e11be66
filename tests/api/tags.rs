//! `/tags` and `/contactTags`.

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

async fn new_tag(app: &TestApp, name: &str) -> String {
    let answer = app.post("/api/3/tags", json!({"tag": {"tag": name}})).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["tag"]["id"].as_str().unwrap().to_owned()
}

async fn new_contact(app: &TestApp, email: &str) -> String {
    let answer = app
        .post("/api/3/contacts", json!({"contact": {"email": email}}))
        .await;
    answer.body["contact"]["id"].as_str().unwrap().to_owned()
}

async fn tags_round_trip(app: TestApp) {
    let answer = app
        .post(
            "/api/3/tags",
            json!({"tag": {"tag": "VIP", "tagType": "contact", "description": "Big spenders"}}),
        )
        .await;
    assert_eq!(answer.status, 201);
    let tag = &answer.body["tag"];
    assert_eq!(tag["tag"], "VIP");
    assert_eq!(tag["tagType"], "contact");
    assert_eq!(tag["description"], "Big spenders");
    let id = tag["id"].as_str().unwrap();
    let path = format!("/api/3/tags/{id}");

    let shown = app.get(&path).await;
    assert_eq!(shown.body["tag"]["subscriber_count"], "0");
    let updated = app
        .update(&path, json!({"tag": {"description": "Changed"}}))
        .await;
    assert_eq!(updated["tag"]["tag"], "VIP");
    assert_eq!(updated["tag"]["description"], "Changed");
    assert_eq!(app.delete(&path).await.body, json!({}));
    let gone = app.get(&path).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body["message"],
        format!("No Result found for Tag with id {id}")
    );
}

async fn tags_search_and_order(app: TestApp) {
    for name in ["alpha", "beta", "alphabet", "gamma"] {
        new_tag(&app, name).await;
    }
    let search = app.get("/api/3/tags?search=alpha").await;
    assert_eq!(search.body["meta"]["total"], "2");
    let exact = app
        .get("/api/3/tags?filters%5Bsearch%5D%5Beq%5D=alpha")
        .await;
    assert_eq!(exact.body["meta"]["total"], "1");
    let ordered = app.get("/api/3/tags?orders%5Bsearch%5D=DESC").await;
    assert_eq!(ordered.body["tags"][0]["tag"], "gamma");
    let bad_op = app.get("/api/3/tags?filters%5Bsearch%5D%5Blike%5D=a").await;
    assert_eq!(bad_op.status, 422);
}

async fn bad_tags_are_refused(app: TestApp) {
    for body in [
        json!({"tag": {"tag": ""}}),
        json!({"tag": {"description": "no name"}}),
        json!({"tag": {"tag": "x", "tagType": "deal"}}),
        json!({"tag": {"tag": "x".repeat(256)}}),
        json!({"tag": {"tag": 12}}),
        json!({}),
    ] {
        let answer = app.post("/api/3/tags", body.clone()).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
    }
    assert_eq!(app.get("/api/3/tags").await.body["meta"]["total"], "0");
}

async fn contacts_carry_tags(app: TestApp) {
    let contact = new_contact(&app, "ada@example.com").await;
    let tag = new_tag(&app, "vip").await;
    let added = app
        .post(
            "/api/3/contactTags",
            json!({"contactTag": {"contact": contact.parse::<i64>().unwrap(), "tag": tag}}),
        )
        .await;
    assert_eq!(added.status, 201);
    assert_eq!(added.body["contactTag"]["contact"], contact.as_str());
    assert_eq!(added.body["contactTag"]["tag"], tag.as_str());
    let row = added.body["contactTag"]["id"].as_str().unwrap().to_owned();
    let again = app
        .post(
            "/api/3/contactTags",
            json!({"contactTag": {"contact": contact, "tag": tag}}),
        )
        .await;
    assert_eq!(
        again.status, 200,
        "adding it again returns the existing row"
    );
    assert_eq!(again.body["contactTag"]["id"], row.as_str());

    let listed = app
        .get(&format!("/api/3/contacts/{contact}/contactTags"))
        .await;
    assert_eq!(listed.body["contactTags"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/api/3/tags/{tag}")).await.body["tag"]["subscriber_count"],
        "1"
    );
    let tagged = app.get(&format!("/api/3/contacts?tagid={tag}")).await;
    assert_eq!(tagged.body["meta"]["total"], "1");

    assert_eq!(
        app.delete(&format!("/api/3/contactTags/{row}"))
            .await
            .status,
        200
    );
    let missing = app.delete(&format!("/api/3/contactTags/{row}")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body["message"],
        format!("No Result found for SubscriberTag with id {row}")
    );
    let listed = app
        .get(&format!("/api/3/contacts/{contact}/contactTags"))
        .await;
    assert_eq!(listed.body["contactTags"], json!([]));
}

async fn contact_tags_refuse_unknown_rows(app: TestApp) {
    let contact = new_contact(&app, "ada@example.com").await;
    let tag = new_tag(&app, "vip").await;
    let no_contact = app
        .post(
            "/api/3/contactTags",
            json!({"contactTag": {"contact": 999999, "tag": tag}}),
        )
        .await;
    assert_eq!(no_contact.status, 404);
    assert_eq!(
        no_contact.body,
        json!({"errors": [{"status": 404, "title": "Not Found", "detail": "Contact not found"}]})
    );
    let no_tag = app
        .post(
            "/api/3/contactTags",
            json!({"contactTag": {"contact": contact, "tag": "999999"}}),
        )
        .await;
    assert_eq!(no_tag.status, 404);
    let missing = app
        .post(
            "/api/3/contactTags",
            json!({"contactTag": {"contact": contact}}),
        )
        .await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.body["errors"][0]["title"], "Missing attribute");
    assert_eq!(
        missing.body["errors"][0]["source"]["pointer"],
        "/data/attributes/tag"
    );
    let not_an_id = app
        .post(
            "/api/3/contactTags",
            json!({"contactTag": {"contact": "ada", "tag": tag}}),
        )
        .await;
    assert_eq!(not_an_id.status, 422);
    let listed = app
        .get(&format!("/api/3/contacts/{contact}/contactTags"))
        .await;
    assert_eq!(listed.body["contactTags"], json!([]));
    let unknown = app.get("/api/3/contacts/999999/contactTags").await;
    assert_eq!(unknown.status, 404);
}

both_engines!(
    tags_round_trip,
    tags_search_and_order,
    bad_tags_are_refused,
    contacts_carry_tags,
    contact_tags_refuse_unknown_rows,
);
