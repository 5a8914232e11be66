//! Forms: definitions through `/api/3/forms`, the embed snippet, and submissions to
//! `POST /f/{id}` (contact, list, tags, visitor identified, event recorded, redirect or JSON),
//! spam rules (honeypot, per-address limit) and bad input that changes nothing.

use serde_json::{json, Value};
use tracklane_e2e::{both_engines, Answer, Engine, TestApp};
use tracklane_server::config::SettingsLayer;

use crate::mail::no_redirects;
use crate::tracking::{enable, hit, logs, page};

const URLENCODED: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const JSON: (&str, &str) = ("content-type", "application/json");

async fn created_id(app: &TestApp, path: &str, body: Value, key: &str) -> String {
    let answer = app.post(path, body).await;
    assert!(matches!(answer.status, 200 | 201), "{}", answer.text);
    answer.body[key]["id"].as_str().unwrap().to_owned()
}

/// A list, a tag, a custom field and a form using them; returns the form's id, the list's and
/// the tag's.
pub(crate) async fn newsletter_form(app: &TestApp) -> (String, String, String) {
    let list = created_id(
        app,
        "/api/3/lists",
        json!({"list": {"name": "News"}}),
        "list",
    )
    .await;
    let tag = created_id(app, "/api/3/tags", json!({"tag": {"tag": "lead"}}), "tag").await;
    let field = json!({"field": {"title": "Company", "type": "text"}});
    created_id(app, "/api/3/fields", field, "field").await;
    let form = json!({"form": {
        "name": "Newsletter",
        "fields": ["firstName", "COMPANY"],
        "list": list.parse::<i64>().unwrap(),
        "tags": [tag.clone()],
        "thankYouUrl": "https://example.com/thanks?from=form",
    }});
    let id = created_id(app, "/api/3/forms", form, "form").await;
    (id, list, tag)
}

/// Posts a submission without following redirects: the status and the `Location`.
pub(crate) async fn post_form(app: &TestApp, id: &str, body: &str) -> (u16, Option<String>) {
    let answer = no_redirects()
        .post(format!("{}/f/{id}", app.address))
        .header(URLENCODED.0, URLENCODED.1)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let location = answer
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (answer.status().as_u16(), location)
}

