//! Random definitions and contacts, and the properties every definition keeps: it reads back as
//! it was written, `not` negates, and the answer holds until `next_change`.

use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

use super::condition::{
    Between, Count, DeviceCondition, EmailCondition, EventCondition, FieldCondition, FieldTest,
    FormCondition, ListCondition, ListMembership, PageCondition, ScoreCondition, TextMatch,
    TotalCondition, Window,
};
use super::facts::{EmailAction, EmailActivity, FormSubmission, PageVisit, RecordedEvent};
use super::{Condition, ContactFacts, Definition};
use crate::device::Device;
use crate::ids::{CampaignId, FormId, ListId, ScoreModelId, TagId};
use crate::list::ListStatus;
use crate::time::Timestamp;

const NOW: i64 = 1_700_000_000_000_000;
const DAY: i64 = 86_400_000_000;

fn instant() -> impl Strategy<Value = Timestamp> {
    (NOW - 60 * DAY..NOW + 10 * DAY).prop_map(Timestamp)
}

fn text() -> impl Strategy<Value = String> {
    "[ab/%_*.]{1,3}"
}

fn text_match() -> impl Strategy<Value = TextMatch> {
    prop_oneof![
        text().prop_map(TextMatch::Equals),
        text().prop_map(TextMatch::Contains)
    ]
}

fn count() -> impl Strategy<Value = Count> {
    prop_oneof![
        (0..4i64).prop_map(Count::AtLeast),
        (0..4i64).prop_map(Count::Exactly),
        (0..4i64).prop_map(Count::AtMost),
    ]
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        (1..40i64).prop_map(Window::Days),
        (1..72i64).prop_map(Window::Hours),
        (instant(), 1..60 * DAY).prop_map(|(from, length)| Window::Between(Between {
            from,
            until: Timestamp(from.0 + length),
        })),
    ]
}

fn device() -> impl Strategy<Value = Device> {
    prop_oneof![
        Just(Device::Desktop),
        Just(Device::Mobile),
        Just(Device::Tablet)
    ]
}

fn text_test() -> impl Strategy<Value = FieldTest> {
    prop_oneof![
        text().prop_map(FieldTest::Equals),
        text().prop_map(FieldTest::NotEquals),
        text().prop_map(FieldTest::Contains),
        text().prop_map(FieldTest::StartsWith),
        Just(FieldTest::IsEmpty),
        Just(FieldTest::IsNotEmpty),
    ]
}

fn date_test() -> impl Strategy<Value = FieldTest> {
    prop_oneof![
        instant().prop_map(FieldTest::Before),
        instant().prop_map(FieldTest::After),
        window().prop_map(FieldTest::Within),
    ]
}

fn field() -> impl Strategy<Value = FieldCondition> {
    let number = (-40..80i32).prop_map(|n| f64::from(n) / 4.0);
    let any_test = prop_oneof![
        text_test(),
        date_test(),
        number.clone().prop_map(FieldTest::GreaterThan),
        number.prop_map(FieldTest::LessThan),
    ];
    prop_oneof![
        (prop_oneof![Just("email"), Just("firstName")], text_test()),
        (Just("created"), date_test()),
        (prop_oneof![Just("COMPANY"), Just("RENEWAL")], any_test),
    ]
    .prop_map(|(name, value)| FieldCondition {
        name: name.to_owned(),
        value,
    })
}

fn tally() -> impl Strategy<Value = (Option<Count>, Option<Window>)> {
    (
        proptest::option::of(count()),
        proptest::option::of(window()),
    )
}

fn email() -> impl Strategy<Value = EmailCondition> {
    (proptest::option::of(1..3i64), tally()).prop_map(|(campaign, (count, within))| {
        EmailCondition {
            campaign: campaign.map(CampaignId),
            link: None,
            count,
            within,
        }
    })
}

fn page() -> impl Strategy<Value = PageCondition> {
    let test = || proptest::option::of(text_match());
    (test(), test(), tally()).prop_map(|(url, domain, (count, within))| PageCondition {
        url,
        domain,
        count,
        within,
    })
}

fn total() -> impl Strategy<Value = TotalCondition> {
    (count(), proptest::option::of(window()))
        .prop_map(|(count, within)| TotalCondition { count, within })
}

fn leaf() -> impl Strategy<Value = Condition> {
    let statuses = prop_oneof![
        Just(ListMembership::Subscribed),
        Just(ListMembership::Unsubscribed),
        Just(ListMembership::Bounced),
    ];
    prop_oneof![
        field().prop_map(Condition::Field),
        (1..4i64).prop_map(|id| Condition::HasTag(TagId(id))),
        (1..3i64, statuses).prop_map(|(id, status)| Condition::List(ListCondition {
            id: ListId(id),
            status
        })),
        (1..3i64, count()).prop_map(|(model, value)| Condition::Score(ScoreCondition {
            model: ScoreModelId(model),
            value
        })),
        page().prop_map(Condition::Visited),
        page().prop_map(Condition::ReferredFrom),
        (device(), tally()).prop_map(|(device, (count, within))| Condition::VisitedFrom(
            DeviceCondition {
                device,
                count,
                within
            }
        )),
        total().prop_map(Condition::PageVisits),
        total().prop_map(Condition::SiteVisits),
        ("[ab]{1,2}", proptest::option::of(text_match()), tally()).prop_map(
            |(name, data, (count, within))| Condition::Event(EventCondition {
                name,
                data,
                count,
                within
            })
        ),
        email().prop_map(Condition::Sent),
        email().prop_map(Condition::Opened),
        (email(), proptest::option::of(text_match()))
            .prop_map(|(email, link)| Condition::Clicked(EmailCondition { link, ..email })),
        email().prop_map(Condition::Unsubscribed),
        email().prop_map(Condition::Bounced),
        (proptest::option::of(1..3i64), tally()).prop_map(|(form, (count, within))| {
            Condition::SubmittedForm(FormCondition {
                form: form.map(FormId),
                count,
                within,
            })
        }),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    leaf().prop_recursive(3, 48, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 1..4).prop_map(Condition::All),
            vec(inner.clone(), 1..4).prop_map(Condition::Any),
            inner.prop_map(|node| Condition::Not(Box::new(node))),
        ]
    })
}

