//! Saved segments kept live by the membership worker, on both engines: they agree with a
//! recompute from scratch after random changes (with the random world of `segment_world`),
//! each kind of timeline row moves the segments that read it, and windows' wake-ups are found
//! when a segment is saved and kept across other changes.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tracklane_core::event::{EventKind, EventSource, NewEvent, PAGE_VISIT_NAME};
use tracklane_core::ids::{ContactId, SegmentId};
use tracklane_core::list::ListStatus;
use tracklane_core::page::Page;
use tracklane_core::segment::saved::SegmentDraft;
use tracklane_core::segment::Definition;
use tracklane_core::time::Timestamp;
use tracklane_core::visit::PageUrl;
use tracklane_core::webhook::event::WebhookSource;
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::state::Clock;
use tracklane_store::contacts::ContactQuery;

use crate::segment_world::{condition, ids, random_contact, record_activity, world, Rng};

/// Saved segments kept live agree with a recompute from scratch: random definitions are saved,
/// then contacts change at random (tags, list statuses, page views, events, email activity and
/// form submissions of new and existing contacts, some of them dated ahead, deletions) while
/// the clock moves on by hours or days; after each step the stored members of every segment
/// equal the set evaluator's answer at that instant.
async fn live_members_agree_with_a_recompute_after_random_changes(app: TestApp) {
    let mut rng = Rng(0x11fe_d00d_5eed_4321);
    let world = world(&app).await;
    let mut contacts = Vec::new();
    for index in 0..8 {
        contacts.push(random_contact(&app, &world, &mut rng, index).await);
    }
    let mut segments = Vec::new();
    for index in 0..12 {
        let definition = Definition::new(condition(&mut rng, &world, 3)).unwrap();
        let draft = SegmentDraft {
            name: format!("Random {index}"),
            definition,
        };
        let saved = app
            .store
            .create_segment(app.account, draft, app.clock.now())
            .await
            .unwrap();
        segments.push(saved);
    }
    let all = Page {
        limit: 1000,
        offset: 0,
    };
    let mut telling = 0;
    for step in 0..8 {
        for _ in 0..3 {
            let index = rng.below(contacts.len() as u64) as usize;
            let contact = contacts[index];
            let now = app.clock.now();
            match rng.below(5) {
                0 => {
                    let tag = rng.pick(&world.tags);
                    let _ = app
                        .store
                        .add_contact_tag(app.account, contact, tag, WebhookSource::Api, now)
                        .await;
                }
                1 => {
                    let status = ListStatus::from_code(rng.below(4) as i64);
                    let list = rng.pick(&world.lists);
                    let _ = app
                        .store
                        .set_list_status(app.account, contact, list, status, 0, None, now)
                        .await;
                }
                2 if step == 5 => {
                    let _ = app.store.delete_contact(app.account, contact).await;
                }
                // A gone contact's activity is refused.
                3 => {
                    let _ = record_activity(&app, &world, &mut rng, contact, index).await;
                }
                _ => {
                    let index = contacts.len() + step * 10;
                    contacts.push(random_contact(&app, &world, &mut rng, index).await);
                }
            }
        }
        app.clock
            .advance(std::time::Duration::from_secs(rng.below(3 * 86_400)));
        app.settle_segments().await;
        let now = app.clock.now();
        for segment in &segments {
            let only_members = ContactQuery {
                segment: Some(segment.id),
                ..ContactQuery::default()
            };
            let stored = ids(app
                .store
                .contacts(app.account, &only_members, all)
                .await
                .unwrap());
            let recomputed = ids(app
                .store
                .segment_members(app.account, &segment.definition, now, all)
                .await
                .unwrap());
            assert_eq!(
                stored,
                recomputed,
                "step {step}: live members differ from a recompute of {}",
                serde_json::to_string(&segment.definition).unwrap()
            );
            let counted = app
                .store
                .existing_segment(app.account, segment.id)
                .await
                .unwrap()
                .member_count;
            assert_eq!(
                counted,
                i64::try_from(stored.len()).unwrap(),
                "step {step}: the stored count is not the members'"
            );
            if !stored.is_empty() && stored.len() < contacts.len() {
                telling += 1;
            }
        }
    }
    assert!(
        telling > 24,
        "only {telling} of 96 answers split the contacts: the test proves little"
    );
}

/// Each kind of timeline row re-evaluates the segments that read it, and only through its own
/// kind of change: segments without windows (which no wake-up re-evaluates) gain an existing
/// contact when it records a page view, a custom event, an open or a form submission.
async fn each_kind_of_activity_moves_the_segments_that_read_it(app: TestApp) {
    let world = world(&app).await;
    let now = app.clock.now();
    let campaign = world.campaigns[0];
    let form = world.forms[0];
    let kinds = [
        (
            json!({"visited": {"url": {"contains": "/pricing"}}}),
            EventKind::PageVisit,
        ),
        (json!({"event": {"name": "signup"}}), EventKind::Custom),
        (json!({"opened": {"campaign": campaign.0}}), EventKind::Open),
        (
            json!({"submittedForm": {"form": form.0}}),
            EventKind::FormSubmit,
        ),
    ];
    let mut contacts = Vec::new();
    let mut segments = Vec::new();
    for (index, (definition, _)) in kinds.iter().enumerate() {
        contacts.push(new_contact(&app, &format!("kind{index}@example.com")).await);
        segments.push(save_segment(&app, &format!("Kind {index}"), definition.clone()).await);
    }
    for ((contact, segment), (_, kind)) in contacts.iter().zip(&segments).zip(&kinds) {
        assert_eq!(settled_segments(&app, *contact).await, [].into());
        let mut row = NewEvent::of_contact(app.account, *kind, "signup", *contact, None, now);
        match kind {
            EventKind::PageVisit => {
                row.name = PAGE_VISIT_NAME.to_owned();
                row.page = PageUrl::parse("url", "https://a.a/pricing").ok();
            }
            EventKind::Open => row.source = Some(EventSource::Campaign(campaign)),
            EventKind::FormSubmit => row.source = Some(EventSource::Form(form)),
            _ => {}
        }
        app.store.record_events(&[row], now).await.unwrap();
        assert_eq!(
            settled_segments(&app, *contact).await,
            [*segment].into(),
            "a {kind:?} row moves only its segment"
        );
    }
}

