//! Parsing, validation and evaluation of each condition family.

use serde_json::json;

use super::facts::{EmailAction, EmailActivity, FormSubmission, PageVisit, RecordedEvent};
use super::*;
use crate::device::Device;
use crate::ids::{CampaignId, FormId, ListId, ScoreModelId, TagId};
use crate::list::ListStatus;

const DAY: i64 = 86_400_000_000;
const NOW: Timestamp = Timestamp(1_700_000_000_000_000);

fn ago(days: i64) -> Timestamp {
    Timestamp(NOW.0 - days * DAY)
}

fn definition(json: serde_json::Value) -> Definition {
    Definition::parse(&json.to_string()).unwrap_or_else(|error| panic!("{error}"))
}

fn refusal(json: serde_json::Value) -> String {
    Definition::parse(&json.to_string())
        .unwrap_err()
        .to_string()
}

fn visit(url: &str, at: Timestamp) -> PageVisit {
    let domain = url.split('/').nth(2).unwrap_or_default().to_owned();
    PageVisit {
        url: url.to_owned(),
        domain,
        referrer: None,
        referrer_domain: None,
        device: Some(Device::Desktop),
        starts_visit: false,
        at,
    }
}

fn pricing_visitor(days_ago: &[i64]) -> ContactFacts {
    let mut contact = ContactFacts::created(ago(400));
    for days in days_ago {
        contact
            .page_visits
            .push(visit("https://example.com/pricing", ago(*days)));
    }
    contact
}

#[test]
fn the_readme_example_matches_as_described() {
    let segment = definition(json!({"all": [
        {"visited": {"url": {"contains": "/pricing"}, "count": {"atLeast": 3},
                     "within": {"days": 30}}},
        {"hasTag": 7},
        {"not": {"visited": {"url": {"contains": "/cancel"}}}}
    ]}));
    let mut contact = pricing_visitor(&[1, 5, 29]);
    assert!(!segment.matches(&contact, NOW), "no tag yet");
    contact.tags.insert(TagId(7));
    assert!(segment.matches(&contact, NOW));
    contact.page_visits[0].at = ago(31);
    assert!(!segment.matches(&contact, NOW), "one visit left the window");
    let mut cancelled = pricing_visitor(&[1, 5, 29]);
    cancelled.tags.insert(TagId(7));
    cancelled
        .page_visits
        .push(visit("https://example.com/cancel", ago(300)));
    assert!(!segment.matches(&cancelled, NOW));
}

#[test]
fn has_not_matches_a_contact_without_activity() {
    let quiet = ContactFacts::created(ago(1));
    for json in [
        json!({"not": {"visited": {}}}),
        json!({"not": {"event": {"name": "signup"}}}),
        json!({"not": {"opened": {}}}),
        json!({"not": {"visitedFrom": {"device": "mobile"}}}),
        json!({"not": {"hasTag": 1}}),
        json!({"pageVisits": {"count": {"atMost": 0}}}),
    ] {
        assert!(definition(json.clone()).matches(&quiet, NOW), "{json}");
    }
}

#[test]
fn fields_are_compared_by_their_kind() {
    let mut contact = ContactFacts::created(ago(3));
    contact.first_name = "Ann".into();
    contact.fields.insert("COMPANY".into(), "Acme 100%".into());
    contact.fields.insert("SEATS".into(), " 12.5".into());
    contact.fields.insert("RENEWAL".into(), "2023-11-01".into());
    let field = |name: &str, value: serde_json::Value| {
        definition(json!({"field": {"name": name, "value": value}})).matches(&contact, NOW)
    };
    assert!(field("firstName", json!({"equals": "Ann"})));
    assert!(
        !field("firstName", json!({"equals": "ann"})),
        "case-sensitive"
    );
    assert!(field("firstName", json!({"notEquals": "Bob"})));
    assert!(field("COMPANY", json!({"contains": "100%"})));
    assert!(
        !field("COMPANY", json!({"contains": "1_0%"})),
        "no wildcards"
    );
    assert!(field("COMPANY", json!({"startsWith": "Acme"})));
    assert!(field("lastName", json!("isEmpty")));
    assert!(field("COMPANY", json!("isNotEmpty")));
    assert!(
        field("MISSING", json!("isEmpty")),
        "an absent value is empty"
    );
    assert!(field("SEATS", json!({"greaterThan": 12})));
    assert!(field("SEATS", json!({"lessThan": 13})));
    assert!(!field("COMPANY", json!({"greaterThan": 0})), "not a number");
    assert!(field("RENEWAL", json!({"before": "2023-12-01"})));
    assert!(field("RENEWAL", json!({"after": "2023-10-01"})));
    assert!(field("RENEWAL", json!({"within": {"days": 30}})));
    assert!(!field("RENEWAL", json!({"within": {"days": 1}})));
    assert!(field("created", json!({"within": {"days": 7}})));
    assert!(!field("created", json!({"within": {"hours": 24}})));
    assert!(field("created", json!({"after": "2023-01-01"})));
}

