//! One message to one recipient, from plain parts: the bridge between a rendered campaign
//! message and [`lettre::Message`].

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};

use super::DeliveryError;

/// `List-Unsubscribe` (RFC 2369).
const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
/// `List-Unsubscribe-Post` (RFC 8058, one-click unsubscribe).
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");

/// A message to one recipient, already personalized and with its links rewritten.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The sender's display name; empty for none.
    pub from_name: String,
    /// The sender's address.
    pub from_address: String,
    /// Where replies go, when not to the sender.
    pub reply_to: Option<String>,
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The HTML part.
    pub html: String,
    /// The plain-text part, for clients that do not show HTML.
    pub text: String,
    /// The contact's one-click unsubscribe URL (http or https). When given, the message carries
    /// `List-Unsubscribe: <url>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, so mail
    /// clients show an unsubscribe button that POSTs to it. RFC 8058 asks for https; mailbox
    /// providers ignore one-click on plain http.
    pub list_unsubscribe: Option<String>,
    /// The `Message-ID`, with or without its angle brackets (`<id@host>`); generated when `None`.
    pub message_id: Option<String>,
}

/// Why an [`Envelope`] cannot become a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// An address (`from`, `reply-to` or `to`) is not a valid email address.
    #[error("invalid {field} address {address:?}: {reason}")]
    Address {
        /// Which address: `from`, `reply-to` or `to`.
        field: &'static str,
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The unsubscribe URL is not an absolute http(s) URL.
    #[error("invalid unsubscribe URL {0:?}")]
    UnsubscribeUrl(String),
    /// lettre refused to build the message.
    #[error("building the message: {0}")]
    Message(String),
}

impl From<EnvelopeError> for DeliveryError {
    /// A message that cannot be built will never be delivered: a recipient address that is not
    /// one is a bounce; anything else (the sender's or reply-to address, the unsubscribe URL,
    /// the message itself) is the campaign's problem, not the recipient's.
    fn from(error: EnvelopeError) -> Self {
        match error {
            EnvelopeError::Address { field: "to", .. } => Self::Bounce(error.to_string()),
            _ => Self::Sending(error.to_string()),
        }
    }
}

impl Envelope {
    /// The message: `multipart/alternative` with the text part and then the HTML part (clients
    /// show the last one they understand), plus the unsubscribe headers when a URL is given.
    pub fn to_message(&self) -> Result<Message, EnvelopeError> {
        let from = Mailbox::new(
            Some(one_line(&self.from_name)).filter(|name| !name.is_empty()),
            address("from", &self.from_address)?,
        );
        let mut builder = Message::builder()
            .from(from)
            .to(Mailbox::new(None, address("to", &self.to)?))
            .subject(one_line(&self.subject))
            .message_id(self.message_id.as_deref().map(message_id));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(Mailbox::new(None, address("reply-to", reply_to)?));
        }
        if let Some(unsubscribe) = &self.list_unsubscribe {
            let url = unsubscribe_url(unsubscribe)?;
            builder = builder
                .raw_header(HeaderValue::new(LIST_UNSUBSCRIBE, format!("<{url}>")))
                .raw_header(HeaderValue::new(
                    LIST_UNSUBSCRIBE_POST,
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                self.text.clone(),
                self.html.clone(),
            ))
            .map_err(|error| EnvelopeError::Message(error.to_string()))
    }
}

/// Parses one address, naming the field when it is wrong.
fn address(field: &'static str, address: &str) -> Result<Address, EnvelopeError> {
    address.trim().parse().map_err(
        |error: lettre::address::AddressError| EnvelopeError::Address {
            field,
            address: address.to_owned(),
            reason: error.to_string(),
        },
    )
}

/// Header text on one line: line breaks become spaces, so a subject or name cannot add headers.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ").trim().to_owned()
}

/// A `Message-ID` in its `<...>` form, on one line.
fn message_id(id: &str) -> String {
    let id = one_line(id);
    if id.starts_with('<') && id.ends_with('>') {
        id
    } else {
        format!("<{}>", id.trim_matches(['<', '>']))
    }
}

