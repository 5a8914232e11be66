//! Mail delivery: over SMTP when a server is configured, otherwise as `.eml` files in the outbox
//! folder, so a fresh install sends (to disk) without any setup.
//!
//! This module delivers one message and says how it went; deciding what to do about a failure
//! is the caller's: a [`DeliveryError::Bounce`] marks the recipient bounced, the others are
//! retried after [`backoff()`], and [`DeliveryError::Sending`] ones count against the campaign.
//!
//! # Layout
//! - [`envelope`]: one message to one recipient from plain parts, with the one-click
//!   unsubscribe headers.
//! - [`error`]: whose problem a failure is (the recipient's or the sending's), from the SMTP
//!   reply's enhanced status code or reply code.
//! - [`message_id`]: the `Message-ID` that names the send it delivers.
//! - [`outbox`]: what a stop left in the outbox folder.
//! - [`rate`]: the per-node sending rate.
//! - [`backoff`](mod@backoff): the retry delays.

pub mod backoff;
pub mod compose;
pub mod envelope;
pub mod error;
pub mod message_id;
pub mod outbox;
pub mod rate;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

pub use backoff::backoff;
pub use envelope::{Envelope, EnvelopeError};
pub use error::DeliveryError;
pub use outbox::OutboxSweep;
pub use rate::RateLimit;

use outbox::PARTIAL_DIR;

use crate::config::Settings;

/// Most SMTP connections one node keeps open.
pub const SMTP_POOL_SIZE: u32 = 8;
/// How long an unused pooled SMTP connection stays open.
pub const SMTP_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one SMTP command may take before the attempt counts as a (transient) failure.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends messages. Cheap to clone; clones share the SMTP connection pool and the rate limit.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    rate: RateLimit,
    /// When this mailer was made: the outbox's sweep leaves the files written since.
    created: SystemTime,
}

/// Where messages go.
#[derive(Clone)]
enum Transport {
    /// An SMTP server, through a pool of connections.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in a folder.
    Outbox {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
}

impl Mailer {
    /// The mailer the settings describe: SMTP at [`Settings::smtp_url`] when set, sending at
    /// most [`Settings::smtp_rate`] messages per second, otherwise the outbox folder
    /// [`Settings::outbox_dir`] (created if missing). Call it inside the Tokio runtime (see
    /// [`Mailer::smtp`]).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.smtp_url {
            Some(url) => Self::smtp(url, settings.smtp_rate),
            None => Self::outbox(&settings.outbox_dir),
        }
    }

    /// A mailer sending through the SMTP server at `url`, in lettre's URL form:
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS, refusing to go on without it),
    /// `smtp://host:587?tls=opportunistic` (STARTTLS when offered), `smtps://user:pass@host`
    /// (TLS from the first byte, port 465 by default) or `smtp://host:25` (no TLS at all). The
    /// user and password, percent-encoded, enable AUTH; a path (`smtp://host/name`) sets the EHLO
    /// name. Connections are pooled ([`SMTP_POOL_SIZE`]) and reused.
    ///
    /// Call it inside the Tokio runtime: lettre's pool spawns its idle-connection reaper here
    /// (outside a runtime it panics).
    pub fn smtp(url: &SecretString, per_second: u32) -> anyhow::Result<Self> {
        // lettre's URL errors never repeat the URL, so the password stays out of the message.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .context("reading the SMTP URL (smtp[s]://user:pass@host:port?tls=required)")?
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(
                PoolConfig::new()
                    .max_size(SMTP_POOL_SIZE)
                    .idle_timeout(SMTP_IDLE_TIMEOUT),
            )
            .build();
        Ok(Self {
            transport: Transport::Smtp(transport),
            rate: RateLimit::per_second(per_second),
            created: SystemTime::now(),
        })
    }

    /// A mailer writing each message as `<uuid>.eml` into `dir`, created if missing. A message
    /// is written into `dir/.partial` first and moved into `dir` once whole, so that whoever
    /// reads the outbox never sees half a message. No rate limit: there is no server to protect.
    pub fn outbox(dir: &Path) -> anyhow::Result<Self> {
        let partial = dir.join(PARTIAL_DIR);
        std::fs::create_dir_all(&partial)
            .with_context(|| format!("creating the outbox folder {}", partial.display()))?;
        tempfile::tempfile_in(&partial)
            .with_context(|| format!("writing into the outbox folder {}", partial.display()))?;
        Ok(Self {
            transport: Transport::Outbox {
                transport: AsyncFileTransport::new(&partial),
                dir: dir.to_owned(),
            },
            rate: RateLimit::per_second(0),
            created: SystemTime::now(),
        })
    }

    /// The outbox folder, when this mailer writes files rather than talking SMTP.
    pub fn outbox_dir(&self) -> Option<&Path> {
        match &self.transport {
            Transport::Smtp(_) => None,
            Transport::Outbox { dir, .. } => Some(dir),
        }
    }

    /// Delivers one message, after waiting for a slot under the rate limit. The envelope
    /// (`MAIL FROM` / `RCPT TO`) comes from the message's `From` and `To` headers.
    #[tracing::instrument(skip_all, fields(transport = self.kind()))]
    pub async fn send(&self, message: Message) -> Result<(), DeliveryError> {
        self.rate.wait().await;
        let result = match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(Into::into),
            Transport::Outbox { transport, dir } => match transport.send(message).await {
                Ok(id) => {
                    let name = format!("{id}.eml");
                    tokio::fs::rename(dir.join(PARTIAL_DIR).join(&name), dir.join(&name))
                        .await
                        .map_err(|error| {
                            DeliveryError::Sending(format!("moving into the outbox: {error}"))
                        })
                }
                Err(error) => Err(error.into()),
            },
        };
        if let Err(error) = &result {
            tracing::debug!(%error, "delivery failed");
        }
        result
    }

    /// Builds the message from `envelope` and delivers it; an envelope that cannot become a
    /// message fails as [`EnvelopeError`]'s conversion says (a bad recipient address bounces).
    pub async fn send_envelope(&self, envelope: &Envelope) -> Result<(), DeliveryError> {
        self.send(envelope.to_message()?).await
    }

    /// With the outbox transport, finds which of the `wanted` sends have their message whole in
    /// the outbox or only half-written in `.partial`, and removes the files of `.partial` written
    /// before this mailer was made (see [`outbox::sweep`]); `None` over SMTP, where what a stop left cannot be known. Run at
    /// start, before sending.
    pub async fn sweep_outbox(&self, wanted: HashSet<i64>) -> anyhow::Result<Option<OutboxSweep>> {
        let Some(dir) = self.outbox_dir().map(Path::to_owned) else {
            return Ok(None);
        };
        let left_before = self.created;
        let swept = tokio::task::spawn_blocking(move || outbox::sweep(&dir, &wanted, left_before))
            .await
            .context("sweeping the outbox")?
            .context("sweeping the outbox")?;
        Ok(Some(swept))
    }

    /// `smtp` or `outbox`, for logs.
    fn kind(&self) -> &'static str {
        match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Outbox { .. } => "outbox",
        }
    }
}

impl fmt::Debug for Mailer {
    /// Names the transport only: the SMTP transport holds the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Mailer");
        debug.field("transport", &self.kind());
        if let Some(dir) = self.outbox_dir() {
            debug.field("outbox_dir", &dir);
        }
        debug.finish_non_exhaustive()
    }
}
