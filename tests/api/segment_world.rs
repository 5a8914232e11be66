//! Random worlds for the segment tests: a small seeded generator, an account's tags, lists,
//! fields, campaigns and forms, random contacts with random timelines (some rows dated ahead,
//! some a scanner's), and random definitions over the conditions the set evaluator compiles.
//! `segment_agreement` and `segment_live` share them.

use std::collections::BTreeSet;

use serde_json::json;
use tracklane_core::contact::Contact;
use tracklane_core::device::Device;
use tracklane_core::event::{EventKind, EventSource, LinkHit, NewEvent, PAGE_VISIT_NAME};
use tracklane_core::ids::{CampaignId, ContactId, FormId, ListId, TagId};
use tracklane_core::list::ListStatus;
use tracklane_core::segment::condition::{
    Between, Count, DeviceCondition, EmailCondition, EventCondition, FieldCondition, FieldTest,
    FormCondition, ListCondition, ListMembership, PageCondition, TextMatch, TotalCondition, Window,
};
use tracklane_core::segment::Condition;
use tracklane_core::time::Timestamp;
use tracklane_core::visit::PageUrl;
use tracklane_core::webhook::event::WebhookSource;
use tracklane_e2e::TestApp;
use tracklane_store::listing::Listed;

const DAY: i64 = 86_400_000_000;

/// A small xorshift generator: the same seed, the same contacts and definitions.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }

    /// Short text from letters of both cases and LIKE metacharacters.
    fn text(&mut self) -> String {
        let length = 1 + self.below(2);
        (0..length)
            .map(|_| self.pick(&['a', 'A', '/', '%', '_']))
            .collect()
    }

    /// A custom field's value: short text, a number (some with spaces, some not quite), or a
    /// date or time near `now`.
    fn field_value(&mut self, now: Timestamp) -> String {
        match self.below(4) {
            0 => self
                .pick(&["12", " 3.5 ", "-1e2", "0", "7x", "inf"])
                .to_owned(),
            1 => self.instant(now).to_api(),
            2 => self.instant(now).to_api_plain(),
            _ => self.text(),
        }
    }

    fn instant(&mut self, now: Timestamp) -> Timestamp {
        Timestamp(now.0 - 40 * DAY + self.below(42 * DAY as u64) as i64)
    }

    fn text_match(&mut self) -> TextMatch {
        if self.chance(50) {
            TextMatch::Equals(self.text())
        } else {
            TextMatch::Contains(self.text())
        }
    }
}

/// What the random contacts may name.
pub(crate) struct World {
    pub(crate) tags: Vec<TagId>,
    pub(crate) lists: Vec<ListId>,
    perstags: Vec<&'static str>,
    fields: Vec<String>,
    pub(crate) campaigns: Vec<CampaignId>,
    pub(crate) forms: Vec<FormId>,
    pub(crate) now: Timestamp,
}

const LINKS: [&str; 2] = ["https://a.a/a%", "https://a.a/A_"];

const DOMAINS: [&str; 2] = ["a.a", "a_a"];
const EVENT_NAMES: [&str; 2] = ["aa", "aA"];
const DEVICES: [Device; 3] = [Device::Desktop, Device::Mobile, Device::Tablet];

pub(crate) async fn world(app: &TestApp) -> World {
    let mut tags = Vec::new();
    let mut lists = Vec::new();
    for name in ["One", "Two"] {
        let tag = app.create(
            "/api/3/tags",
            json!({"tag": {"tag": name, "tagType": "contact"}}),
        );
        tags.push(TagId(tag.await.parse().unwrap()));
        let list = app.create("/api/3/lists", json!({"list": {"name": name}}));
        lists.push(ListId(list.await.parse().unwrap()));
    }
    let mut fields = Vec::new();
    for title in ["Company", "Region"] {
        let field = app.create(
            "/api/3/fields",
            json!({"field": {"title": title, "type": "text"}}),
        );
        fields.push(field.await);
    }
    let mut campaigns = Vec::new();
    let mut forms = Vec::new();
    for name in ["One", "Two"] {
        let message = json!({"subject": name, "fromemail": "news@example.com", "text": "Hi"});
        let campaign = app.draft_campaign(&lists[0].to_string(), message).await;
        campaigns.push(CampaignId(campaign.parse().unwrap()));
        let form = json!({"form": {"name": name, "fields": ["firstName"]}});
        forms.push(FormId(
            app.create("/api/3/forms", form).await.parse().unwrap(),
        ));
    }
    World {
        tags,
        lists,
        perstags: vec!["COMPANY", "REGION"],
        fields,
        campaigns,
        forms,
        now: Timestamp::now(),
    }
}

