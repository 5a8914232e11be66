//! Date triggers: a contact enters on its date field's anniversary (shifted by the offset) at
//! the trigger's time of day, once per anniversary however often the firing is tried; an
//! edited birthday is found on its new day, and a firing missed while no node ran is made
//! late, within a week.

use std::time::Duration;

use chrono::{Datelike, NaiveDate, NaiveTime};
use serde_json::{json, Value};
use tracklane_core::automation::dates::first_firing;
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::state::Clock;

const DAY: Duration = Duration::from_secs(86_400);

/// A date field named Birthday (`%BIRTHDAY%`); answers its id.
async fn birthday_field(app: &TestApp) -> String {
    app.create(
        "/api/3/fields",
        json!({"field": {"title": "Birthday", "type": "date"}}),
    )
    .await
}

async fn set_birthday(app: &TestApp, contact: &str, field: &str, day: NaiveDate) {
    let answer = app
        .post(
            "/api/3/fieldValues",
            json!({"fieldValue": {"contact": contact, "field": field,
                "value": day.format("%Y-%m-%d").to_string()}}),
        )
        .await;
    assert!(answer.status < 300, "{}", answer.text);
}

/// The automation's report.
async fn report(app: &TestApp, automation: &str) -> Value {
    let answer = app
        .get(&format!("/api/3/automations/{automation}/report"))
        .await;
    answer.body["report"].clone()
}

/// `day` in 1990 (a year without February 29th is not needed here).
fn in_1990(day: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(1990, day.month(), day.day()).unwrap()
}

async fn a_birthday_enters_on_its_day_at_its_time_once(app: TestApp) {
    let field = birthday_field(&app).await;
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    let body = json!({"automation": {"name": "Birthdays", "status": "1", "definition": {
        "entry": "multiple",
        "triggers": [{"dateField": {"field": "BIRTHDAY", "time": "09:00"}},
            {"dateField": {"field": "BIRTHDAY", "time": "09:00", "offsetDays": -7}}],
        "steps": [{"id": "wish", "wait": {"hours": 1}}]
    }}});
    let flow = app.create("/api/3/automations", body).await;
    let first = first_firing(nine, app.clock.now());
    let first_day = first.to_datetime().unwrap().date_naive();
    let ann = app.new_contact("ann@example.com").await;
    let bob = app.new_contact("bob@example.com").await;
    let cy = app.new_contact("cy@example.com").await;
    set_birthday(&app, &ann, &field, in_1990(first_day)).await;
    set_birthday(&app, &bob, &field, in_1990(first_day.succ_opt().unwrap())).await;
    // Cy's birthday is a week after the first firing: the reminder (-7 days) enters him then.
    set_birthday(&app, &cy, &field, in_1990(first_day + chrono::Days::new(7))).await;

    // A second before nine, nobody; at nine, Ann (her birthday) and Cy (a week before his).
    let until = Duration::from_micros((first.0 - app.clock.now().0).unsigned_abs());
    app.clock.advance(until - Duration::from_secs(1));
    app.settle_automations().await;
    assert_eq!(report(&app, &flow).await["entered"], "0");
    app.clock.advance(Duration::from_secs(1));
    app.settle_automations().await;
    let runs = app.get("/api/3/contactAutomations").await;
    let mut entered: Vec<&str> = runs.body["contactAutomations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["contact"].as_str().unwrap())
        .collect();
    entered.sort_unstable();
    let mut expected = vec![ann.as_str(), cy.as_str()];
    expected.sort_unstable();
    assert_eq!(entered, expected);
    // Passes later that day enter nobody again.
    app.clock.advance(Duration::from_secs(7_200));
    app.settle_automations().await;
    assert_eq!(report(&app, &flow).await["entered"], "2");

    // Bob's birthday is edited to the day after tomorrow, before tomorrow's firing: he enters
    // on his new day only.
    set_birthday(
        &app,
        &bob,
        &field,
        in_1990(first_day + chrono::Days::new(2)),
    )
    .await;
    app.clock.advance(DAY - Duration::from_secs(7_200));
    app.settle_automations().await;
    assert_eq!(report(&app, &flow).await["entered"], "2");
    app.clock.advance(DAY);
    app.settle_automations().await;
    assert_eq!(
        report(&app, &flow).await["entered"],
        "3",
        "Bob on his new day"
    );

    // No node runs for six days, over Cy's birthday: the missed firings are made late.
    app.clock.advance(6 * DAY);
    app.settle_automations().await;
    assert_eq!(
        report(&app, &flow).await["entered"],
        "4",
        "Cy's birthday, late"
    );
    let cy_runs = app
        .get(&format!("/api/3/contacts/{cy}/contactAutomations"))
        .await;
    assert_eq!(
        cy_runs.body["contactAutomations"].as_array().unwrap().len(),
        2
    );
}

both_engines!(a_birthday_enters_on_its_day_at_its_time_once);
