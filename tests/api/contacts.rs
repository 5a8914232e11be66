//! `/contacts` and `/contact/sync`: AC's shapes, filters, paging and refusals.

use serde_json::{json, Value};
use tracklane_e2e::{both_engines, TestApp};

async fn create(app: &TestApp, email: &str, first: &str) -> String {
    let answer = app
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": email, "firstName": first, "lastName": "Lovelace"}}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["contact"]["id"].as_str().unwrap().to_owned()
}

async fn total(app: &TestApp) -> Value {
    app.get("/api/3/contacts").await.body["meta"]["total"].clone()
}

async fn creating_answers_in_acs_shape(app: TestApp) {
    let answer = app
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": " Ada@Example.com", "firstName": "Ada", "phone": "+44 1"}}),
        )
        .await;
    assert_eq!(answer.status, 201);
    assert!(answer.content_type.starts_with("application/json"));
    let contact = &answer.body["contact"];
    assert_eq!(contact["email"], "ada@example.com");
    assert_eq!(contact["firstName"], "Ada");
    assert_eq!(contact["lastName"], "");
    assert_eq!(contact["phone"], "+44 1");
    assert!(contact["id"].is_string(), "ids are strings");
    assert_eq!(contact["email_empty"], false);
    assert_eq!(contact["bounced_hard"], "0");
    assert_eq!(contact["hash"].as_str().unwrap().len(), 32);
    assert!(contact["cdate"].as_str().unwrap().ends_with("+00:00"));
    let id = contact["id"].as_str().unwrap();
    assert_eq!(
        contact["links"]["contactTags"],
        format!("{}/api/3/contacts/{id}/contactTags", app.address)
    );
    assert_eq!(answer.body["fieldValues"], json!([]));

    let shown = app.get(&format!("/api/3/contacts/{id}")).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["contact"]["email"], "ada@example.com");
    for side_loaded in [
        "contactAutomations",
        "contactLists",
        "deals",
        "fieldValues",
        "geoIps",
    ] {
        assert!(
            shown.body[side_loaded].is_array(),
            "{side_loaded} is side-loaded"
        );
    }
    let links = contact["links"].as_object().unwrap();
    assert!(links.len() >= 7, "{links:?}");
    for (name, url) in links {
        let path = url.as_str().unwrap().strip_prefix(&app.address).unwrap();
        let followed = app.get(path).await;
        assert_eq!(
            followed.status, 200,
            "the {name} link leads somewhere: {path}"
        );
    }
}

async fn a_duplicate_email_is_refused(app: TestApp) {
    create(&app, "ada@example.com", "Ada").await;
    let answer = app
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": "ADA@example.com"}}),
        )
        .await;
    assert_eq!(answer.status, 422);
    let error = &answer.body["errors"][0];
    assert_eq!(error["title"], "Email address already exists in the system");
    assert_eq!(error["code"], "duplicate");
    assert_eq!(error["source"]["pointer"], "/data/attributes/email");
    assert_eq!(total(&app).await, "1");
}

async fn bad_bodies_are_refused_and_write_nothing(app: TestApp) {
    let cases: Vec<(&str, u16, &str)> = vec![
        ("{\"contact\": {\"email\": \"ada@", 400, "malformed"),
        ("", 400, "malformed"),
        ("[1, 2]", 422, "invalid"),
        ("{\"contact\": {\"email\": 5}}", 422, "invalid"),
        (
            "{\"contact\": {\"email\": \"not-an-email\"}}",
            422,
            "invalid",
        ),
        (
            "{\"contact\": {\"firstName\": \"No Email\"}}",
            422,
            "missing",
        ),
        ("{\"nothing\": true}", 422, "missing"),
    ];
    for (body, status, code) in cases {
        let answer = app
            .send(
                "POST",
                "/api/3/contacts",
                Some(&app.api_key),
                Some(body.as_bytes().to_vec()),
            )
            .await;
        assert_eq!(answer.status, status, "{body}: {}", answer.text);
        assert_eq!(answer.body["errors"][0]["code"], code, "{body}");
        assert!(answer.body["errors"][0]["title"].is_string());
    }
    let long_name = "x".repeat(256);
    let answer = app
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": "long@example.com", "firstName": long_name}}),
        )
        .await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.body["errors"][0]["code"], "too_long");
    assert_eq!(
        answer.body["errors"][0]["source"]["pointer"],
        "/data/attributes/firstName"
    );
    assert_eq!(total(&app).await, "0");
}

