//! A message's subject, HTML and text for one recipient: personalized, its links tracked (for a
//! campaign's send), the unsubscribe link in place (or the account's footer holding it), and a
//! text part generated from the HTML when the message has none. The sender, the preview and
//! the test send all compose through here, so that what a marketer previews is what is sent.

use std::collections::HashSet;

use anyhow::Context;
use tracklane_core::contact::Contact;
use tracklane_core::email_body::{
    html_with_footer, text_from_html, text_with_footer, UNSUBSCRIBE_TAG,
};
use tracklane_core::links::{add_open_pixel, add_trap_link, rewrite_links};
use tracklane_core::message::Message;
use tracklane_core::template::{render, Part, Recipient};
use tracklane_store::sends::RecipientData;

/// How a campaign's send tracks its recipient.
pub struct Tracking<'a> {
    /// The tracked URL of the message's link at a position.
    pub link: &'a dyn Fn(usize) -> anyhow::Result<String>,
    /// The hidden link only scanners follow, when the account's rules set one.
    pub trap: Option<String>,
    /// The open pixel's URL.
    pub pixel: String,
}

/// Where the recipient unsubscribes, and the footer that holds the link when the message has
/// no `%UNSUBSCRIBELINK%` of its own.
#[derive(Debug, Clone, Copy)]
pub struct Unsubscribe<'a> {
    /// The recipient's unsubscribe URL.
    pub url: &'a str,
    /// The account's footer.
    pub footer: &'a str,
}

/// A composed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// The subject line.
    pub subject: String,
    /// The HTML part.
    pub html: String,
    /// The plain-text part.
    pub text: String,
}

/// What a message knows of a contact.
pub fn recipient(contact: &Contact, data: &RecipientData) -> Recipient {
    Recipient {
        attributes: [
            ("FIRSTNAME", &contact.first_name),
            ("LASTNAME", &contact.last_name),
            ("EMAIL", &contact.email),
            ("PHONE", &contact.phone),
        ]
        .into_iter()
        .map(|(tag, value)| (tag.to_owned(), value.clone()))
        .collect(),
        fields: data.fields.clone(),
        tags: data.tags.iter().cloned().collect::<HashSet<_>>(),
        events: data.events.clone(),
    }
}

/// `message` for `recipient`. Without `unsubscribe` (a notification to a colleague, about a
/// contact) `%UNSUBSCRIBELINK%` is removed and no footer is added. Tracked links are written
/// before the footer goes in, so the unsubscribe link is never a tracked link; the text part is
/// generated before the trap link and the pixel go in, so a reader of the text never meets them.
pub fn compose(
    message: &Message,
    recipient: &Recipient,
    unsubscribe: Option<Unsubscribe<'_>>,
    tracking: Option<Tracking<'_>>,
) -> anyhow::Result<Composed> {
    let mut html = message.html.clone();
    if let Some(tracking) = &tracking {
        if !html.is_empty() {
            html = tracked_links(&html, tracking.link)?;
        }
    }
    let generate_text = message.text.trim().is_empty();
    let mut text = message.text.clone();
    if let Some(unsubscribe) = unsubscribe {
        if !html.is_empty() {
            html = html_with_footer(&html, unsubscribe.footer);
        }
        if !generate_text {
            text = text_with_footer(&text, unsubscribe.footer);
        }
    }
    let link = unsubscribe.map_or("", |u| u.url);
    let html = html.replace(UNSUBSCRIBE_TAG, link);
    let mut html = if html.is_empty() {
        html
    } else {
        render(&html, recipient, Part::Html)
    };
    let text = if generate_text {
        text_from_html(&html)
    } else {
        render(&text.replace(UNSUBSCRIBE_TAG, link), recipient, Part::Text)
    };
    if let Some(tracking) = tracking {
        if !html.is_empty() {
            if let Some(trap) = &tracking.trap {
                html = add_trap_link(&html, trap).context("adding the trap link")?;
            }
            html = add_open_pixel(&html, &tracking.pixel).context("adding the open pixel")?;
        }
    }
    Ok(Composed {
        subject: render(&message.subject, recipient, Part::Text),
        html,
        text,
    })
}

/// `html` with each link's URL replaced by its tracked URL.
fn tracked_links(
    html: &str,
    link: &dyn Fn(usize) -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    let mut failed = None;
    let html = rewrite_links(html, |found| {
        link(found.position).unwrap_or_else(|error| {
            failed = Some(error);
            found.url.clone()
        })
    })
    .context("rewriting the message's links")?;
    match failed {
        Some(error) => Err(error),
        None => Ok(html),
    }
}