/// A change that no window reads keeps the contact's pending wake-up: a contact inside "an
/// event in the last hour" gets a tag (whose check evaluates only the tag's segment), and still
/// leaves the window segment when the hour is over.
async fn a_change_elsewhere_keeps_a_windows_wake_up(app: TestApp) {
    let world = world(&app).await;
    let tag = world.tags[0];
    let contact = new_contact(&app, "wake@example.com").await;
    let pinged = save_segment(&app, "Pinged", ping_in_the_last_hour()).await;
    let tagged = save_segment(&app, "Tagged", json!({"hasTag": tag.0})).await;
    let now = app.clock.now();
    let ping = NewEvent::of_contact(app.account, EventKind::Custom, "ping", contact, None, now);
    app.store.record_events(&[ping], now).await.unwrap();
    assert_eq!(settled_segments(&app, contact).await, [pinged].into());
    app.store
        .add_contact_tag(
            app.account,
            contact,
            tag,
            WebhookSource::Api,
            app.clock.now(),
        )
        .await
        .unwrap();
    assert_eq!(
        settled_segments(&app, contact).await,
        [pinged, tagged].into()
    );
    app.clock.advance(std::time::Duration::from_secs(2 * 3_600));
    assert_eq!(
        settled_segments(&app, contact).await,
        [tagged].into(),
        "the hour is over"
    );
}

/// Saving a segment that reads time finds the wake-ups of contacts already inside its windows:
/// a contact whose event came ten minutes before the segment was saved leaves "an event in the
/// last hour" when the hour is over, and one saved later leaves "created in the last day" when
/// the day is over. One segment at a time: computing a date field's segment wakes every
/// contact.
async fn a_saved_segment_wakes_the_contacts_already_inside_its_windows(app: TestApp) {
    let contact = new_contact(&app, "early@example.com").await;
    let now = app.clock.now();
    let earlier = Timestamp(now.0 - 600_000_000);
    let ping = NewEvent::of_contact(
        app.account,
        EventKind::Custom,
        "ping",
        contact,
        None,
        earlier,
    );
    app.store.record_events(&[ping], now).await.unwrap();
    let pinged = save_segment(&app, "Pinged", ping_in_the_last_hour()).await;
    assert_eq!(settled_segments(&app, contact).await, [pinged].into());
    app.clock.advance(std::time::Duration::from_secs(2 * 3_600));
    assert_eq!(
        settled_segments(&app, contact).await,
        [].into(),
        "the hour is over"
    );
    let new = json!({"field": {"name": "created", "value": {"within": {"days": 1}}}});
    let new = save_segment(&app, "New", new).await;
    assert_eq!(settled_segments(&app, contact).await, [new].into());
    app.clock.advance(std::time::Duration::from_secs(86_400));
    assert_eq!(
        settled_segments(&app, contact).await,
        [].into(),
        "the day is over"
    );
}

/// "Recorded the event 'ping' in the last hour".
fn ping_in_the_last_hour() -> Value {
    json!({"event": {"name": "ping", "within": {"hours": 1}}})
}

/// A new contact with this email, through API v3.
async fn new_contact(app: &TestApp, email: &str) -> ContactId {
    let id = app
        .create("/api/3/contacts", json!({"contact": {"email": email}}))
        .await;
    ContactId(id.parse().unwrap())
}

/// Saves a segment of `definition` at the app's clock.
async fn save_segment(app: &TestApp, name: &str, definition: Value) -> SegmentId {
    let draft = SegmentDraft {
        name: name.to_owned(),
        definition: Definition::from_value(definition).unwrap(),
    };
    let saved = app
        .store
        .create_segment(app.account, draft, app.clock.now())
        .await
        .unwrap();
    saved.id
}

/// The segments the contact is a stored member of, once the membership queue is settled.
async fn settled_segments(app: &TestApp, contact: ContactId) -> BTreeSet<SegmentId> {
    app.settle_segments().await;
    let mut members = app.store.contacts_segments(&[contact]).await.unwrap();
    members.remove(&contact).unwrap_or_default()
}

both_engines!(
    live_members_agree_with_a_recompute_after_random_changes,
    a_saved_segment_wakes_the_contacts_already_inside_its_windows,
    each_kind_of_activity_moves_the_segments_that_read_it,
    a_change_elsewhere_keeps_a_windows_wake_up,
);