#[test]
fn tags_lists_and_score() {
    let mut contact = ContactFacts::created(ago(3));
    contact.tags.insert(TagId(4));
    contact.lists.insert(ListId(2), ListStatus::Active);
    contact.lists.insert(ListId(3), ListStatus::Bounced);
    contact.scores.insert(ScoreModelId(1), 40);
    let check = |json: serde_json::Value| definition(json).matches(&contact, NOW);
    assert!(check(json!({"hasTag": 4})));
    assert!(!check(json!({"hasTag": 5})));
    assert!(check(json!({"list": {"id": 2, "status": "subscribed"}})));
    assert!(!check(json!({"list": {"id": 2, "status": "unsubscribed"}})));
    assert!(check(json!({"list": {"id": 3, "status": "bounced"}})));
    assert!(!check(json!({"list": {"id": 9, "status": "subscribed"}})));
    assert!(check(
        json!({"score": {"model": 1, "value": {"atLeast": 40}}})
    ));
    assert!(!check(
        json!({"score": {"model": 1, "value": {"exactly": 41}}})
    ));
    assert!(check(
        json!({"score": {"model": 2, "value": {"atMost": 0}}})
    ));
    assert!(!check(
        json!({"score": {"model": 2, "value": {"atLeast": 1}}})
    ));
}

#[test]
fn site_conditions() {
    let mut contact = ContactFacts::created(ago(100));
    let mut first = visit("https://www.shop.com/blog/a", ago(10));
    first.referrer = Some("https://google.com/search?q=x".into());
    first.referrer_domain = Some("google.com".into());
    first.starts_visit = true;
    first.device = Some(Device::Tablet);
    let mut second = visit("https://www.shop.com/pricing", ago(2));
    second.starts_visit = true;
    let third = visit("https://www.shop.com/pricing?plan=pro", ago(2));
    contact.page_visits = vec![first, second, third];
    let check = |json: serde_json::Value| definition(json).matches(&contact, NOW);
    assert!(check(
        json!({"visited": {"url": {"equals": "https://www.shop.com/pricing"}}})
    ));
    assert!(check(
        json!({"visited": {"url": {"contains": "/pricing"}, "count": {"exactly": 2}}})
    ));
    assert!(check(
        json!({"visited": {"domain": {"equals": "www.shop.com"}, "count": {"atLeast": 3}}})
    ));
    assert!(!check(
        json!({"visited": {"url": {"contains": "/blog"}, "within": {"days": 5}}})
    ));
    assert!(check(
        json!({"referredFrom": {"domain": {"equals": "google.com"}}})
    ));
    assert!(!check(
        json!({"referredFrom": {"url": {"contains": "bing"}}})
    ));
    assert!(check(json!({"visitedFrom": {"device": "tablet"}})));
    assert!(!check(json!({"visitedFrom": {"device": "mobile"}})));
    assert!(check(json!({"pageVisits": {"count": {"atLeast": 3}}})));
    assert!(check(
        json!({"pageVisits": {"count": {"exactly": 2}, "within": {"days": 3}}})
    ));
    assert!(check(json!({"siteVisits": {"count": {"exactly": 2}}})));
    let between = json!({"siteVisits": {"count": {"exactly": 1},
        "within": {"between": {"from": "2023-11-01", "until": "2023-11-10"}}}});
    assert!(check(between), "the visit of 10 days ago (2023-11-04) only");
}