fn page_visit() -> impl Strategy<Value = PageVisit> {
    let domain = prop_oneof![Just("a.b"), Just("b/a")];
    let referrer = proptest::option::of((text(), prop_oneof![Just("a"), Just("b.%")]));
    let device = proptest::option::of(device());
    (domain, text(), referrer, device, any::<bool>(), instant()).prop_map(
        |(domain, path, referrer, device, starts_visit, at)| PageVisit {
            url: format!("https://{domain}{path}"),
            domain: domain.to_owned(),
            referrer_domain: referrer.as_ref().map(|(_, domain)| (*domain).to_owned()),
            referrer: referrer.map(|(path, domain)| format!("https://{domain}/{path}")),
            device,
            starts_visit,
            at,
        },
    )
}

fn contact() -> impl Strategy<Value = ContactFacts> {
    let field_value = prop_oneof![
        text(),
        Just("12.5".to_owned()),
        instant().prop_map(Timestamp::to_api_plain),
    ];
    let action = prop_oneof![
        Just(EmailAction::Sent),
        Just(EmailAction::Opened),
        Just(EmailAction::Clicked),
        Just(EmailAction::Unsubscribed),
        Just(EmailAction::Bounced),
    ];
    let email = (
        action,
        proptest::option::of(1..3i64),
        proptest::option::of(text()),
        instant(),
    )
        .prop_map(|(action, campaign, link, at)| EmailActivity {
            action,
            campaign: campaign.map(CampaignId),
            link,
            at,
        });
    let event = ("[ab]{1,2}", proptest::option::of(text()), instant())
        .prop_map(|(name, data, at)| RecordedEvent { name, data, at });
    let form = (1..3i64, instant()).prop_map(|(form, at)| FormSubmission {
        form: FormId(form),
        at,
    });
    let list = (1..3i64, 0..4i64).prop_map(|(id, code)| (ListId(id), ListStatus::from_code(code)));
    let base = (
        instant(),
        text(),
        btree_map(
            prop_oneof![Just("COMPANY"), Just("RENEWAL")],
            field_value,
            0..2,
        ),
        btree_set(1..4i64, 0..3),
        vec(list, 0..3),
        btree_map(1..3i64, -2..4i64, 0..3),
    );
    let timeline = (
        vec(page_visit(), 0..6),
        vec(event, 0..4),
        vec(email, 0..5),
        vec(form, 0..3),
    );
    (base, timeline).prop_map(
        |((created, name, fields, tags, lists, score), (page_visits, events, emails, forms))| {
            let mut contact = ContactFacts::created(created);
            contact.first_name = name;
            contact.fields = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            contact.tags = tags.into_iter().map(TagId).collect();
            contact.lists = lists.into_iter().collect();
            contact.scores = score
                .into_iter()
                .map(|(model, total)| (ScoreModelId(model), total))
                .collect();
            contact.page_visits = page_visits;
            contact.events = events;
            contact.emails = emails;
            contact.form_submissions = forms;
            contact
        },
    )
}

proptest! {
    #[test]
    fn definitions_read_back_as_written(root in condition()) {
        let definition = Definition::new(root).unwrap();
        let json = serde_json::to_string(&definition).unwrap();
        prop_assert_eq!(&Definition::parse(&json).unwrap(), &definition, "{}", json);
        let value = serde_json::to_value(&definition).unwrap();
        prop_assert_eq!(Definition::from_value(value).unwrap(), definition);
    }

    #[test]
    fn not_negates(root in condition(), contact in contact(), now in instant()) {
        let negated = Condition::Not(Box::new(root.clone()));
        prop_assert_eq!(negated.matches(&contact, now), !root.matches(&contact, now));
    }

    #[test]
    fn the_answer_holds_until_next_change(
        root in condition(),
        contact in contact(),
        now in instant(),
        samples in vec(any::<u64>(), 8),
    ) {
        let answer = root.matches(&contact, now);
        let change = root.next_change(&contact, now);
        let until = change.map_or(NOW + 200 * DAY, |at| at.0);
        prop_assert!(until > now.0);
        let span = (until - now.0) as u64;
        let times = samples.iter().map(|sample| now.0 + (sample % span) as i64);
        for at in times.chain([until - 1]) {
            prop_assert_eq!(root.matches(&contact, Timestamp(at)), answer, "at {} (change {:?})", at, change);
        }
    }
}