/// The unsubscribe URL, checked to be absolute http(s) and serialized by the `url` crate (which
/// percent-encodes spaces and other characters that have no place in a header).
fn unsubscribe_url(text: &str) -> Result<url::Url, EnvelopeError> {
    match url::Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        _ => Err(EnvelopeError::UnsubscribeUrl(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            from_name: "Tracklane News".to_owned(),
            from_address: "news@example.com".to_owned(),
            reply_to: Some("help@example.com".to_owned()),
            to: "ada@example.org".to_owned(),
            subject: "Spring sale".to_owned(),
            html: "<p>Hello <a href=\"https://t.example/l/abc\">Ada</a></p>".to_owned(),
            text: "Hello Ada: https://t.example/l/abc".to_owned(),
            list_unsubscribe: Some("https://t.example/u/tok123".to_owned()),
            message_id: Some("m42.c7@t.example".to_owned()),
        }
    }

    fn formatted(envelope: &Envelope) -> String {
        String::from_utf8(envelope.to_message().unwrap().formatted()).unwrap()
    }

    #[test]
    fn the_message_has_both_parts_and_the_headers() {
        let raw = formatted(&envelope());
        assert!(
            raw.contains("From: \"Tracklane News\" <news@example.com>\r\n"),
            "{raw}"
        );
        assert!(raw.contains("Reply-To: help@example.com\r\n"), "{raw}");
        assert!(raw.contains("To: ada@example.org\r\n"), "{raw}");
        assert!(raw.contains("Subject: Spring sale\r\n"), "{raw}");
        assert!(raw.contains("Message-ID: <m42.c7@t.example>\r\n"), "{raw}");
        assert!(
            raw.contains("List-Unsubscribe: <https://t.example/u/tok123>\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("Content-Type: multipart/alternative;"),
            "{raw}"
        );
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );
        assert!(
            raw.contains("Content-Type: text/html; charset=utf-8"),
            "{raw}"
        );
        assert!(raw.contains("Hello Ada: https://t.example/l/abc"), "{raw}");
        assert!(
            raw.contains("<p>Hello <a href=\"https://t.example/l/abc\">Ada</a></p>"),
            "{raw}"
        );
        assert!(raw.find("text/plain") < raw.find("text/html"), "{raw}");
    }

    #[test]
    fn without_an_unsubscribe_url_there_are_no_list_headers() {
        let raw = formatted(&Envelope {
            list_unsubscribe: None,
            reply_to: None,
            from_name: String::new(),
            message_id: None,
            ..envelope()
        });
        assert!(!raw.contains("List-Unsubscribe"), "{raw}");
        assert!(!raw.contains("Reply-To"), "{raw}");
        assert!(raw.contains("From: news@example.com\r\n"), "{raw}");
        assert!(raw.contains("Message-ID: <"), "{raw}");
    }

    #[test]
    fn an_invalid_recipient_bounces_and_an_invalid_sender_is_the_campaigns_problem() {
        for (field, envelope) in [
            (
                "to",
                Envelope {
                    to: "not an address".to_owned(),
                    ..envelope()
                },
            ),
            (
                "from",
                Envelope {
                    from_address: "@".to_owned(),
                    ..envelope()
                },
            ),
            (
                "reply-to",
                Envelope {
                    reply_to: Some(String::new()),
                    ..envelope()
                },
            ),
        ] {
            let error = envelope.to_message().unwrap_err();
            assert!(
                matches!(&error, EnvelopeError::Address { field: f, .. } if *f == field),
                "{error}"
            );
            let delivery = DeliveryError::from(error);
            assert_eq!(delivery.is_bounce(), field == "to", "{delivery}");
            assert_eq!(delivery.is_sending(), field != "to", "{delivery}");
        }
    }

    #[test]
    fn the_unsubscribe_url_must_be_http() {
        for url in [
            "javascript:alert(1)",
            "mailto:x@example.com",
            "/u/relative",
            "",
        ] {
            let error = Envelope {
                list_unsubscribe: Some(url.to_owned()),
                ..envelope()
            }
            .to_message()
            .unwrap_err();
            assert_eq!(error, EnvelopeError::UnsubscribeUrl(url.to_owned()));
        }
    }

    #[test]
    fn line_breaks_cannot_add_headers() {
        let raw = formatted(&Envelope {
            subject: "Hi\r\nBcc: victim@example.com".to_owned(),
            from_name: "Eve\nX-Evil: 1".to_owned(),
            list_unsubscribe: Some("https://t.example/u/a b\r\nX-Evil: 2".to_owned()),
            ..envelope()
        });
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(!raw.contains("\nX-Evil"), "{raw}");
    }

    #[test]
    fn non_ascii_text_survives() {
        let raw = formatted(&Envelope {
            subject: "Grüße aus Köln".to_owned(),
            text: "Schöne Grüße".to_owned(),
            ..envelope()
        });
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
    }
}
