//! Personalization of a sent message from what the contact did.

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

use crate::mail::read;
use crate::sending::{outbox, subscribe};

async fn structured_event_data_is_personalized_by_property_and_the_pixel_ends_the_body(
    app: TestApp,
) {
    let ada = crate::events::enable(&app).await;
    let track = json!({"event": "signup", "userId": "ada@example.com",
        "properties": {"plan": "pro", "email": "ada@example.com"}});
    let key = app.event_key.clone();
    let tracked = crate::events::segment(&app, "/v1/track", &key, track).await;
    assert_eq!(tracked.status, 200, "{}", tracked.text);
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    subscribe(&app, &list, &ada, 1).await;
    let html = "<html><body><p>[%EVENT: signup|none%]</p><p>%EVENT: signup.plan%</p></body></html>";
    let message = json!({"subject": "Hi", "fromemail": "news@example.com", "html": html});
    let campaign = app.draft_campaign(&list, message).await;
    app.send_campaign(&campaign).await;
    let mail = read(&outbox(&app, 1).await[0]);
    assert!(
        mail.html.contains("<p>[none]</p><p>pro</p>"),
        "{}",
        mail.html
    );
    assert!(
        !mail.html.contains("ada@example.com") && !mail.html.contains("&quot;plan"),
        "the event's data is never printed whole: {}",
        mail.html
    );
    let pixel = mail.html.find("/o/").expect("the open pixel");
    let body_end = mail.html.find("</body>").expect("the body's end");
    assert!(
        pixel < body_end,
        "the pixel is inside the body: {}",
        mail.html
    );
}

both_engines!(structured_event_data_is_personalized_by_property_and_the_pixel_ends_the_body);
