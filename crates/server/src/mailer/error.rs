//! Why a message was not delivered, and whose problem that is: the recipient's (a bounce, or a
//! mailbox refusing for now) or the sending's (everything else, which must never bounce a list).
//!
//! A negative SMTP reply is read by its RFC 3463 enhanced status code when it has one (`5.1.1`,
//! the first word of the reply's text, of the same class as the reply code), else by its reply
//! code:
//!
//! | reply | meaning | verdict |
//! |---|---|---|
//! | `5.1.x` (not `5.1.7`, `5.1.8`) | bad destination address | [`DeliveryError::Bounce`] |
//! | `5.2.x` (not `5.2.3`) | recipient's mailbox disabled, full, unknown | [`DeliveryError::Bounce`] |
//! | `4.1.x` (not `4.1.7`, `4.1.8`), `4.2.x` (not `4.2.3`) | mailbox busy or full for now | [`DeliveryError::Deferred`] |
//! | `x.1.7`, `x.1.8` | the sender's address | [`DeliveryError::Sending`] |
//! | `x.2.3` | message too large for the mailbox | [`DeliveryError::Sending`] |
//! | `x.3.x`, `x.4.x`, `x.5.x`, `x.6.x`, `x.7.x`, `x.0.x` | mail system, network, protocol, message content, policy and security (auth, relaying) | [`DeliveryError::Sending`] |
//! | `550`, `551`, `553` without an enhanced code | mailbox unavailable, not local, name not allowed | [`DeliveryError::Bounce`] |
//! | `450` without an enhanced code | mailbox unavailable for now | [`DeliveryError::Deferred`] |
//! | any other `4xx` or `5xx` without an enhanced code (`500`-`504` syntax, `530`/`535` authentication, `552` size, `554` failed, `421`, `451`, `452`) | | [`DeliveryError::Sending`] |
//! | no reply (connection refused, timeout, TLS, a garbled answer) | | [`DeliveryError::Sending`] |

use std::error::Error as _;

/// A failed delivery, with the server's answer (or what went wrong) as text. The text never
/// holds the SMTP URL or its credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Refused for good because of the recipient: its address or mailbox (such as `550 5.1.1`
    /// unknown user at `RCPT TO`), or an address that is not one. The recipient is to be
    /// marked bounced.
    #[error("bounced: {0}")]
    Bounce(String),
    /// Refused for now because of the recipient's mailbox (busy, over quota for now): to be
    /// retried later (see [`super::backoff()`]). Says nothing about the campaign.
    #[error("deferred: {0}")]
    Deferred(String),
    /// Not the recipient's fault: the connection, the sender (authentication, relaying, policy),
    /// the message (content, size) or the mail server (syntax, failure, unavailable), or the
    /// outbox folder. To be retried later; when it persists the campaign, not the recipient,
    /// has the problem.
    #[error("not delivered: {0}")]
    Sending(String),
}

impl DeliveryError {
    /// The error for a negative reply: its three-digit `code` and its `text` (which may start
    /// with an enhanced status code), read as the table of this module says.
    pub fn from_reply(code: u16, text: &str) -> Self {
        let reply = format!("{code} {text}").trim_end().to_owned();
        let class = code / 100;
        let verdict = match enhanced_status(class, text) {
            Some((_, 1, 7 | 8) | (_, 2, 3)) => Verdict::Sending,
            Some((5, 1 | 2, _)) => Verdict::Bounce,
            Some((4, 1 | 2, _)) => Verdict::Deferred,
            Some(_) => Verdict::Sending,
            None => match code {
                550 | 551 | 553 => Verdict::Bounce,
                450 => Verdict::Deferred,
                _ => Verdict::Sending,
            },
        };
        match verdict {
            Verdict::Bounce => Self::Bounce(reply),
            Verdict::Deferred => Self::Deferred(reply),
            Verdict::Sending => Self::Sending(reply),
        }
    }

    /// Whether the recipient is to be marked bounced.
    pub fn is_bounce(&self) -> bool {
        matches!(self, Self::Bounce(_))
    }

    /// Whether the failure is the sending's rather than the recipient's.
    pub fn is_sending(&self) -> bool {
        matches!(self, Self::Sending(_))
    }

    /// The server's answer, or what went wrong.
    pub fn reply(&self) -> &str {
        match self {
            Self::Bounce(reply) | Self::Deferred(reply) | Self::Sending(reply) => reply,
        }
    }
}

/// Whose problem a reply is.
enum Verdict {
    Bounce,
    Deferred,
    Sending,
}

/// The enhanced status code (`class.subject.detail`) that starts `text`, when it has one of
/// the reply code's `class` (RFC 3463; RFC 2034 asks them to agree, and one that does not is
/// not trusted).
fn enhanced_status(class: u16, text: &str) -> Option<(u16, u16, u16)> {
    let word = text.split_whitespace().next()?;
    let mut parts = word.splitn(3, '.').map(|part| {
        (1..=3)
            .contains(&part.len())
            .then(|| part.parse::<u16>().ok())
            .flatten()
    });
    let (found, subject, detail) = (parts.next()??, parts.next()??, parts.next()??);
    (found == class).then_some((found, subject, detail))
}

