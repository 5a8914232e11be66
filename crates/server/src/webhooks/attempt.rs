//! One attempt at a delivery: the body POSTed to the receiver with the Standard Webhooks
//! headers (`webhook-id`, the same for every attempt of a delivery so that a receiver can drop
//! repeats; `webhook-timestamp`; `webhook-signature`, HMAC-SHA256 by the `standardwebhooks`
//! crate), within a deadline, following no redirect, reading at most [`EXCERPT_BYTES`] of the
//! answer. What the answer means:
//!
//! - 2xx: delivered;
//! - 410 Gone: the receiver wants no more (the subscription is disabled, as AC does);
//! - 429, 408 and 5xx, a network error or the deadline: tried again (honouring `Retry-After`);
//! - any other answer (other 4xx, a redirect), or a receiver that may not be reached now: the
//!   delivery failed, and is not tried again.

use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use standardwebhooks::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP};
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::receiver::ReceiverUrl;

use super::receiver::{check_host, CheckedResolver, Unreachable};
use crate::workers::webhooks::shares::HOST_IN_FLIGHT;

/// How much of a receiver's answer is kept for the delivery log.
pub const EXCERPT_BYTES: usize = 512;

/// The user agent of deliveries.
const AGENT: &str = concat!("Tracklane-Webhooks/", env!("CARGO_PKG_VERSION"));

/// What one attempt sends.
pub struct Outgoing<'a> {
    /// The delivery's id (`webhook-id`), the same for each of its attempts.
    pub message_id: &'a str,
    /// The receiver's URL.
    pub url: &'a str,
    /// The body's media type.
    pub content_type: &'a str,
    /// The body.
    pub body: &'a str,
    /// The subscription's signing secret.
    pub secret: &'a SecretString,
}

/// What came of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver took it (2xx).
    Delivered {
        /// The status code.
        status: u16,
        /// The start of its answer.
        excerpt: String,
    },
    /// To be tried again.
    Retry {
        /// The status code, when the receiver answered.
        status: Option<u16>,
        /// How long the receiver asked to wait (`Retry-After`).
        retry_after: Option<Duration>,
        /// The answer's start, or what failed.
        detail: String,
    },
    /// The receiver answered 410 Gone: it wants no more deliveries.
    Gone {
        /// The start of its answer.
        excerpt: String,
    },
    /// Failed for good.
    Failed {
        /// The status code, when the receiver answered.
        status: Option<u16>,
        /// The answer's start, or why it was not sent.
        detail: String,
    },
}

/// Makes attempts: one HTTP client whose resolver checks every address it connects to.
#[derive(Debug, Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    allow_private: bool,
}

impl Deliverer {
    /// A deliverer whose attempts end after `deadline`; `allow_private` lets private
    /// receivers be reached (development, tests).
    pub fn new(allow_private: bool, deadline: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .timeout(deadline)
            .connect_timeout(deadline)
            .pool_max_idle_per_host(HOST_IN_FLIGHT)
            .dns_resolver(CheckedResolver::shared(allow_private))
            .build()?;
        Ok(Self {
            client,
            allow_private,
        })
    }

    /// Makes one attempt at `now`.
    pub async fn attempt(&self, outgoing: &Outgoing<'_>, now: Timestamp) -> Outcome {
        let receiver = match ReceiverUrl::parse(outgoing.url) {
            Ok(receiver) => receiver,
            Err(invalid) => return failed(invalid.to_string()),
        };
        // An address (or `localhost`) is judged here; a name, by the client's resolver.
        if let Some(Err(refused)) = check_host(&receiver, self.allow_private) {
            return unreachable(&refused);
        }
        let timestamp = now.0.div_euclid(1_000_000);
        let signature = match standardwebhooks::Webhook::new(outgoing.secret.expose_secret())
            .and_then(|signer| {
                signer.sign(outgoing.message_id, timestamp, outgoing.body.as_bytes())
            }) {
            Ok(signature) => signature,
            Err(error) => return failed(format!("signing failed: {error}")),
        };
        let sent = self
            .client
            .post(&receiver.url)
            .header(CONTENT_TYPE, outgoing.content_type)
            .header(USER_AGENT, AGENT)
            .header(HEADER_WEBHOOK_ID, outgoing.message_id)
            .header(HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(HEADER_WEBHOOK_SIGNATURE, signature)
            .body(outgoing.body.to_owned())
            .send()
            .await;
        match sent {
            Ok(response) => judge(response).await,
            Err(error) => match resolver_refusal(&error) {
                Some(refused) => unreachable(refused),
                None => retry(None, None, describe(&error)),
            },
        }
    }
}

/// What an answer means.
async fn judge(response: Response) -> Outcome {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| retry_after(value, std::time::SystemTime::now()));
    let excerpt = excerpt(response).await;
    let code = Some(status.as_u16());
    if status.is_success() {
        Outcome::Delivered {
            status: status.as_u16(),
            excerpt,
        }
    } else if status == StatusCode::GONE {
        Outcome::Gone { excerpt }
    } else if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        retry(code, retry_after, excerpt)
    } else if status.is_redirection() {
        Outcome::Failed {
            status: code,
            detail: format!("redirects are not followed; {excerpt}"),
        }
    } else {
        Outcome::Failed {
            status: code,
            detail: excerpt,
        }
    }
}

/// The first [`EXCERPT_BYTES`] of an answer's body, as text (what arrives before the
/// deadline).
async fn excerpt(mut response: Response) -> String {
    let mut kept = Vec::new();
    while kept.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    kept.truncate(EXCERPT_BYTES);
    String::from_utf8_lossy(&kept).into_owned()
}

/// A `Retry-After` of seconds, or of an HTTP date (from `now`).
fn retry_after(value: &HeaderValue, now: std::time::SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What a request error was, without its URL.
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "the receiver did not answer in time"
    } else if error.is_connect() {
        "the receiver could not be connected to"
    } else {
        "the request failed"
    };
    let mut detail = what.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    detail
}

/// Why the resolver would not connect to the receiver, if that is why the request failed.
fn resolver_refusal(error: &reqwest::Error) -> Option<&Unreachable> {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(unreachable) = cause.downcast_ref::<Unreachable>() {
            return Some(unreachable);
        }
        source = cause.source();
    }
    None
}

/// A receiver that does not resolve is tried again; one that may not be reached has failed.
fn unreachable(why: &Unreachable) -> Outcome {
    match why {
        Unreachable::Unresolved(invalid) => retry(None, None, invalid.to_string()),
        Unreachable::Refused(invalid) => failed(invalid.to_string()),
    }
}

fn retry(status: Option<u16>, retry_after: Option<Duration>, detail: String) -> Outcome {
    Outcome::Retry {
        status,
        retry_after,
        detail,
    }
}

fn failed(detail: String) -> Outcome {
    Outcome::Failed {
        status: None,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let seconds = HeaderValue::from_static("120");
        assert_eq!(retry_after(&seconds, now), Some(Duration::from_secs(120)));
        let date =
            HeaderValue::from_str(&httpdate::fmt_http_date(now + Duration::from_secs(30))).unwrap();
        assert_eq!(retry_after(&date, now), Some(Duration::from_secs(30)));
        let past =
            HeaderValue::from_str(&httpdate::fmt_http_date(now - Duration::from_secs(30))).unwrap();
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(retry_after(&HeaderValue::from_static("soon"), now), None);
    }
}