#[test]
fn events_emails_and_forms() {
    let mut contact = ContactFacts::created(ago(100));
    contact.events.push(RecordedEvent {
        name: "file download request".into(),
        data: Some("whitepaper.pdf".into()),
        at: ago(1),
    });
    let email = |action, campaign, link: Option<&str>| EmailActivity {
        action,
        campaign: Some(CampaignId(campaign)),
        link: link.map(str::to_owned),
        at: ago(4),
    };
    contact.emails = vec![
        email(EmailAction::Sent, 12, None),
        email(EmailAction::Opened, 12, None),
        email(EmailAction::Clicked, 12, Some("https://shop.com/pricing")),
        email(EmailAction::Bounced, 13, None),
    ];
    contact.form_submissions.push(FormSubmission {
        form: FormId(4),
        at: ago(20),
    });
    let check = |json: serde_json::Value| definition(json).matches(&contact, NOW);
    assert!(check(json!({"event": {"name": "file download request"}})));
    assert!(check(
        json!({"event": {"name": "file download request", "data": {"contains": ".pdf"}}})
    ));
    assert!(!check(
        json!({"event": {"name": "file download request", "data": {"equals": ".pdf"}}})
    ));
    assert!(!check(json!({"event": {"name": "signup"}})));
    assert!(check(json!({"sent": {"campaign": 12}})));
    assert!(check(json!({"opened": {}})));
    assert!(!check(json!({"opened": {"campaign": 13}})));
    assert!(check(
        json!({"clicked": {"campaign": 12, "link": {"contains": "/pricing"}}})
    ));
    assert!(!check(
        json!({"clicked": {"link": {"contains": "/cancel"}}})
    ));
    assert!(!check(json!({"unsubscribed": {}})));
    assert!(check(json!({"bounced": {"campaign": 13}})));
    assert!(check(json!({"submittedForm": {"form": 4}})));
    assert!(!check(json!({"submittedForm": {"within": {"days": 7}}})));
    let either = json!({"any": [{"clicked": {"campaign": 12}},
                               {"event": {"name": "file download request"}}]});
    assert!(check(either));
}

#[test]
fn next_change_is_when_a_counted_visit_leaves_the_window() {
    let segment = definition(json!({"visited": {"url": {"contains": "/pricing"},
        "count": {"atLeast": 3}, "within": {"days": 30}}}));
    let contact = pricing_visitor(&[1, 5, 29, 40]);
    let change = segment.next_change(&contact, NOW).unwrap();
    assert_eq!(change, Timestamp(ago(29).0 + 30 * DAY + 1));
    assert!(segment.matches(&contact, Timestamp(change.0 - 1)));
    assert!(!segment.matches(&contact, change));
    assert_eq!(segment.next_change(&pricing_visitor(&[1, 5]), NOW), None);
    let at_most = definition(json!({"visited": {"count": {"atMost": 1}, "within": {"hours": 48}}}));
    let two = pricing_visitor(&[0, 1]);
    let change = at_most.next_change(&two, NOW).unwrap();
    assert_eq!(change, Timestamp(ago(1).0 + 2 * DAY + 1));
    assert!(at_most.matches(&two, change) && !at_most.matches(&two, NOW));
}

#[test]
fn next_change_sees_future_dates_and_decided_groups() {
    let mut contact = ContactFacts::created(ago(1));
    contact.fields.insert("RENEWAL".into(), "2023-12-01".into());
    let soon = definition(json!({"field": {"name": "RENEWAL", "value": {"within": {"days": 7}}}}));
    let renewal = Timestamp::parse_api("2023-12-01").unwrap();
    assert!(!soon.matches(&contact, NOW));
    assert_eq!(soon.next_change(&contact, NOW), Some(renewal));
    let decided = definition(json!({"all": [{"hasTag": 1}, {"field": {"name": "RENEWAL",
        "value": {"within": {"days": 7}}}}]}));
    assert_eq!(
        decided.next_change(&contact, NOW),
        None,
        "never has the tag"
    );
    let fixed = definition(json!({"visited": {"within": {"between":
        {"from": "2023-01-01", "until": "2024-01-01"}}}}));
    assert_eq!(fixed.next_change(&pricing_visitor(&[1]), NOW), None);
}

