//! The store on a fresh SQLite file: migrations, bootstrap, and the contact round trip.

use tracklane_core::contact::ContactInput;
use tracklane_core::time::Timestamp;
use tracklane_store::contacts::ContactQuery;
use tracklane_store::keys::KeyKind;
mod common;

use common::fresh_store;

#[tokio::test]
async fn bootstraps_once_and_round_trips_a_contact() {
    let fresh = fresh_store().await;
    let store = &fresh.store;
    let now = Timestamp(1_700_000_000_000_000);
    let account = store
        .bootstrap(now)
        .await
        .unwrap()
        .expect("first start creates an account");
    assert!(store.bootstrap(now).await.unwrap().is_none());
    assert_eq!(
        store
            .open_key(KeyKind::Api, &account.api_key, now)
            .await
            .unwrap()
            .map(|opened| (opened.account, opened.manages_keys)),
        Some((account.id, true))
    );
    assert_eq!(
        store
            .open_key(KeyKind::Event, &account.api_key, now)
            .await
            .unwrap(),
        None
    );

    let draft = ContactInput {
        email: Some("Ada@Example.com".into()),
        first_name: Some("Ada".into()),
        ..ContactInput::default()
    }
    .into_draft()
    .unwrap();
    let (created, _) = store
        .create_contact(account.id, draft.clone(), now)
        .await
        .unwrap();
    assert_eq!(created.email, "ada@example.com");
    assert!(store
        .create_contact(account.id, draft.clone(), now)
        .await
        .is_err());
    let (synced, _, was_created) = store.sync_contact(account.id, draft, now).await.unwrap();
    assert!(!was_created);
    assert_eq!(synced.id, created.id);

    let query = ContactQuery {
        search: Some("ADA".into()),
        ..ContactQuery::default()
    };
    let page = store
        .contacts(account.id, &query, Default::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].first_name, "Ada");
}

#[tokio::test]
async fn records_events_in_groups_and_identifies_visitors() {
    use tracklane_core::event::{EventKind, NewEvent, PAGE_VISIT_NAME};
    use tracklane_core::visit::PageUrl;
    use tracklane_store::events::EventQuery;

    let fresh = fresh_store().await;
    let store = &fresh.store;
    let start = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(start).await.unwrap().unwrap().id;
    let draft = ContactInput {
        email: Some("ada@example.com".into()),
        ..ContactInput::default()
    }
    .into_draft()
    .unwrap();
    let (ada, _) = store.create_contact(account, draft, start).await.unwrap();
    let page = |path: &str, minutes: i64, contact, message: Option<&str>| NewEvent {
        account,
        kind: EventKind::PageVisit,
        name: PAGE_VISIT_NAME.to_owned(),
        visitor: Some("visitor-0001".to_owned()),
        contact,
        page: Some(PageUrl::parse("url", &format!("https://example.com{path}")).unwrap()),
        site: Some("example.com".to_owned()),
        referrer: None,
        title: None,
        device: None,
        data: None,
        message_id: message.map(str::to_owned),
        link: None,
        source: None,
        occurred_at: Timestamp(start.0 + minutes * 60_000_000),
    };
    store
        .record_events(
            &[
                page("/a", 0, None, Some("m1")),
                page("/b", 10, None, Some("m1")),
                page("/c", 50, None, None),
            ],
            start,
        )
        .await
        .unwrap();
    let all = store
        .events(account, EventQuery::default(), Default::default())
        .await
        .unwrap();
    assert_eq!(all.total, 2, "the repeated message id is recorded once");
    assert!(all.items.iter().all(|e| e.contact.is_none()));
    assert!(
        all.items[0].starts_visit,
        "50 minutes later is a new site visit"
    );

    store
        .record_events(&[page("/d", 55, Some(ada.id), Some("m1"))], start)
        .await
        .unwrap();
    assert_eq!(
        store
            .visitor_contact(account, "visitor-0001")
            .await
            .unwrap(),
        Some(ada.id)
    );
    let ada_events = EventQuery {
        contact: Some(ada.id),
        ..EventQuery::default()
    };
    let timeline = store
        .events(account, ada_events, Default::default())
        .await
        .unwrap();
    assert_eq!(
        timeline.total, 2,
        "earlier anonymous visits now belong to the contact; m1 stays one"
    );

    let anonymous = NewEvent {
        visitor: Some("visitor-0002".to_owned()),
        ..page("/x", 0, None, None)
    };
    store.record_events(&[anonymous], start).await.unwrap();
    let gone = store
        .expire_anonymous(Timestamp(start.0 + 1))
        .await
        .unwrap();
    assert_eq!(gone, 1);
    assert_eq!(
        store
            .events(account, EventQuery::default(), Default::default())
            .await
            .unwrap()
            .total,
        2
    );
}

