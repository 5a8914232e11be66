//! When delivery fails: a mail server refusing every message pauses the campaign and bounces
//! nobody, a refusal of one recipient bounces exactly that one, and the sends a stop left
//! half-done are settled from the outbox at start.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracklane_core::ids::{CampaignId, ContactId};
use tracklane_core::list::ListStatus;
use tracklane_e2e::{both_engines, ScriptedSmtp, TestApp};
use tracklane_server::config::SettingsLayer;
use tracklane_server::state::Clock;
use tracklane_store::events::EventQuery;
use tracklane_store::sends::{SendStatus, Settled};

use crate::sending::{contact, outbox, subscribe};

/// A campaign to a list, not sent yet.
struct Draft {
    campaign: String,
    list: String,
    /// The recipients' contact ids, in the order of their addresses.
    contacts: Vec<String>,
}

/// A draft campaign from `news@example.com` to a list of `addresses`, all subscribed.
async fn draft(app: &TestApp, addresses: &[&str]) -> Draft {
    let list = app
        .create("/api/3/lists", json!({"list": {"name": "News"}}))
        .await;
    let mut contacts = Vec::new();
    for address in addresses {
        let id = contact(app, address, "").await;
        subscribe(app, &list, &id, 1).await;
        contacts.push(id);
    }
    let message = json!({"subject": "Hello", "fromemail": "news@example.com",
        "html": "<p>Hello</p>", "text": "Hello"});
    let campaign = app.draft_campaign(&list, message).await;
    Draft {
        campaign,
        list,
        contacts,
    }
}

/// A server whose settings send over `smtp`, on the engine `app` ran on.
pub(crate) async fn over(app: TestApp, smtp: &ScriptedSmtp) -> TestApp {
    let engine = app.engine;
    drop(app);
    let settings = SettingsLayer {
        smtp_url: Some(smtp.smtp_url()),
        ..SettingsLayer::default()
    };
    TestApp::spawn_with(engine, settings).await
}

