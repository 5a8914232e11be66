//! Saved segments kept live by the membership worker agree with a recompute from scratch
//! after random changes, on both engines, with the generators of `segment_agreement`.

use tracklane_core::list::ListStatus;
use tracklane_core::page::Page;
use tracklane_core::segment::saved::SegmentDraft;
use tracklane_core::segment::Definition;
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::state::Clock;
use tracklane_store::contacts::ContactQuery;

use crate::segment_agreement::{condition, ids, random_contact, world, Rng};

/// Saved segments kept live agree with a recompute from scratch: random definitions are saved,
/// then contacts change at random (tags, list statuses, page views and events, some of them
/// dated ahead, deletions) while the clock moves on by hours or days; after each step the
/// stored members of every segment equal the set evaluator's answer at that instant.
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
            let contact = rng.pick(&contacts);
            let now = app.clock.now();
            match rng.below(4) {
                0 => {
                    let tag = rng.pick(&world.tags);
                    let _ = app
                        .store
                        .add_contact_tag(app.account, contact, tag, now)
                        .await;
                }
                1 => {
                    let status = ListStatus::from_code(rng.below(4) as i64);
                    let list = rng.pick(&world.lists);
                    let _ = app
                        .store
                        .set_list_status(app.account, contact, list, status, 0, now)
                        .await;
                }
                2 if step == 5 => {
                    let _ = app.store.delete_contact(app.account, contact).await;
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

both_engines!(live_members_agree_with_a_recompute_after_random_changes);