/// How many contacts the account holds.
pub(crate) async fn contact_total(app: &TestApp) -> String {
    app.get("/api/3/contacts").await.body["meta"]["total"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn forms_round_trip(app: TestApp) {
    let (id, list, tag) = newsletter_form(&app).await;
    let shown = app.get(&format!("/api/3/forms/{id}")).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    let form = &shown.body["form"];
    assert_eq!(form["name"], "Newsletter");
    assert_eq!(form["fields"], json!(["email", "firstName", "COMPANY"]));
    assert_eq!(form["list"], list);
    assert_eq!(form["tags"], json!([tag]));
    assert_eq!(form["action"], format!("{}/f/{id}", app.address));

    let embed = app.get(&format!("/api/3/forms/{id}/embed")).await;
    assert_eq!(embed.status, 200);
    assert!(embed
        .text
        .contains(&format!("action=\"{}/f/{id}\"", app.address)));
    assert!(embed.text.contains("name=\"tl_hp\""));
    assert!(embed.text.contains("name=\"tl_vid\""));
    assert!(
        embed
            .text
            .contains("<label>Company<input type=\"text\" name=\"COMPANY\">"),
        "a custom field is labelled with its title: {}",
        embed.text
    );

    let changed = app
        .update(
            &format!("/api/3/forms/{id}"),
            json!({"form": {"name": "Letters", "list": 0, "tags": []}}),
        )
        .await;
    assert_eq!(changed["form"]["name"], "Letters");
    assert_eq!(changed["form"]["list"], Value::Null);
    assert_eq!(changed["form"]["tags"], json!([]));
    assert_eq!(changed["form"]["fields"][2], "COMPANY", "kept");

    let by_name = app
        .put(
            &format!("/api/3/forms/{id}"),
            json!({"form": {"tags": ["lead"]}}),
        )
        .await;
    assert_eq!(by_name.body["form"]["tags"], json!([tag]), "tags by name");

    let listed = app.get("/api/3/forms").await;
    assert_eq!(listed.body["meta"]["total"], "1");
    assert_eq!(
        app.delete(&format!("/api/3/forms/{id}")).await.body,
        json!({})
    );
    let gone = app.get(&format!("/api/3/forms/{id}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body["message"],
        format!("No Result found for Form with id {id}")
    );
}

async fn a_submission_subscribes_tags_and_identifies_the_visitor(app: TestApp) {
    enable(&app).await;
    let (id, list, tag) = newsletter_form(&app).await;
    let visited = hit(
        &app,
        page(&app, "visitor-form-01", "https://example.com/pricing"),
    )
    .await;
    assert_eq!(visited.status, 200, "{}", visited.text);

    let (status, location) = post_form(
        &app,
        &id,
        "email=Ada%40Example.com&firstName=Ada&COMPANY=Analytical&tl_vid=visitor-form-01&tl_hp=",
    )
    .await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(
        location.starts_with("https://example.com/thanks?from=form&tl_cid="),
        "{location}"
    );

    let found = app.get("/api/3/contacts?email=ada@example.com").await;
    assert_eq!(found.body["meta"]["total"], "1");
    let contact = found.body["contacts"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(found.body["contacts"][0]["firstName"], "Ada");
    let lists = app
        .get(&format!("/api/3/contacts/{contact}/contactLists"))
        .await;
    assert_eq!(lists.body["contactLists"][0]["list"], list);
    assert_eq!(lists.body["contactLists"][0]["status"], "1");
    let tags = app
        .get(&format!("/api/3/contacts/{contact}/contactTags"))
        .await;
    assert_eq!(tags.body["contactTags"][0]["tag"], tag);
    let values = app
        .get(&format!("/api/3/contacts/{contact}/fieldValues"))
        .await;
    assert_eq!(values.body["fieldValues"][0]["value"], "Analytical");

    let timeline = logs(&app, &format!("/api/3/contacts/{contact}/trackingLogs")).await;
    let types: Vec<&str> = timeline
        .iter()
        .map(|log| log["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"__pagevisit"),
        "the anonymous visit: {types:?}"
    );
    assert!(types.contains(&"__form_submit"), "{types:?}");
    let submitted = timeline
        .iter()
        .find(|log| log["type"] == "__form_submit")
        .unwrap();
    assert_eq!(submitted["value"], format!("form:{id}"));
    assert_eq!(submitted["kind"], "form_submit");

    // A second submission, as JSON, updates the same contact.
    let again = app
        .track(
            "POST",
            &format!("/f/{id}"),
            &[JSON],
            json!({"email": "ada@example.com", "firstName": "Augusta"}).to_string(),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body, json!({"submitted": true}));
    assert_eq!(contact_total(&app).await, "1");
    let shown = app.get(&format!("/api/3/contacts/{contact}")).await;
    assert_eq!(shown.body["contact"]["firstName"], "Augusta");
}

async fn json_answers_and_the_honeypot(app: TestApp) {
    let (id, _, _) = newsletter_form(&app).await;
    let asked = app
        .track(
            "POST",
            &format!("/f/{id}"),
            &[URLENCODED, ("accept", "application/json")],
            "email=grace%40example.com",
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    assert_eq!(asked.body, json!({"submitted": true}));
    assert_eq!(contact_total(&app).await, "1");

    let bot = "email=bot%40example.com&tl_hp=http%3A%2F%2Fspam.example";
    let (status, location) = post_form(&app, &id, bot).await;
    assert_eq!(status, 303, "a bot is told it worked");
    assert_eq!(
        location.as_deref(),
        Some("https://example.com/thanks?from=form")
    );
    let client = no_redirects();
    let preflight = client
        .request(reqwest::Method::OPTIONS, format!("{}/f/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let posted = client
        .post(format!("{}/f/{id}", app.address))
        .json(&json!({"email": "bot@example.com", "tl_hp": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.headers()["access-control-allow-origin"], "*");
    let as_json = app
        .track(
            "POST",
            &format!("/f/{id}"),
            &[JSON],
            json!({"email": "bot@example.com", "tl_hp": "x"}).to_string(),
        )
        .await;
    assert_eq!(as_json.body, json!({"submitted": true}));
    assert_eq!(contact_total(&app).await, "1", "the bot was not recorded");
    let events = logs(&app, "/api/3/trackingLogs").await;
    assert_eq!(events.len(), 1, "only grace's submission");
}

async fn bad_input_changes_nothing(app: TestApp) {
    let (id, _, _) = newsletter_form(&app).await;
    let bad_email = app
        .track(
            "POST",
            &format!("/f/{id}"),
            &[URLENCODED],
            "email=not-an-email",
        )
        .await;
    assert_eq!(bad_email.status, 422);
    assert!(bad_email.content_type.starts_with("text/html"));
    assert!(bad_email.text.contains("not a valid email address"));
    let escaped = app
        .track("POST", &format!("/f/{id}"), &[URLENCODED], "email=%3Cb%3E")
        .await;
    assert!(!escaped.text.contains("<b>"), "the reason is escaped");
    let bad_json = app
        .track(
            "POST",
            &format!("/f/{id}"),
            &[JSON],
            json!({"email": "nope"}).to_string(),
        )
        .await;
    assert_eq!(bad_json.status, 422);
    assert_eq!(bad_json.body["submitted"], false);
    assert!(bad_json.body["reason"]
        .as_str()
        .unwrap()
        .starts_with("email"));
    let malformed = app
        .track("POST", &format!("/f/{id}"), &[JSON], "{not json")
        .await;
    assert_eq!(malformed.status, 400);
    let nested = app
        .track(
            "POST",
            &format!("/f/{id}"),
            &[JSON],
            json!({"email": ["a@b.co"]}).to_string(),
        )
        .await;
    assert_eq!(nested.status, 422);
    let bad_visitor = app
        .track(
            "POST",
            &format!("/f/{id}"),
            &[URLENCODED],
            "email=ada%40example.com&tl_vid=%3Cscript%3E",
        )
        .await;
    assert_eq!(bad_visitor.status, 422);
    for unknown in ["999999", "abc"] {
        let missing = app
            .track(
                "POST",
                &format!("/f/{unknown}"),
                &[URLENCODED],
                "email=a%40b.co",
            )
            .await;
        assert_eq!(missing.status, 404, "{unknown}");
        assert!(missing.content_type.starts_with("text/html"));
    }
    // A value the store refuses (not a date) undoes the whole submission: no contact, no list.
    let field = json!({"field": {"title": "Birthday", "type": "date"}});
    created_id(&app, "/api/3/fields", field, "field").await;
    let dated = json!({"form": {"name": "Birthdays", "fields": ["BIRTHDAY"], "list": 1}});
    let dated = created_id(&app, "/api/3/forms", dated, "form").await;
    let not_a_date = app
        .track(
            "POST",
            &format!("/f/{dated}"),
            &[URLENCODED],
            "email=ada%40example.com&BIRTHDAY=someday",
        )
        .await;
    assert_eq!(not_a_date.status, 422, "{}", not_a_date.text);
    assert_eq!(contact_total(&app).await, "0");
    assert!(logs(&app, "/api/3/trackingLogs").await.is_empty());
    assert_eq!(
        app.delete(&format!("/api/3/forms/{dated}")).await.status,
        200
    );

    let refused = |answer: &Answer, pointer: &str| {
        assert_eq!(answer.status, 422, "{}", answer.text);
        assert_eq!(
            answer.body["errors"][0]["source"]["pointer"],
            format!("/data/attributes/{pointer}")
        );
    };
    let create = |form: Value| app.post("/api/3/forms", json!({ "form": form }));
    refused(
        &create(json!({"name": "X", "thankYouUrl": "javascript:alert(1)"})).await,
        "thankYouUrl",
    );
    refused(&create(json!({"name": " "})).await, "name");
    refused(
        &create(json!({"name": "X", "fields": ["two words"]})).await,
        "fields",
    );
    refused(
        &create(json!({"name": "X", "fields": ["NO_SUCH"]})).await,
        "fields",
    );
    refused(&create(json!({"name": "X", "tags": [-1]})).await, "tags");
    let no_tag = create(json!({"name": "X", "tags": ["no such tag"]})).await;
    assert_eq!(no_tag.status, 404);
    assert_eq!(no_tag.body["errors"][0]["detail"], "Tag not found");
    let no_list = create(json!({"name": "X", "list": 999999})).await;
    assert_eq!(no_list.status, 404);
    assert_eq!(no_list.body["errors"][0]["detail"], "List not found");
    let wrong_type = create(json!({"name": 5})).await;
    assert_eq!(wrong_type.status, 422);
    let not_json = app
        .send(
            "POST",
            "/api/3/forms",
            Some(&app.api_key),
            Some(b"{".to_vec()),
        )
        .await;
    assert_eq!(not_json.status, 400);
    let bad_update = app
        .put(
            &format!("/api/3/forms/{id}"),
            json!({"form": {"thankYouUrl": "ftp://example.com/"}}),
        )
        .await;
    refused(&bad_update, "thankYouUrl");
    assert_eq!(app.get("/api/3/forms").await.body["meta"]["total"], "1");
    let kept = app.get(&format!("/api/3/forms/{id}")).await;
    assert_eq!(
        kept.body["form"]["thankYouUrl"],
        "https://example.com/thanks?from=form"
    );
}

async fn another_accounts_forms_are_not_found(app: TestApp) {
    let (id, list, tag) = newsletter_form(&app).await;
    let key = app.other_account_key().await;
    let path = format!("/api/3/forms/{id}");
    for method in ["GET", "DELETE"] {
        let answer = app.send(method, &path, Some(&key), None).await;
        assert_eq!(answer.status, 404, "{method}");
    }
    let body = json!({"form": {"name": "Mine now"}})
        .to_string()
        .into_bytes();
    let put = app.send("PUT", &path, Some(&key), Some(body)).await;
    assert_eq!(put.status, 404);
    let embed = app
        .send("GET", &format!("{path}/embed"), Some(&key), None)
        .await;
    assert_eq!(embed.status, 404);
    let listed = app.send("GET", "/api/3/forms", Some(&key), None).await;
    assert_eq!(listed.body["meta"]["total"], "0");
    // Their form may not subscribe to our list nor add our tag.
    for form in [
        json!({"form": {"name": "Theirs", "list": list}}),
        json!({"form": {"name": "Theirs", "tags": [tag]}}),
    ] {
        let body = form.to_string().into_bytes();
        let created = app
            .send("POST", "/api/3/forms", Some(&key), Some(body))
            .await;
        assert_eq!(created.status, 404, "{}", created.text);
    }
    let listed = app.send("GET", "/api/3/forms", Some(&key), None).await;
    assert_eq!(listed.body["meta"]["total"], "0");
    assert_eq!(app.get(&path).await.body["form"]["name"], "Newsletter");
}

both_engines!(
    forms_round_trip,
    a_submission_subscribes_tags_and_identifies_the_visitor,
    json_answers_and_the_honeypot,
    bad_input_changes_nothing,
    another_accounts_forms_are_not_found,
);

/// The limit is kept in memory per node, whatever the engine: one engine is enough.
#[tokio::test]
async fn the_rate_limit_answers_429_per_client_address() {
    let settings = SettingsLayer {
        form_rate_per_minute: Some(3),
        trusted_proxies: Some(vec!["127.0.0.1/32".parse().unwrap()]),
        ..SettingsLayer::default()
    };
    let app = TestApp::spawn_with(Engine::Sqlite, settings).await;
    let (id, _, _) = newsletter_form(&app).await;
    let submit = |client: &'static str, n: usize| {
        let body = format!("email=person{n}%40example.com");
        let path = format!("/f/{id}");
        let app = &app;
        async move {
            app.track(
                "POST",
                &path,
                &[
                    URLENCODED,
                    ("accept", "application/json"),
                    ("x-forwarded-for", client),
                ],
                body,
            )
            .await
        }
    };
    for n in 0..3 {
        assert_eq!(submit("198.51.100.1", n).await.status, 200);
    }
    let limited = submit("198.51.100.1", 3).await;
    assert_eq!(limited.status, 429);
    let wait: u64 = limited.retry_after.unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    assert_eq!(limited.body["submitted"], false);
    assert_eq!(
        submit("198.51.100.2", 4).await.status,
        200,
        "another client has its own allowance"
    );
    assert_eq!(contact_total(&app).await, "4");
}