/// The campaign as `GET /api/3/campaigns/{id}` shows it once its status is `status` (waiting
/// up to 20 s for the sender).
pub(crate) async fn campaign_in_status(app: &TestApp, campaign: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let shown = app.get(&format!("/api/3/campaigns/{campaign}")).await;
        let shown = shown.body["campaign"].clone();
        if shown["status"] == status {
            return shown;
        }
        assert!(
            Instant::now() < deadline,
            "the campaign never reached status {status}: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `contact`'s status on `list` and whether its timeline holds a `__bounce`.
pub(crate) async fn bounced(app: &TestApp, list: &str, contact: &str) -> (ListStatus, bool) {
    let contact = ContactId(contact.parse().unwrap());
    let lists = app.store.contact_lists(app.account, contact).await.unwrap();
    let membership = lists
        .iter()
        .find(|membership| membership.list.0.to_string() == list)
        .expect("the contact is on the list");
    let query = EventQuery {
        contact: Some(contact),
        after: None,
    };
    let timeline = app
        .store
        .events(app.account, query, Default::default())
        .await
        .unwrap();
    let bounce = timeline.items.iter().any(|event| event.name == "__bounce");
    (membership.status, bounce)
}

const SIX: [&str; 6] = [
    "ada@example.com",
    "bob@example.com",
    "carol@example.com",
    "dan@example.com",
    "eve@example.com",
    "fay@example.com",
];

async fn a_server_refusing_every_message_pauses_the_campaign_and_bounces_nobody(app: TestApp) {
    let smtp = ScriptedSmtp::start().await;
    let refusal = "500 syntax error, command unrecognized";
    smtp.answer_every_message(Some(refusal));
    let app = over(app, &smtp).await;
    let draft = draft(&app, &SIX).await;
    let send = format!("/api/3/campaigns/{}/send", draft.campaign);
    assert_eq!(app.post(&send, json!({})).await.status, 200);

    let paused = campaign_in_status(&app, &draft.campaign, "3").await;
    assert_eq!(paused["lastError"], refusal, "{paused}");
    let reason = paused["pausedReason"].as_str().unwrap_or_default();
    assert!(reason.contains(refusal), "{reason}");
    assert_eq!(paused["hardbounces"], "0");
    for contact in &draft.contacts {
        assert_eq!(
            bounced(&app, &draft.list, contact).await,
            (ListStatus::Active, false),
            "contact {contact} is not bounced for the server's failure"
        );
    }

    // Paused, its sends stay queued and are not claimed, even once due again.
    let offered = smtp.offered();
    app.clock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(app.sender.run_once().await.unwrap(), 0);
    assert_eq!(smtp.offered(), offered, "nothing is offered while paused");
    let campaign = CampaignId(draft.campaign.parse().unwrap());
    let queued = app.store.count_sends(campaign, SendStatus::Queued).await;
    assert_eq!(queued.unwrap(), 6);

    // The cause fixed, resuming sends everyone the message once.
    smtp.answer_every_message(None);
    let resume = format!("/api/3/campaigns/{}/resume", draft.campaign);
    let resumed = app.post(&resume, json!({})).await;
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    assert_eq!(resumed.body["campaign"]["pausedReason"], Value::Null);
    let completed = campaign_in_status(&app, &draft.campaign, "5").await;
    assert_eq!(completed["send_amt"], "6");
    assert_eq!(smtp.accepted().len(), 6);
    assert_eq!(app.post(&resume, json!({})).await.status, 422, "not paused");
    assert_eq!(
        app.post("/api/3/campaigns/999999/resume", json!({}))
            .await
            .status,
        404
    );
}

async fn a_refusal_of_one_recipient_bounces_only_that_one(app: TestApp) {
    let smtp = ScriptedSmtp::start().await;
    smtp.refuse_recipient(
        "bob@example.com",
        "550 5.1.1 <bob@example.com>: no such user",
    );
    let app = over(app, &smtp).await;
    let draft = draft(&app, &SIX[..3]).await;
    let send = format!("/api/3/campaigns/{}/send", draft.campaign);
    assert_eq!(app.post(&send, json!({})).await.status, 200);

    let completed = campaign_in_status(&app, &draft.campaign, "5").await;
    assert_eq!(completed["hardbounces"], "1", "{completed}");
    assert_eq!(completed["pausedReason"], Value::Null);
    assert_eq!(smtp.accepted().len(), 2);
    let expected = [
        (ListStatus::Active, false),
        (ListStatus::Bounced, true),
        (ListStatus::Active, false),
    ];
    for (contact, expected) in draft.contacts.iter().zip(expected) {
        assert_eq!(
            bounced(&app, &draft.list, contact).await,
            expected,
            "{contact}"
        );
    }
}

/// The send a raw message names in its `Message-ID` (`<tl.{send}.{random}@{domain}>`).
fn send_named_by(raw: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(raw);
    text.lines()
        .find_map(|line| line.strip_prefix("Message-ID: <tl."))
        .and_then(|rest| rest.split_once('.'))
        .and_then(|(send, _)| send.parse().ok())
        .unwrap_or_else(|| panic!("no send in the Message-ID of {text}"))
}

async fn a_stop_in_the_middle_of_a_round_is_settled_from_the_outbox(app: TestApp) {
    let draft = draft(&app, &SIX[..3]).await;
    let campaign = CampaignId(draft.campaign.parse().unwrap());
    // Started by hand and due later, so that the running sender leaves the sends alone until
    // the test claims them, as a node that was then killed did.
    let later = tracklane_core::time::Timestamp(app.clock.now().0 + 3_600_000_000);
    let queued = app
        .store
        .start_campaign(app.account, campaign, &[], later)
        .await;
    assert_eq!(queued.unwrap(), 3);
    let claimed = app.store.claim_sends(10, later).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let (whole, half, missing) = (claimed[0].id, claimed[1].id, claimed[2].id);

    let outbox_dir = app.data_dir().join("outbox");
    let partial = outbox_dir.join(".partial");
    let mail = |send: i64| {
        format!("Message-ID: <tl.{send}.0ff1ce@example.com>\r\nTo: x@example.com\r\n\r\nHello\r\n")
    };
    std::fs::write(outbox_dir.join("delivered.eml"), mail(whole)).unwrap();
    std::fs::write(partial.join("half.eml"), &mail(half)[..60]).unwrap();
    std::fs::write(partial.join("stray.eml"), "Subject: from an older stop\r\n").unwrap();
    // Left by the stopped node: written before this one's mailer was made.
    for name in ["half.eml", "stray.eml"] {
        let before = std::time::SystemTime::now() - Duration::from_secs(3600);
        let file = std::fs::File::options()
            .write(true)
            .open(partial.join(name));
        file.unwrap().set_modified(before).unwrap();
    }

    let settled = app.sender.settle_interrupted().await.unwrap();
    assert_eq!(
        settled,
        Settled {
            sent: 1,
            queued: 2,
            uncertain: 0
        }
    );
    assert_eq!(
        std::fs::read_dir(&partial).unwrap().count(),
        0,
        ".partial is emptied"
    );

    // The two queued again are delivered now, and the whole one is not delivered twice.
    campaign_in_status(&app, &draft.campaign, "5").await;
    let mut sends: Vec<i64> = outbox(&app, 3)
        .await
        .iter()
        .map(|raw| send_named_by(raw))
        .collect();
    sends.sort();
    let mut expected = vec![whole, half, missing];
    expected.sort();
    assert_eq!(
        sends, expected,
        "one message per send, the whole one not twice"
    );
    assert_eq!(
        app.store
            .count_sends(campaign, SendStatus::Sent)
            .await
            .unwrap(),
        3
    );
}

both_engines!(
    a_server_refusing_every_message_pauses_the_campaign_and_bounces_nobody,
    a_refusal_of_one_recipient_bounces_only_that_one,
    a_stop_in_the_middle_of_a_round_is_settled_from_the_outbox,
);