async fn a_body_over_the_limit_is_413(app: TestApp) {
    let huge = format!(
        "{{\"contact\": {{\"email\": \"big@example.com\", \"firstName\": \"{}\"}}}}",
        "x".repeat(1024 * 1024 + 10)
    );
    let answer = app
        .send(
            "POST",
            "/api/3/contacts",
            Some(&app.api_key),
            Some(huge.into_bytes()),
        )
        .await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.body["errors"][0]["code"], "too_large");
    assert_eq!(total(&app).await, "0");
}

async fn sync_creates_then_updates(app: TestApp) {
    let first = app
        .post(
            "/api/3/contact/sync",
            json!({"contact": {"email": "sync@example.com", "firstName": "First"}}),
        )
        .await;
    assert_eq!(first.status, 201);
    let id = first.body["contact"]["id"].clone();
    let second = app
        .post(
            "/api/3/contact/sync",
            json!({"contact": {"email": "SYNC@example.com", "lastName": "Last"}}),
        )
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["contact"]["id"], id);
    assert_eq!(
        second.body["contact"]["firstName"], "First",
        "absent attributes stay"
    );
    assert_eq!(second.body["contact"]["lastName"], "Last");
    assert_eq!(total(&app).await, "1");
    let refused = app
        .post(
            "/api/3/contact/sync",
            json!({"contact": {"firstName": "No email"}}),
        )
        .await;
    assert_eq!(refused.status, 422);
}

async fn lists_filter_and_page(app: TestApp) {
    for i in 0..25 {
        create(
            &app,
            &format!("person{i:02}@example.com"),
            &format!("Person{i:02}"),
        )
        .await;
    }
    create(&app, "grace@navy.mil", "Grace").await;

    let first_page = app.get("/api/3/contacts").await;
    assert_eq!(first_page.body["meta"]["total"], "26");
    assert_eq!(
        first_page.body["contacts"].as_array().unwrap().len(),
        20,
        "default limit"
    );
    let last_page = app.get("/api/3/contacts?limit=20&offset=20").await;
    assert_eq!(last_page.body["contacts"].as_array().unwrap().len(), 6);
    let capped = app.get("/api/3/contacts?limit=500").await;
    assert_eq!(capped.body["contacts"].as_array().unwrap().len(), 26);

    let by_email = app.get("/api/3/contacts?email=GRACE%40navy.mil").await;
    assert_eq!(by_email.body["meta"]["total"], "1");
    assert_eq!(by_email.body["contacts"][0]["firstName"], "Grace");
    let by_filter = app
        .get("/api/3/contacts?filters%5Bemail%5D=grace%40navy.mil")
        .await;
    assert_eq!(by_filter.body["meta"]["total"], "1");
    let like = app.get("/api/3/contacts?email_like=navy").await;
    assert_eq!(like.body["meta"]["total"], "1");
    let search = app.get("/api/3/contacts?search=person1").await;
    assert_eq!(search.body["meta"]["total"], "10");
    let percent = app.get("/api/3/contacts?search=%25").await;
    assert_eq!(
        percent.body["meta"]["total"], "0",
        "LIKE wildcards are escaped"
    );

    let ordered = app
        .get("/api/3/contacts?orders%5Bemail%5D=DESC&limit=1")
        .await;
    assert_eq!(ordered.body["contacts"][0]["email"], "person24@example.com");
    let first_id: i64 = first_page.body["contacts"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let after = app
        .get(&format!(
            "/api/3/contacts?id_greater={}&limit=100",
            first_id + 20
        ))
        .await;
    assert_eq!(after.body["meta"]["total"], "5");
    let ids = app
        .get(&format!(
            "/api/3/contacts?ids[]={first_id}&ids[]={}",
            first_id + 1
        ))
        .await;
    assert_eq!(ids.body["meta"]["total"], "2");

    let bad = app.get("/api/3/contacts?limit=ten").await;
    assert_eq!(bad.status, 422);
    let bad_date = app
        .get("/api/3/contacts?filters%5Bcreated_after%5D=soon")
        .await;
    assert_eq!(bad_date.status, 422);
    let future = app
        .get("/api/3/contacts?filters%5Bcreated_after%5D=2999-01-01")
        .await;
    assert_eq!(future.body["meta"]["total"], "0");
}

async fn update_changes_only_what_is_given(app: TestApp) {
    let id = create(&app, "ada@example.com", "Ada").await;
    create(&app, "taken@example.com", "Taken").await;
    let path = format!("/api/3/contacts/{id}");
    let answer = app
        .update(&path, json!({"contact": {"phone": "555"}}))
        .await;
    assert_eq!(answer["contact"]["phone"], "555");
    assert_eq!(answer["contact"]["firstName"], "Ada");

    let clash = app
        .put(&path, json!({"contact": {"email": "taken@example.com"}}))
        .await;
    assert_eq!(clash.status, 422);
    assert_eq!(clash.body["errors"][0]["code"], "duplicate");
    let invalid = app.put(&path, json!({"contact": {"email": "nope"}})).await;
    assert_eq!(invalid.status, 422);
    assert_eq!(
        app.get(&path).await.body["contact"]["email"],
        "ada@example.com"
    );

    let missing = app
        .put("/api/3/contacts/999999", json!({"contact": {"phone": "1"}}))
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body["message"],
        "No Result found for Subscriber with id 999999"
    );
}