#[test]
fn refusals_point_into_the_json() {
    let cases = [
        (
            json!({"all": [{"hasTag": 1}, {"hasTag": 2}, {"visited": {"count": {"atLeast": -1}}}]}),
            "/all/2/visited/count: must be >= 0",
        ),
        (
            json!({"any": [{"visited": {"within": {"days": 0}}}]}),
            "/any/0/visited/within/days: must be > 0",
        ),
        (
            json!({"visited": {"urll": {"contains": "x"}}}),
            "/visited/urll: unknown field `urll`",
        ),
        (
            json!({"visited": {"url": {"like": "x"}}}),
            "/visited/url: unknown variant `like`",
        ),
        (
            json!({"all": [{"sometimes": 1}]}),
            "/all/0: unknown variant `sometimes`",
        ),
        (
            json!({"field": {"name": "firstName", "value": {"greaterThan": 3}}}),
            "/field/value: firstName is text",
        ),
        (
            json!({"field": {"name": "created", "value": {"equals": "x"}}}),
            "/field/value: created is a date",
        ),
        (
            json!({"field": {"name": "company", "value": "isEmpty"}}),
            "/field/name: unknown field",
        ),
        (
            json!({"field": {"name": "X", "value": {"before": "soon"}}}),
            "/field/value/before: 'soon' is not a date",
        ),
        (
            json!({"opened": {"link": {"contains": "x"}}}),
            "/opened/link: only clicks have a link",
        ),
        (json!({"hasTag": 0}), "/hasTag: an id is a number > 0"),
        (
            json!({"all": []}),
            "(definition): a group holds at least one condition",
        ),
        (
            json!({"visitedFrom": {"device": "bot"}}),
            "/visitedFrom/device: a device is",
        ),
        (
            json!({"event": {"name": " x"}}),
            "/event/name: an event name",
        ),
        (
            json!({"clicked": {"link": {"contains": ""}}}),
            "/clicked/link/contains: must not be empty",
        ),
        (
            json!({"visited": {"within": {"between": {"from": "2024-02-01", "until": "2024-01-01"}}}}),
            "/visited/within/between: from must be before until",
        ),
        (json!({"visited": {}, "hasTag": 1}), "(definition):"),
    ];
    for (json, expected) in cases {
        let refusal = refusal(json.clone());
        assert!(refusal.starts_with(expected), "{json}: {refusal}");
    }
    assert!(
        Definition::parse("{\"hasTag\": 1} x").is_err(),
        "trailing text"
    );
}

#[test]
fn bounds_are_enforced() {
    let mut deep = json!({"hasTag": 1});
    for _ in 0..DEPTH_MAX - 1 {
        deep = json!({"not": deep});
    }
    definition(deep.clone());
    assert!(refusal(json!({"not": deep})).contains("at most 8 levels"));
    let many =
        |n: usize| json!({"any": (0..n).map(|i| json!({"hasTag": i + 1})).collect::<Vec<_>>()});
    definition(many(CONDITIONS_MAX));
    assert!(refusal(many(CONDITIONS_MAX + 1)).starts_with("/any/100: a definition holds at most"));
    let long = "x".repeat(TEXT_MAX + 1);
    assert!(refusal(json!({"visited": {"url": {"contains": long}}})).contains("at most 2048"));
    assert!(refusal(json!({"visited": {"count": {"atLeast": COUNT_MAX + 1}}})).contains("<="));
    assert!(refusal(json!({"visited": {"within": {"days": 3651}}})).contains("<= 3650"));
}

#[test]
fn references_name_what_the_store_must_check() {
    let segment = definition(json!({"all": [
        {"hasTag": 3}, {"list": {"id": 5, "status": "subscribed"}},
        {"clicked": {"campaign": 12}}, {"opened": {}}, {"submittedForm": {"form": 4}},
        {"event": {"name": "signup"}},
        {"field": {"name": "SEATS", "value": {"greaterThan": 3}}},
        {"field": {"name": "SEATS", "value": "isEmpty"}},
        {"field": {"name": "email", "value": {"contains": "@acme"}}}
    ]}));
    let references = segment.references();
    assert_eq!(references.tags, [TagId(3)].into());
    assert_eq!(references.lists, [ListId(5)].into());
    assert_eq!(references.campaigns, [CampaignId(12)].into());
    assert_eq!(references.forms, [FormId(4)].into());
    assert_eq!(references.events, ["signup".to_owned()].into());
    let kinds = [check::ValueKind::Text, check::ValueKind::Number].into();
    assert_eq!(references.fields, [("SEATS".to_owned(), kinds)].into());
}

#[test]
fn the_readme_examples_are_valid() {
    let readme = include_str!("../../../../README.md");
    let section = readme
        .split("## Segments (definition format)")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap();
    let examples: Vec<&str> = section
        .split("```json\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect();
    assert_eq!(examples.len(), 3);
    for example in examples {
        Definition::parse(example).unwrap_or_else(|error| panic!("{example}: {error}"));
    }
}
