//! The changes that a contact's new timeline rows and segment transitions report: entering or
//! leaving a segment (`segment_entered`, `segment_left`, caused by the system, whether a round
//! of checks or a segment's computation found it); a page view (`site_visit`), an event
//! (`event_recorded`), a click or an open of a campaign (not a scanner's), a form submitted, a
//! bounce. Anonymous visitors' rows report
//! nothing (they have no contact yet).

use tracklane_core::event::{EventKind, NewEvent};
use tracklane_core::ids::ContactId;
use tracklane_core::webhook::event::{WebhookEvent, WebhookSource};

use super::changes::Change;
use crate::segments::members::Transition;

/// The changes of segment transitions.
pub(crate) fn transition_changes(transitions: &[Transition]) -> Vec<Change> {
    transitions
        .iter()
        .map(|transition| {
            let event = if transition.entered {
                WebhookEvent::SEGMENT_ENTERED
            } else {
                WebhookEvent::SEGMENT_LEFT
            };
            Change::new(
                transition.account,
                event,
                WebhookSource::System,
                transition.at,
            )
            .about(transition.contact)
            .of(transition.segment.0)
            .saying("segment[id]", transition.segment.0.to_string())
        })
        .collect()
}

/// The change `event`, recorded for `contact`, reports, with its message id (a retried message
/// reports nothing again).
pub(crate) fn timeline_change(
    event: &NewEvent,
    contact: Option<ContactId>,
) -> Option<(Change, Option<&str>)> {
    let contact = contact?;
    if event.link.as_ref().is_some_and(|hit| hit.machine.is_some()) {
        return None;
    }
    let campaign = || {
        event
            .link
            .as_ref()
            .map(|hit| ("campaign[id]".to_owned(), hit.campaign.0.to_string()))
    };
    let page = |key: &str| {
        event
            .page
            .as_ref()
            .map(|page| (key.to_owned(), page.url.clone()))
    };
    let (kind, source, extra): (WebhookEvent, WebhookSource, Vec<Option<(String, String)>>) =
        match event.kind {
            EventKind::PageVisit => (
                WebhookEvent::SITE_VISIT,
                WebhookSource::Public,
                vec![
                    page("visit[url]"),
                    event
                        .title
                        .as_ref()
                        .map(|title| ("visit[title]".to_owned(), title.clone())),
                    event
                        .referrer
                        .as_ref()
                        .map(|referrer| ("visit[referrer]".to_owned(), referrer.url.clone())),
                ],
            ),
            EventKind::Custom => (
                WebhookEvent::EVENT_RECORDED,
                WebhookSource::Public,
                vec![
                    Some(("event[name]".to_owned(), event.name.clone())),
                    event
                        .data
                        .as_ref()
                        .map(|data| ("event[data]".to_owned(), data.clone())),
                ],
            ),
            EventKind::Click => (
                WebhookEvent::CLICK,
                WebhookSource::Public,
                vec![campaign(), page("link[url]")],
            ),
            EventKind::Open => (WebhookEvent::OPEN, WebhookSource::Public, vec![campaign()]),
            EventKind::FormSubmit => (
                WebhookEvent::FORM_SUBMIT,
                WebhookSource::Public,
                vec![Some(("form[name]".to_owned(), event.name.clone()))],
            ),
            EventKind::Bounce => (
                WebhookEvent::BOUNCE,
                WebhookSource::System,
                vec![campaign()],
            ),
            // An unsubscribe is reported with the list it changed (see `Store::set_list_status`).
            EventKind::Unsubscribe | EventKind::ScoreChange | EventKind::Automation => return None,
        };
    let mut change = Change::new(event.account, kind, source, event.occurred_at).about(contact);
    change.extra = extra.into_iter().flatten().collect();
    Some((change, event.message_id.as_deref()))
}
