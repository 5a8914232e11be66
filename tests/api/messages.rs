//! `/messages` and `/campaigns`.

use serde_json::json;
use tracklane_core::ids::MessageId;
use tracklane_core::message::MessagePatch;
use tracklane_core::time::Timestamp;
use tracklane_e2e::{both_engines, TestApp};

async fn new_message(app: &TestApp) -> String {
    let answer = app
        .post(
            "/api/3/messages",
            json!({"message": {"subject": "Hello %FIRSTNAME%", "fromname": "News", "fromemail": "news@example.com", "html": "<p>Hi <a href=\"https://example.com/\">there</a></p>", "text": "Hi"}}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["message"]["id"].as_str().unwrap().to_owned()
}

async fn messages_round_trip(app: TestApp) {
    let id = new_message(&app).await;
    let path = format!("/api/3/messages/{id}");
    let shown = app.get(&path).await;
    assert_eq!(shown.body["message"]["subject"], "Hello %FIRSTNAME%");
    assert_eq!(shown.body["message"]["fromemail"], "news@example.com");
    assert_eq!(shown.body["message"]["format"], "mime");
    let updated = app
        .put(&path, json!({"message": {"subject": "Changed"}}))
        .await;
    assert_eq!(updated.body["message"]["subject"], "Changed");
    assert_eq!(updated.body["message"]["fromname"], "News");
    assert_eq!(app.get("/api/3/messages").await.body["meta"]["total"], "1");

    for bad in [
        json!({"message": {"fromemail": "news@example.com", "html": "x"}}),
        json!({"message": {"subject": "s", "fromemail": "nobody", "html": "x"}}),
        json!({"message": {"subject": "s", "fromemail": "news@example.com"}}),
        json!({"message": {"subject": 5}}),
    ] {
        assert_eq!(
            app.post("/api/3/messages", bad.clone()).await.status,
            422,
            "{bad}"
        );
    }
    let huge = format!(
        "{{\"message\": {{\"subject\": \"s\", \"fromemail\": \"a@example.com\", \"html\": \"{}\"}}}}",
        "x".repeat(2 * 1024 * 1024 + 1)
    );
    let answer = app
        .send(
            "POST",
            "/api/3/messages",
            Some(&app.api_key),
            Some(huge.into_bytes()),
        )
        .await;
    assert_eq!(answer.status, 413, "over the body limit");
    assert_eq!(app.get("/api/3/messages").await.body["meta"]["total"], "1");

    assert_eq!(app.delete(&path).await.body, json!({}));
    let gone = app.get(&path).await;
    assert_eq!(
        gone.body["message"],
        format!("No Result found for Message with id {id}")
    );
}

async fn campaigns_send_a_message_to_a_list(app: TestApp) {
    let message = new_message(&app).await;
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    let created = app
        .post(
            "/api/3/campaigns",
            json!({"campaign": {"name": "Launch", "message": message, "list": list.parse::<i64>().unwrap()}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let campaign = &created.body["campaign"];
    assert_eq!(campaign["name"], "Launch");
    assert_eq!(campaign["status"], "0", "a draft");
    assert_eq!(campaign["tracklinks"], "all");
    assert_eq!(campaign["send_amt"], "0");
    let id = campaign["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/3/campaigns/{id}")).await.body["campaign"]["listid"],
        list.as_str()
    );
    assert_eq!(app.get("/api/3/campaigns").await.body["meta"]["total"], "1");
    let in_use = app.delete(&format!("/api/3/messages/{message}")).await;
    assert_eq!(in_use.status, 422, "a message a campaign sends stays");

    let no_list = app
        .post(
            "/api/3/campaigns",
            json!({"campaign": {"name": "X", "message": message, "list": 999999}}),
        )
        .await;
    assert_eq!(no_list.status, 404);
    assert_eq!(no_list.body["errors"][0]["detail"], "List not found");
    let no_message = app
        .post(
            "/api/3/campaigns",
            json!({"campaign": {"name": "X", "message": 999999, "list": list}}),
        )
        .await;
    assert_eq!(no_message.body["errors"][0]["detail"], "Message not found");
    let bad_tracking = app
        .post("/api/3/campaigns", json!({"campaign": {"name": "X", "message": message, "list": list, "tracklinks": "some"}}))
        .await;
    assert_eq!(bad_tracking.status, 422);
    assert_eq!(app.get("/api/3/campaigns").await.body["meta"]["total"], "1");
    let missing = app.get("/api/3/campaigns/999999").await;
    assert_eq!(
        missing.body["message"],
        "No Result found for Campaign with id 999999"
    );
}

async fn a_template_that_would_not_render_is_refused_where_it_breaks(app: TestApp) {
    let id = new_message(&app).await;
    let unclosed = json!({"message": {"subject": "x", "fromemail": "news@example.com",
        "html": "<p>Hi</p>\n<p>%IF TAG:vip%VIP only"}});
    let refused = app.post("/api/3/messages", unclosed).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let error = &refused.body["errors"][0];
    assert_eq!(error["source"]["pointer"], "/data/attributes/html");
    let detail = error["detail"].as_str().unwrap();
    assert!(detail.starts_with("line 2, column 4:"), "{detail}");
    assert_eq!(app.get("/api/3/messages").await.body["meta"]["total"], "1");

    let path = format!("/api/3/messages/{id}");
    for (attribute, bad) in [("text", "Bye %ENDIF%"), ("subject", "%ELSE% x")] {
        let refused = app.put(&path, json!({"message": {attribute: bad}})).await;
        assert_eq!(refused.status, 422, "{}", refused.text);
        let pointer = &refused.body["errors"][0]["source"]["pointer"];
        assert_eq!(pointer, &format!("/data/attributes/{attribute}"));
    }
    let kept = app.get(&path).await;
    assert_eq!(kept.body["message"]["subject"], "Hello %FIRSTNAME%");
    assert_eq!(kept.body["message"]["text"], "Hi");

    // A message stored before messages were checked: its campaign is refused at sending.
    let broken = MessagePatch {
        html: Some("<p>%IF TAG:vip%x".to_owned()),
        ..MessagePatch::default()
    };
    let message = MessageId(id.parse().unwrap());
    app.store
        .update_message(app.account, message, broken, Timestamp::now())
        .await
        .unwrap();
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    let campaign = json!({"campaign": {"name": "Launch", "message": id, "list": list}});
    let campaign = app.create("/api/3/campaigns", campaign).await;
    let send = app
        .post(&format!("/api/3/campaigns/{campaign}/send"), json!({}))
        .await;
    assert_eq!(send.status, 422, "{}", send.text);
    let shown = app.get(&format!("/api/3/campaigns/{campaign}")).await;
    assert_eq!(shown.body["campaign"]["status"], "0", "still a draft");
}

async fn a_list_a_campaign_sends_to_is_kept(app: TestApp) {
    let message = new_message(&app).await;
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    app.create(
        "/api/3/campaigns",
        json!({"campaign": {"name": "Launch", "message": message, "list": list}}),
    )
    .await;
    let path = format!("/api/3/lists/{list}");
    let refused = app.delete(&path).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let error = &refused.body["errors"][0];
    assert_eq!(error["code"], "invalid");
    assert_eq!(error["detail"], "a campaign sends to this list");
    assert_eq!(error["source"]["pointer"], "/data/attributes/list");
    assert_eq!(app.get(&path).await.status, 200, "the list is still there");
    assert_eq!(app.get("/api/3/lists").await.body["meta"]["total"], "1");
}

both_engines!(
    messages_round_trip,
    campaigns_send_a_message_to_a_list,
    a_template_that_would_not_render_is_refused_where_it_breaks,
    a_list_a_campaign_sends_to_is_kept,
);
