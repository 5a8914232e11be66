//! Why a message was not delivered, and whether trying again can help.

use lettre::transport::smtp::response::Category;

/// A failed delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later (see [`super::backoff()`]): the server could not be reached or timed
    /// out, the connection or TLS broke, the server answered 4xx (greylisting, mailbox busy,
    /// try again later), the server refused our credentials (5.3.x: a configuration problem,
    /// not the recipient's), or the outbox folder could not be written.
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    /// Final for this recipient: the server answered 5xx (such as 550 unknown user) or the
    /// message could not be built (an invalid address). The recipient is to be marked bounced.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

impl DeliveryError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

impl From<lettre::transport::smtp::Error> for DeliveryError {
    /// Sorts an SMTP failure by lettre's reading of the reply code: only a 5xx reply is
    /// permanent, and of those not the authentication replies (530, 534, 535, 538), which say the
    /// sender's settings are wrong rather than the recipient's address. Every failure without a
    /// reply (connection, timeout, TLS, a garbled response) is transient.
    fn from(error: lettre::transport::smtp::Error) -> Self {
        let text = error.to_string();
        match error.status() {
            Some(code) if error.is_permanent() && code.category != Category::Unspecified3 => {
                Self::Permanent(text)
            }
            _ => Self::Transient(text),
        }
    }
}

impl From<lettre::transport::file::Error> for DeliveryError {
    /// Writing to the outbox failed (a full disk, a missing permission): transient.
    fn from(error: lettre::transport::file::Error) -> Self {
        Self::Transient(format!("writing to the outbox: {error}"))
    }
}
