//! Link tokens are the server's own, yet each one is checked against the database: a token
//! that pairs one account's campaign with another account's contact names no recipient.

use std::time::Duration;

use serde_json::json;
use tracklane_core::cid::{LinkSubject, OPEN_PIXEL, UNSUBSCRIBE};
use tracklane_core::ids::ContactId;
use tracklane_e2e::{both_engines, TestApp};

use crate::mail::{one_click_unsubscribe, tracked_url};
use crate::scanner::{follow, send_two_links, stats_of, SHOES};

/// The URL `{address}/{kind}/{token}` of a token sealed, with the installation's key, for
/// `link` with another contact and target.
async fn sealed_url(
    app: &TestApp,
    kind: &str,
    link: LinkSubject,
    contact: ContactId,
    target: i64,
) -> String {
    let token = app
        .token_key()
        .seal_link(LinkSubject {
            contact,
            target,
            ..link
        })
        .unwrap();
    format!("{}/{kind}/{token}", app.address)
}

async fn a_token_for_another_accounts_contact_counts_nowhere(app: TestApp) {
    let campaign = send_two_links(&app).await;
    let other_key = app.other_account_key().await;
    let theirs = app
        .create_as(
            &other_key,
            "/api/3/contacts",
            json!({"contact": {"email": "eve@example.com"}}),
        )
        .await;
    let theirs = ContactId(theirs.parse().unwrap());
    app.clock.advance(Duration::from_secs(120));

    let genuine = tracked_url(&app, &campaign.html, "l");
    let (_, token) = genuine.rsplit_once('/').unwrap();
    let link = app.token_key().open_link(token).unwrap();
    let click = sealed_url(&app, "l", link, theirs, link.target).await;
    assert_eq!(follow(&click).await, 404, "treated as a forged token");
    let pixel = sealed_url(&app, "o", link, theirs, OPEN_PIXEL).await;
    assert_eq!(follow(&pixel).await, 200, "the pixel is always answered");
    let unsubscribe = sealed_url(&app, "u", link, theirs, UNSUBSCRIBE).await;
    assert_eq!(follow(&unsubscribe).await, 404);
    assert_eq!(one_click_unsubscribe(&unsubscribe).await, 404);

    assert_eq!(stats_of(&app, &campaign.id, SHOES).await, (0, 0, 0));
    let shown = app.get(&format!("/api/3/campaigns/{}", campaign.id)).await;
    for counter in ["linkclicks", "opens", "unsubscribes", "machineHits"] {
        assert_eq!(shown.body["campaign"][counter], "0", "{counter}");
    }
    let path = format!("/api/3/contacts/{}/contactTags", theirs.0);
    let tags = app.send("GET", &path, Some(&other_key), None).await;
    assert_eq!(tags.body["contactTags"], json!([]), "no link action ran");
    let logs = format!("/api/3/contacts/{}/trackingLogs", theirs.0);
    let timeline = app.send("GET", &logs, Some(&other_key), None).await;
    assert_eq!(timeline.body["trackingLogs"], json!([]));

    assert_eq!(
        follow(&genuine).await,
        302,
        "the recipient's own token works"
    );
    assert_eq!(stats_of(&app, &campaign.id, SHOES).await, (1, 1, 0));
}

both_engines!(a_token_for_another_accounts_contact_counts_nowhere);
