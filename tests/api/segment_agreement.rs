//! The set evaluator (`Store::segment_members`, `segment_count`) and core's one-contact
//! evaluator (`Definition::matches` over `Store::contact_facts`) answer the same: random contacts
//! with random tags, lists, fields and timelines, then many random definitions over the
//! conditions the set evaluator compiles, on both engines. The live membership's facts
//! (`Store::needed_facts`, only the timeline rows that the definitions read) give the
//! one-contact evaluator the same answers and the same next changes as the whole timeline. A
//! fixed seed keeps it repeatable; the random world is `segment_world`'s.

use std::collections::BTreeSet;

use tracklane_core::ids::ContactId;
use tracklane_core::page::Page;
use tracklane_core::segment::{ContactFacts, Definition};
use tracklane_e2e::{both_engines, TestApp};

use crate::segment_world::{condition, ids, random_contact, world, Rng};

const CONTACTS: usize = 14;
const DEFINITIONS: usize = 300;

async fn the_set_evaluator_agrees_with_the_one_contact_evaluator(app: TestApp) {
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let world = world(&app).await;
    let mut contacts = Vec::new();
    for index in 0..CONTACTS {
        let contact = random_contact(&app, &world, &mut rng, index).await;
        let facts = app.store.contact_facts(app.account, contact).await.unwrap();
        contacts.push((contact, facts));
    }
    let all = Page {
        limit: 1000,
        offset: 0,
    };
    let every: Vec<ContactId> = contacts.iter().map(|(id, _)| *id).collect();
    let mut telling = 0;
    let mut previous = Definition::new(condition(&mut rng, &world, 3)).unwrap();
    for _ in 0..DEFINITIONS {
        let definition = Definition::new(condition(&mut rng, &world, 3)).unwrap();
        // Read for two definitions at once, as a round of the live membership reads them.
        let needed = app
            .store
            .needed_facts(app.account, &every, &[&previous, &definition], world.now)
            .await
            .unwrap();
        for (id, facts) in &contacts {
            let few = &needed[id];
            for definition in [&previous, &definition] {
                assert_eq!(
                    (definition.matches(few, world.now), definition.next_change(few, world.now)),
                    (definition.matches(facts, world.now), definition.next_change(facts, world.now)),
                    "the needed rows answer otherwise than the whole timeline at {now:?} on {json}\n\
                     needed: {few:#?}\nwhole: {facts:#?}",
                    now = world.now,
                    json = serde_json::to_string(definition).unwrap(),
                );
            }
        }
        let members = ids(app
            .store
            .segment_members(app.account, &definition, world.now, all)
            .await
            .unwrap());
        let matching: BTreeSet<ContactId> = contacts
            .iter()
            .filter(|(_, facts)| definition.matches(facts, world.now))
            .map(|(id, _)| *id)
            .collect();
        let differing: Vec<&(ContactId, ContactFacts)> = contacts
            .iter()
            .filter(|(id, _)| members.contains(id) != matching.contains(id))
            .collect();
        assert!(
            differing.is_empty(),
            "the evaluators disagree at {now:?} on {json}\nset evaluator: {members:?}\n\
             one-contact evaluator: {matching:?}\nfirst contact they disagree on: {first:#?}",
            now = world.now,
            json = serde_json::to_string(&definition).unwrap(),
            first = differing[0],
        );
        let count = app
            .store
            .segment_count(app.account, &definition, world.now)
            .await
            .unwrap();
        assert_eq!(count, matching.len() as i64, "count of {definition:?}");
        if !matching.is_empty() && matching.len() < CONTACTS {
            telling += 1;
        }
        previous = definition;
    }
    assert!(
        telling > DEFINITIONS / 3,
        "only {telling} definitions split the contacts: the test proves little"
    );
}

both_engines!(the_set_evaluator_agrees_with_the_one_contact_evaluator);
