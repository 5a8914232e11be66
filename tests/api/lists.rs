//! `/lists` and `/contactLists`.

use serde_json::json;
use tracklane_core::ids::{ContactId, ListId};
use tracklane_core::list::ListStatus;
use tracklane_core::time::Timestamp;
use tracklane_e2e::{both_engines, contact_drafts, TestApp};

async fn new_list(app: &TestApp, name: &str) -> String {
    let answer = app
        .post("/api/3/lists", json!({"list": {"name": name}}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["list"]["id"].as_str().unwrap().to_owned()
}

async fn lists_round_trip(app: TestApp) {
    let answer = app
        .post(
            "/api/3/lists",
            json!({"list": {"name": "Weekly News", "sender_url": "https://example.com", "sender_reminder": "You signed up"}}),
        )
        .await;
    assert_eq!(answer.status, 200);
    let list = &answer.body["list"];
    assert_eq!(list["name"], "Weekly News");
    assert_eq!(list["stringid"], "weekly-news");
    assert_eq!(list["sender_url"], "https://example.com");
    let id = list["id"].as_str().unwrap();
    let path = format!("/api/3/lists/{id}");
    let updated = app
        .put(&path, json!({"list": {"name": "Monthly News"}}))
        .await;
    assert_eq!(updated.body["list"]["name"], "Monthly News");
    assert_eq!(updated.body["list"]["stringid"], "weekly-news");
    new_list(&app, "Product updates").await;
    let filtered = app.get("/api/3/lists?filters%5Bname%5D=news").await;
    assert_eq!(filtered.body["meta"]["total"], "1");
    let starts = app
        .get("/api/3/lists?filters%5Bname%5D%5Bstarts_with%5D=prod")
        .await;
    assert_eq!(starts.body["lists"][0]["name"], "Product updates");
    assert_eq!(app.delete(&path).await.body, json!({}));
    let gone = app.get(&path).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body["message"],
        format!("No Result found for _List with id {id}")
    );
    let refused = app
        .post("/api/3/lists", json!({"list": {"name": " "}}))
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(app.get("/api/3/lists").await.body["meta"]["total"], "1");
}

async fn contacts_subscribe_and_unsubscribe(app: TestApp) {
    let list = new_list(&app, "News").await;
    let contact = app
        .create(
            "/api/3/contacts",
            json!({"contact": {"email": "ada@example.com"}}),
        )
        .await;
    let subscribed = app
        .post(
            "/api/3/contactLists",
            json!({"contactList": {"list": list, "contact": contact, "status": 1}}),
        )
        .await;
    assert_eq!(subscribed.status, 200, "{}", subscribed.text);
    assert_eq!(subscribed.body["contactList"]["status"], "1");
    assert_eq!(subscribed.body["contacts"][0]["id"], contact.as_str());
    let on_list = app
        .get(&format!("/api/3/contacts?listid={list}&status=1"))
        .await;
    assert_eq!(on_list.body["meta"]["total"], "1");

    let unsubscribed = app
        .post(
            "/api/3/contactLists",
            json!({"contactList": {"list": list, "contact": contact, "status": "2"}}),
        )
        .await;
    assert_eq!(unsubscribed.body["contactList"]["status"], "2");
    assert_eq!(
        unsubscribed.body["contactList"]["id"], subscribed.body["contactList"]["id"],
        "the same membership row changes"
    );
    let memberships = app
        .get(&format!("/api/3/contacts/{contact}/contactLists"))
        .await;
    assert_eq!(
        memberships.body["contactLists"].as_array().unwrap().len(),
        1
    );
    assert_eq!(memberships.body["contactLists"][0]["status"], "2");
    let active = app
        .get(&format!("/api/3/contacts?listid={list}&status=1"))
        .await;
    assert_eq!(active.body["meta"]["total"], "0");

    let bad_status = app
        .post(
            "/api/3/contactLists",
            json!({"contactList": {"list": list, "contact": contact, "status": 3}}),
        )
        .await;
    assert_eq!(bad_status.status, 422);
    let no_list = app
        .post(
            "/api/3/contactLists",
            json!({"contactList": {"list": 999999, "contact": contact, "status": 1}}),
        )
        .await;
    assert_eq!(no_list.status, 404);
    assert_eq!(no_list.body["errors"][0]["detail"], "List not found");
    assert_eq!(
        app.get(&format!("/api/3/contacts/{contact}/contactLists"))
            .await
            .body["contactLists"][0]["status"],
        "2"
    );
}

/// The store's bulk sync, which `tracklane import contacts --list` runs.
async fn an_import_never_subscribes_again_who_unsubscribed_or_bounced(app: TestApp) {
    let list = new_list(&app, "News").await;
    let list_id = ListId(list.parse().unwrap());
    let mut people = Vec::new();
    for email in ["ada@example.com", "bob@example.com", "cy@example.com"] {
        let created = app
            .create("/api/3/contacts", json!({"contact": {"email": email}}))
            .await;
        people.push(ContactId(created.parse().unwrap()));
    }
    let now = Timestamp::now();
    for (contact, status) in [
        (people[0], ListStatus::Unsubscribed),
        (people[1], ListStatus::Bounced),
    ] {
        app.store
            .set_list_status(app.account, contact, list_id, status, 0, None, now)
            .await
            .unwrap();
    }
    let drafts = contact_drafts(["ada@example.com", "bob@example.com", "cy@example.com"]);
    let synced = app
        .store
        .sync_contacts(app.account, &drafts, Some(list_id), now)
        .await
        .unwrap();
    let opted_out: Vec<_> = synced
        .iter()
        .map(|row| row.as_ref().unwrap().opted_out)
        .collect();
    assert_eq!(
        opted_out,
        [
            Some(ListStatus::Unsubscribed),
            Some(ListStatus::Bounced),
            None
        ]
    );
    let subscribed = app
        .get(&format!("/api/3/contacts?listid={list}&status=1"))
        .await;
    assert_eq!(
        subscribed.body["meta"]["total"], "1",
        "only cy: {}",
        subscribed.text
    );
    assert_eq!(subscribed.body["contacts"][0]["email"], "cy@example.com");
}

both_engines!(
    lists_round_trip,
    contacts_subscribe_and_unsubscribe,
    an_import_never_subscribes_again_who_unsubscribed_or_bounced,
);