impl From<lettre::transport::smtp::Error> for DeliveryError {
    /// A negative reply is read by [`DeliveryError::from_reply`]; every failure without one
    /// (connection, timeout, TLS, a garbled response, the client refusing) is the sending's.
    fn from(error: lettre::transport::smtp::Error) -> Self {
        match error.status() {
            Some(code) => {
                let number = u16::from(code.severity as u8) * 100
                    + u16::from(code.category as u8) * 10
                    + u16::from(code.detail as u8);
                let text = error.source().map(ToString::to_string).unwrap_or_default();
                Self::from_reply(number, &text)
            }
            None => Self::Sending(error.to_string()),
        }
    }
}

impl From<lettre::transport::file::Error> for DeliveryError {
    /// Writing to the outbox failed (a full disk, a missing permission): the sending's.
    fn from(error: lettre::transport::file::Error) -> Self {
        Self::Sending(format!("writing to the outbox: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of the module's table, and a few real servers' answers.
    #[test]
    fn replies_are_sorted_by_whose_problem_they_are() {
        let bounce = "bounce";
        let deferred = "deferred";
        let sending = "sending";
        let table = [
            // The recipient's address or mailbox, for good.
            (
                550,
                "5.1.1 <ada@example.org>: Recipient address rejected: User unknown",
                bounce,
            ),
            (
                550,
                "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found",
                bounce,
            ),
            (554, "5.1.1 unknown user", bounce),
            (552, "5.2.2 mailbox full", bounce),
            (
                550,
                "5.2.1 The email account that you tried to reach is disabled.",
                bounce,
            ),
            (550, "no such user here", bounce),
            (551, "user not local", bounce),
            (553, "mailbox name not allowed", bounce),
            // The recipient's mailbox, for now.
            (450, "4.2.1 mailbox busy", deferred),
            (452, "4.2.2 over quota", deferred),
            (450, "mailbox unavailable", deferred),
            // The sender.
            (530, "5.7.0 Authentication required", sending),
            (535, "5.7.8 Username and Password not accepted", sending),
            (550, "5.7.1 Relaying denied", sending),
            (554, "5.7.1 Message rejected as spam", sending),
            (553, "5.1.8 sender address domain not found", sending),
            (550, "5.1.7 bad sender's mailbox address syntax", sending),
            (535, "authentication failed", sending),
            // The message.
            (552, "5.3.4 Message size exceeds fixed limit", sending),
            (
                552,
                "5.2.3 message length exceeds administrative limit",
                sending,
            ),
            (554, "5.6.0 message content rejected", sending),
            (552, "message too large", sending),
            // The server.
            (500, "syntax error, command unrecognized", sending),
            (500, "5.5.2 syntax error", sending),
            (501, "syntax error in parameters", sending),
            (502, "command not implemented", sending),
            (503, "bad sequence of commands", sending),
            (504, "parameter not implemented", sending),
            (554, "transaction failed", sending),
            (554, "5.3.0 mail system failure", sending),
            (550, "5.4.4 unable to route", sending),
            (421, "4.3.2 service not available, closing channel", sending),
            (451, "4.3.0 local error in processing", sending),
            (451, "4.7.1 greylisted, try again later", sending),
            (452, "insufficient system storage", sending),
            // An enhanced code of another class than the reply's is not trusted.
            (550, "4.1.1 odd", bounce),
            (550, "5.x.1 not a code", bounce),
            (550, "5.1234.1 not a code", bounce),
            (550, "", bounce),
            (554, "", sending),
        ];
        for (code, text, expected) in table {
            let error = DeliveryError::from_reply(code, text);
            let verdict = match error {
                DeliveryError::Bounce(_) => bounce,
                DeliveryError::Deferred(_) => deferred,
                DeliveryError::Sending(_) => sending,
            };
            assert_eq!(verdict, expected, "{code} {text}");
            assert_eq!(error.reply(), format!("{code} {text}").trim_end());
        }
    }

    #[test]
    fn only_a_bounce_bounces_and_only_the_sendings_failures_count_against_a_campaign() {
        let bounce = DeliveryError::from_reply(550, "5.1.1 unknown");
        let deferred = DeliveryError::from_reply(450, "4.2.1 busy");
        let server = DeliveryError::from_reply(500, "syntax");
        assert!(bounce.is_bounce() && !bounce.is_sending());
        assert!(!deferred.is_bounce() && !deferred.is_sending());
        assert!(!server.is_bounce() && server.is_sending());
        assert_eq!(server.to_string(), "not delivered: 500 syntax");
    }
}