#[tokio::test]
async fn sends_resume_after_a_stop_without_sending_twice() {
    use tracklane_core::ids::ContactId;
    use tracklane_core::list::{ListInput, ListStatus};
    use tracklane_core::message::{CampaignInput, CampaignStatus, MessageInput};
    use tracklane_store::sends::{Interrupted, SendOutcome, SendStatus, Settled};

    let fresh = fresh_store().await;
    let store = &fresh.store;
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    let list = ListInput {
        name: Some("News".into()),
        ..ListInput::default()
    };
    let list = store
        .create_list(account, list.into_draft().unwrap(), now)
        .await
        .unwrap();
    let mut contacts = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let draft = ContactInput {
            email: Some(email.into()),
            ..ContactInput::default()
        };
        let (contact, _) = store
            .create_contact(account, draft.into_draft().unwrap(), now)
            .await
            .unwrap();
        store
            .set_list_status(
                account,
                contact.id,
                list.id,
                ListStatus::Active,
                0,
                None,
                now,
            )
            .await
            .unwrap();
        contacts.push(contact.id);
    }
    let message = MessageInput {
        subject: Some("Hi".into()),
        from_email: Some("news@example.com".into()),
        text: Some("Hi".into()),
        ..MessageInput::default()
    };
    let message = store
        .create_message(account, message.into_draft().unwrap(), now)
        .await
        .unwrap();
    let campaign = CampaignInput {
        name: Some("Launch".into()),
        message: Some(message.id.0),
        list: Some(list.id.0),
        segment: None,
        track_links: None,
    };
    let campaign = store
        .create_campaign(account, campaign.into_draft().unwrap(), now)
        .await
        .unwrap();
    assert_eq!(
        store
            .start_campaign(account, campaign.id, &[], now)
            .await
            .unwrap(),
        3
    );
    assert!(store
        .start_campaign(account, campaign.id, &[], now)
        .await
        .is_err());

    let first = store.claim_sends(1, now).await.unwrap();
    assert_eq!(first.len(), 1);
    // The node stops while handing `first` over: on start, with nothing known of its message
    // (over SMTP), it is settled as uncertain, never sent again.
    assert_eq!(store.interrupted_sends().await.unwrap(), vec![first[0].id]);
    let settled = store
        .settle_interrupted_sends(&Interrupted::default(), now)
        .await
        .unwrap();
    assert_eq!(
        settled,
        Settled {
            uncertain: 1,
            ..Settled::default()
        }
    );
    assert_eq!(
        store
            .count_sends(campaign.id, SendStatus::Uncertain)
            .await
            .unwrap(),
        1
    );

    let rest = store.claim_sends(10, now).await.unwrap();
    assert_eq!(rest.len(), 2, "the uncertain send is not claimed again");
    assert!(rest.iter().all(|send| send.contact != first[0].contact));
    let later = Timestamp(now.0 + 60_000_000);
    let finished = [
        (
            rest[0].clone(),
            SendOutcome::Deferred {
                at: later,
                error: "450 4.2.1 mailbox busy".into(),
            },
        ),
        (
            rest[1].clone(),
            SendOutcome::Bounced {
                error: "550".into(),
            },
        ),
    ];
    store.finish_sends(&finished, now).await.unwrap();
    let bounced = tracklane_store::events::EventQuery {
        contact: Some(rest[1].contact),
        after: None,
    };
    let timeline = store
        .events(account, bounced, Default::default())
        .await
        .unwrap();
    assert_eq!(timeline.total, 1, "the bounce is on the timeline");
    assert_eq!(timeline.items[0].name, "__bounce");
    let data = timeline.items[0].data.clone().unwrap_or_default();
    assert!(
        data.starts_with(&format!("campaign:{} 550", campaign.id)),
        "{data}"
    );
    assert!(
        store.claim_sends(10, now).await.unwrap().is_empty(),
        "the retry waits"
    );
    assert_eq!(store.complete_campaigns(now).await.unwrap(), 0);
    let retried = store.claim_sends(10, later).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 2);
    store
        .finish_sends(&[(retried[0].clone(), SendOutcome::Sent)], later)
        .await
        .unwrap();
    assert_eq!(store.complete_campaigns(later).await.unwrap(), 1);
    let done = store.existing_campaign(account, campaign.id).await.unwrap();
    assert_eq!(done.status, CampaignStatus::Completed);

    let bounced: ContactId = rest[1].contact;
    let memberships = store.contact_lists(account, bounced).await.unwrap();
    assert_eq!(memberships[0].status, ListStatus::Bounced);
}