/// A random contact with tags, lists, custom fields, page views, custom events, email activity
/// (some of it a scanner's) and form submissions.
pub(crate) async fn random_contact(
    app: &TestApp,
    world: &World,
    rng: &mut Rng,
    index: usize,
) -> ContactId {
    let mut values = Vec::new();
    for field in &world.fields {
        if rng.chance(60) {
            values.push(json!({"field": field, "value": rng.field_value(world.now)}));
        }
    }
    let first_name = if rng.chance(70) {
        rng.text()
    } else {
        String::new()
    };
    let id = app
        .create(
            "/api/3/contacts",
            json!({"contact": {"email": format!("c{index}@example.com"), "firstName": first_name,
                "fieldValues": values}}),
        )
        .await;
    let contact = ContactId(id.parse().unwrap());
    let now = world.now;
    for tag in &world.tags {
        if rng.chance(50) {
            app.store
                .add_contact_tag(app.account, contact, *tag, WebhookSource::Api, now)
                .await
                .unwrap();
        }
    }
    for list in &world.lists {
        if rng.chance(60) {
            let status = ListStatus::from_code(rng.below(4) as i64);
            app.store
                .set_list_status(app.account, contact, *list, status, 0, None, now)
                .await
                .unwrap();
        }
    }
    record_activity(app, world, rng, contact, index)
        .await
        .unwrap();
    contact
}

/// Records random page views, custom events, email activity (some of it a scanner's) and form
/// submissions for the contact, whose visitor is `visitor-{index}`.
pub(crate) async fn record_activity(
    app: &TestApp,
    world: &World,
    rng: &mut Rng,
    contact: ContactId,
    index: usize,
) -> Result<(), tracklane_store::StoreError> {
    let now = world.now;
    let mut events = Vec::new();
    let visitor = format!("visitor-{index}");
    for _ in 0..rng.below(11) {
        let domain = rng.pick(&DOMAINS);
        let path = format!("/{}", rng.text());
        let mut visit = NewEvent::of_contact(
            app.account,
            EventKind::PageVisit,
            PAGE_VISIT_NAME,
            contact,
            None,
            rng.instant(now),
        );
        visit.visitor = Some(visitor.clone());
        visit.page = Some(PageUrl {
            url: format!("https://{domain}{path}"),
            domain: domain.to_owned(),
            path,
        });
        if rng.chance(50) {
            let domain = rng.pick(&DOMAINS);
            let path = format!("/{}", rng.text());
            visit.referrer = Some(PageUrl {
                url: format!("https://{domain}{path}"),
                domain: domain.to_owned(),
                path,
            });
        }
        visit.device = rng.chance(80).then(|| rng.pick(&DEVICES));
        events.push(visit);
    }
    for _ in 0..rng.below(5) {
        let data = rng.chance(70).then(|| rng.text());
        events.push(NewEvent::of_contact(
            app.account,
            EventKind::Custom,
            rng.pick(&EVENT_NAMES),
            contact,
            data,
            rng.instant(now),
        ));
    }
    for _ in 0..rng.below(5) {
        let kind = rng.pick(&[
            EventKind::Open,
            EventKind::Click,
            EventKind::Unsubscribe,
            EventKind::Bounce,
            EventKind::FormSubmit,
        ]);
        let mut activity = NewEvent::of_contact(
            app.account,
            kind,
            "__activity",
            contact,
            None,
            rng.instant(now),
        );
        if kind == EventKind::FormSubmit {
            activity.source = Some(EventSource::Form(rng.pick(&world.forms)));
        } else {
            let campaign = rng.pick(&world.campaigns);
            activity.source = Some(EventSource::Campaign(campaign));
            if matches!(kind, EventKind::Click | EventKind::Open) {
                // Now and then a scanner's hit: never counted.
                activity.link = Some(LinkHit {
                    campaign,
                    position: 1,
                    machine: rng.chance(25).then_some("burst"),
                    machine_since: None,
                });
            }
            if kind == EventKind::Click {
                activity.page = PageUrl::parse("url", rng.pick(&LINKS)).ok();
            }
        }
        events.push(activity);
    }
    // One visitor's page views must arrive in time order for its site visits to be counted.
    events.sort_by_key(|event| event.occurred_at);
    app.store.record_events(&events, now).await.map(|_| ())
}
/// The contacts' ids.
pub(crate) fn ids(listed: Listed<Contact>) -> BTreeSet<ContactId> {
    listed.items.into_iter().map(|contact| contact.id).collect()
}

/// Counts up to 6: past the 4 recent times the activity counters keep.
fn count(rng: &mut Rng) -> Option<Count> {
    let n = rng.below(7) as i64;
    rng.pick(&[
        None,
        Some(Count::AtLeast(n)),
        Some(Count::Exactly(n)),
        Some(Count::AtMost(n)),
    ])
}

fn window(rng: &mut Rng, now: Timestamp) -> Option<Window> {
    match rng.below(4) {
        0 => None,
        1 => Some(Window::Days(1 + rng.below(40) as i64)),
        2 => Some(Window::Hours(1 + rng.below(72) as i64)),
        _ => {
            let from = rng.instant(now);
            let until = Timestamp(from.0 + 1 + rng.below(30 * DAY as u64) as i64);
            Some(Window::Between(Between { from, until }))
        }
    }
}