async fn delete_removes_the_contact(app: TestApp) {
    let id = create(&app, "ada@example.com", "Ada").await;
    let path = format!("/api/3/contacts/{id}");
    let answer = app.delete(&path).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({}));
    assert_eq!(app.get(&path).await.status, 404);
    assert_eq!(app.delete(&path).await.status, 404);
    assert_eq!(app.get("/api/3/contacts/abc").await.status, 404);
    create(&app, "ada@example.com", "Ada again").await;
}

async fn concurrent_syncs_of_one_email_make_one_contact(app: TestApp) {
    let app = std::sync::Arc::new(app);
    let mut syncs = tokio::task::JoinSet::new();
    for i in 0..24 {
        let app = app.clone();
        syncs.spawn(async move {
            app.post(
                "/api/3/contact/sync",
                json!({"contact": {"email": "race@example.com", "lastName": format!("L{i}")}}),
            )
            .await
            .status
        });
    }
    let mut created = 0;
    while let Some(status) = syncs.join_next().await {
        match status.unwrap() {
            201 => created += 1,
            200 => {}
            other => panic!("sync answered {other}"),
        }
    }
    assert_eq!(created, 1, "exactly one sync creates the contact");
    assert_eq!(total(&app).await, "1");
}

async fn the_body_limit_is_configurable(app: TestApp) {
    let settings = tracklane_server::config::SettingsLayer {
        max_body_bytes: Some(200),
        ..Default::default()
    };
    let small = TestApp::spawn_with(app.engine, settings).await;
    let body = json!({"contact": {"email": "a@example.com", "lastName": "x".repeat(300)}});
    let answer = small.post("/api/3/contacts", body).await;
    assert_eq!(answer.status, 413);
    assert_eq!(
        answer.body["errors"][0]["detail"],
        "the body must be at most 200 bytes"
    );
    let fits = small
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": "a@example.com"}}),
        )
        .await;
    assert_eq!(fits.status, 201);
}

both_engines!(
    concurrent_syncs_of_one_email_make_one_contact,
    the_body_limit_is_configurable,
    creating_answers_in_acs_shape,
    a_duplicate_email_is_refused,
    bad_bodies_are_refused_and_write_nothing,
    a_body_over_the_limit_is_413,
    sync_creates_then_updates,
    lists_filter_and_page,
    update_changes_only_what_is_given,
    delete_removes_the_contact,
);