fn field(rng: &mut Rng, world: &World) -> FieldCondition {
    if rng.chance(20) {
        let value = match rng.below(3) {
            0 => FieldTest::Before(rng.instant(world.now)),
            1 => FieldTest::After(rng.instant(world.now)),
            _ => FieldTest::Within(window(rng, world.now).unwrap_or(Window::Days(1))),
        };
        return FieldCondition {
            name: "created".to_owned(),
            value,
        };
    }
    let value = match rng.below(6) {
        0 => FieldTest::Equals(rng.text()),
        1 => FieldTest::NotEquals(rng.text()),
        2 => FieldTest::Contains(rng.text()),
        3 => FieldTest::StartsWith(rng.text()),
        4 => FieldTest::IsEmpty,
        _ => FieldTest::IsNotEmpty,
    };
    if rng.chance(30) {
        let value = match rng.below(5) {
            0 => FieldTest::GreaterThan(rng.pick(&[-5.0, 0.0, 3.0, 12.5])),
            1 => FieldTest::LessThan(rng.pick(&[-5.0, 0.0, 3.0, 12.5])),
            2 => FieldTest::Before(rng.instant(world.now)),
            3 => FieldTest::After(rng.instant(world.now)),
            _ => FieldTest::Within(window(rng, world.now).unwrap_or(Window::Days(1))),
        };
        return FieldCondition {
            name: rng.pick(&world.perstags).to_owned(),
            value,
        };
    }
    let mut names = vec!["email", "firstName"];
    names.extend(&world.perstags);
    FieldCondition {
        name: rng.pick(&names).to_owned(),
        value,
    }
}

fn page(rng: &mut Rng, now: Timestamp) -> PageCondition {
    PageCondition {
        url: rng.chance(50).then(|| rng.text_match()),
        domain: rng.chance(40).then(|| rng.text_match()),
        count: count(rng),
        within: window(rng, now),
    }
}

/// A random leaf over the conditions the set evaluator compiles.
fn leaf(rng: &mut Rng, world: &World) -> Condition {
    let now = world.now;
    match rng.below(12) {
        0 => Condition::Field(field(rng, world)),
        1 => Condition::HasTag(rng.pick(&world.tags)),
        2 => Condition::List(ListCondition {
            id: rng.pick(&world.lists),
            status: rng.pick(&[
                ListMembership::Subscribed,
                ListMembership::Unsubscribed,
                ListMembership::Bounced,
                ListMembership::Unconfirmed,
            ]),
        }),
        3 => Condition::Visited(page(rng, now)),
        4 => Condition::ReferredFrom(page(rng, now)),
        5 => Condition::VisitedFrom(DeviceCondition {
            device: rng.pick(&DEVICES),
            count: count(rng),
            within: window(rng, now),
        }),
        6 => Condition::PageVisits(TotalCondition {
            count: count(rng).unwrap_or(Count::AtLeast(2)),
            within: window(rng, now),
        }),
        7 => Condition::SiteVisits(TotalCondition {
            count: count(rng).unwrap_or(Count::AtMost(1)),
            within: window(rng, now),
        }),
        8 => Condition::Event(EventCondition {
            name: rng.pick(&EVENT_NAMES).to_owned(),
            data: rng.chance(50).then(|| rng.text_match()),
            count: count(rng),
            within: window(rng, now),
        }),
        9 => Condition::SubmittedForm(FormCondition {
            form: rng.chance(60).then(|| rng.pick(&world.forms)),
            count: count(rng),
            within: window(rng, now),
        }),
        _ => {
            let email = EmailCondition {
                campaign: rng.chance(60).then(|| rng.pick(&world.campaigns)),
                link: None,
                count: count(rng),
                within: window(rng, now),
            };
            match rng.below(5) {
                0 => Condition::Sent(email),
                1 => Condition::Opened(email),
                2 => Condition::Clicked(EmailCondition {
                    link: rng.chance(60).then(|| rng.text_match()),
                    ..email
                }),
                3 => Condition::Unsubscribed(email),
                _ => Condition::Bounced(email),
            }
        }
    }
}

pub(crate) fn condition(rng: &mut Rng, world: &World, depth: u32) -> Condition {
    if depth == 0 || rng.chance(40) {
        return leaf(rng, world);
    }
    let kind = rng.below(3);
    if kind == 2 {
        return Condition::Not(Box::new(condition(rng, world, depth - 1)));
    }
    let nodes = (0..1 + rng.below(3))
        .map(|_| condition(rng, world, depth - 1))
        .collect();
    if kind == 0 {
        Condition::All(nodes)
    } else {
        Condition::Any(nodes)
    }
}
