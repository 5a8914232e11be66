//! The campaign sender: claims due sends, renders each message for its recipient (personalization,
//! tracked links, the hidden trap link, the open pixel, the unsubscribe link) and hands it to the [`Mailer`]. A send is
//! marked as being handed over before the message leaves and as sent after, so a restart resumes
//! where it stopped and nobody gets a campaign twice (see [`super::interrupted`] for what a
//! stop leaves). Only a permanent refusal of the recipient marks the contact bounced on the
//! campaign's list; every other failure is retried with backoff, and those that are not the
//! recipient's count against the campaign, which is paused when they persist. Each failure is
//! logged at warn with the campaign, the send and the server's answer.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::stream::{self, StreamExt};
use tokio::sync::{watch, Notify};
use tracklane_core::cid::{LinkSubject, TokenKey, OPEN_PIXEL, TRAP_LINK, UNSUBSCRIBE};
use tracklane_core::contact::Contact;
use tracklane_core::ids::{AccountId, CampaignId, ContactId};
use tracklane_core::message::{Campaign, Message};
use tracklane_core::time::Timestamp;
use tracklane_store::email_settings::EmailSettings;
use tracklane_store::sends::{ClaimedSend, RecipientData, Recipients, SendOutcome};
use tracklane_store::Store;

use crate::health::{Heartbeats, GRACE};
use crate::mailer::compose::{compose, recipient, Tracking, Unsubscribe};
use crate::mailer::{backoff, message_id, DeliveryError, Envelope, Mailer};
use crate::state::Clock;

/// Sends claimed at once (a stop leaves at most this many "uncertain").
const CLAIM: i64 = 100;
/// Messages handed to the mailer at the same time (its SMTP pool keeps as many connections).
const IN_FLIGHT: usize = crate::mailer::SMTP_POOL_SIZE as usize;
/// How long the sender sleeps when there is nothing to send and nobody wakes it.
const IDLE: Duration = Duration::from_secs(1);

/// What one round of sends is made of (see [`Sender::read_round`]); a failed read is kept as
/// its error, for the sends it concerns.
#[derive(Default)]
struct Round {
    mails: HashMap<CampaignId, Result<CampaignMail, String>>,
    recipients: HashMap<AccountId, Result<Recipients, String>>,
}

/// A campaign's message and its account's email settings, read once per round.
struct CampaignMail {
    campaign: Campaign,
    message: Message,
    settings: EmailSettings,
}

/// The sender worker.
#[derive(Clone)]
pub struct Sender {
    pub(super) store: Store,
    pub(super) mailer: Mailer,
    pub(super) clock: Arc<dyn Clock>,
    token_key: TokenKey,
    public_url: String,
    wake: Arc<Notify>,
}

impl Sender {
    /// A sender over `store` delivering through `mailer`; `wake` cuts its idle sleep short.
    pub fn new(
        store: Store,
        mailer: Mailer,
        clock: Arc<dyn Clock>,
        token_key: TokenKey,
        public_url: String,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            mailer,
            clock,
            token_key,
            public_url,
            wake,
        }
    }

    /// Starts the scheduled campaigns that are due, then hands over one round of due sends, [`IN_FLIGHT`] at a time, and records how they went
    /// in one commit; returns how many. The messages handed over are sent at the round's start
    /// (a reader can open one only after that).
    #[tracing::instrument(name = "sender_round", skip_all)]
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        crate::campaigns::start_due(&self.store, now)
            .await
            .context("starting scheduled campaigns")?;
        let sends = self.store.claim_sends(CLAIM, now).await?;
        let round = self.read_round(&sends).await;
        let finished: Vec<(ClaimedSend, SendOutcome)> = stream::iter(sends.iter().cloned())
            .map(|send| self.hand_over(send, &round))
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let paused = self.store.finish_sends(&finished, now).await?;
        for campaign in paused {
            tracing::warn!(
                %campaign,
                "campaign paused: its deliveries keep failing for a reason that is not the \
                 recipients'; resume it once the cause is fixed"
            );
        }
        self.store.complete_campaigns(self.clock.now()).await?;
        Ok(sends.len())
    }

    /// What a round's messages are made of: each campaign's mail, read once, and the
    /// recipients, read in a few queries per account.
    async fn read_round(&self, sends: &[ClaimedSend]) -> Round {
        let mut round = Round::default();
        let mut contacts: HashMap<AccountId, Vec<ContactId>> = HashMap::new();
        for send in sends {
            contacts.entry(send.account).or_default().push(send.contact);
            if let Entry::Vacant(slot) = round.mails.entry(send.campaign) {
                slot.insert(self.campaign_mail(send).await.map_err(|e| format!("{e:#}")));
            }
        }
        for (account, contacts) in contacts {
            let read = self.store.recipients(account, &contacts).await;
            round
                .recipients
                .insert(account, read.map_err(|e| format!("{e:#}")));
        }
        round
    }

    /// Delivers `send` with what `round` read for it, and logs a failure. A message that could
    /// not be prepared is retried like a failure of the sending, except for a contact that is
    /// gone, which is a bounce.
    async fn hand_over(&self, send: ClaimedSend, round: &Round) -> (ClaimedSend, SendOutcome) {
        let recipient = match round.recipients.get(&send.account) {
            Some(Ok(recipients)) => match recipients.get(&send.contact) {
                Some(recipient) => Ok(recipient),
                // Deleted since the send was claimed: nobody to send to, and no bounce to
                // record on a timeline that is gone.
                None => return (send, SendOutcome::Dropped),
            },
            Some(Err(error)) => Err(error.clone()),
            None => Err("its recipients were not read".to_owned()),
        };
        let delivered = match (round.mails.get(&send.campaign), recipient) {
            (Some(Ok(mail)), Ok((contact, data))) => self
                .deliver(&send, mail, contact, data)
                .await
                .map_err(|e| format!("{e:#}")),
            (Some(Err(error)), _) => Err(error.clone()),
            (_, Err(error)) => Err(error),
            (None, _) => Err("its campaign was not read".to_owned()),
        };
        let outcome = delivered.unwrap_or_else(|error| SendOutcome::Failed {
            at: self.retry_at(&send),
            error: format!("could not be prepared: {error}"),
        });
        let outcome = self.logged(&send, outcome);
        (send, outcome)
    }

    /// When to try `send` again after it failed.
    fn retry_at(&self, send: &ClaimedSend) -> Timestamp {
        let attempt = u32::try_from(send.attempts).unwrap_or(u32::MAX);
        let delay = i64::try_from(backoff(attempt).as_micros()).unwrap_or(i64::MAX);
        Timestamp(self.clock.now().0.saturating_add(delay))
    }

    /// Logs a failed `outcome` at warn with its campaign, send and the server's answer (which
    /// never holds the SMTP URL or its credentials); answers it unchanged.
    fn logged(&self, send: &ClaimedSend, outcome: SendOutcome) -> SendOutcome {
        let (verdict, reply) = match &outcome {
            SendOutcome::Sent | SendOutcome::Dropped => return outcome,
            SendOutcome::Bounced { error } => ("bounced: the recipient is refused for good", error),
            SendOutcome::Deferred { error, .. } => {
                ("deferred: the recipient's mailbox refuses for now", error)
            }
            SendOutcome::Failed { error, .. } => (
                "failed, not because of the recipient: retried, and counted against the campaign",
                error,
            ),
        };
        tracing::warn!(
            campaign = %send.campaign,
            send = send.id,
            account = %send.account,
            attempt = send.attempts,
            reply = %reply,
            "delivery {verdict}"
        );
        outcome
    }

    /// What every recipient of the send's campaign gets alike.
    async fn campaign_mail(&self, send: &ClaimedSend) -> anyhow::Result<CampaignMail> {
        let campaign = self
            .store
            .existing_campaign(send.account, send.campaign)
            .await?;
        let message = self
            .store
            .existing_message(send.account, campaign.message)
            .await?;
        let settings = self.store.email_settings(send.account).await?;
        Ok(CampaignMail {
            campaign,
            message,
            settings,
        })
    }

    /// Settles sends a stopped node left half-done (see [`Sender::settle_interrupted`]), then
    /// sends until `stop` changes, beating in `health`.
    pub async fn run(self, mut stop: watch::Receiver<bool>, health: Heartbeats) {
        let heart = health.register("sender", GRACE);
        if let Err(error) = self.settle_interrupted().await {
            tracing::error!(error = ?error, "settling interrupted sends failed");
        }
        loop {
            heart.beat();
            let sent = match self.run_once().await {
                Ok(sent) => sent,
                Err(error) => {
                    tracing::error!(error = ?error, "sending failed");
                    0
                }
            };
            if sent > 0 {
                continue;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(IDLE) => {}
                _ = stop.changed() => return,
            }
        }
    }

    fn link_url(&self, send: &ClaimedSend, path: &str, target: i64) -> anyhow::Result<String> {
        let token = self
            .token_key
            .seal_link(LinkSubject {
                account: send.account,
                contact: send.contact,
                campaign: send.campaign,
                target,
            })
            .map_err(|_| anyhow::anyhow!("no randomness for a link token"))?;
        Ok(format!("{}/{path}/{token}", self.public_url))
    }

    async fn deliver(
        &self,
        send: &ClaimedSend,
        mail: &CampaignMail,
        contact: &Contact,
        data: &RecipientData,
    ) -> anyhow::Result<SendOutcome> {
        let CampaignMail {
            campaign,
            message,
            settings,
        } = mail;
        let recipient = recipient(contact, data);
        // A notification goes to a colleague, about the contact: its links are not the
        // contact's to unsubscribe with.
        let unsubscribe = match send.notify {
            Some(_) => None,
            None => Some(self.link_url(send, "u", UNSUBSCRIBE)?),
        };
        let tracking = if settings.track_links && campaign.track_links {
            Some(Tracking {
                link: &|position| {
                    self.link_url(send, "l", i64::try_from(position).unwrap_or(i64::MAX))
                },
                trap: if settings.scanner.trap_link {
                    Some(self.link_url(send, "l", TRAP_LINK)?)
                } else {
                    None
                },
                pixel: self.link_url(send, "o", OPEN_PIXEL)?,
            })
        } else {
            None
        };
        let composed = compose(
            message,
            &recipient,
            unsubscribe.as_deref().map(|url| Unsubscribe {
                url,
                footer: settings.footer(),
            }),
            tracking,
        )?;
        let envelope = Envelope {
            from_name: message.from_name.clone(),
            from_address: message.from_email.clone(),
            reply_to: Some(message.reply_to.clone()).filter(|r| !r.is_empty()),
            to: send.notify.clone().unwrap_or_else(|| contact.email.clone()),
            subject: composed.subject,
            html: composed.html,
            text: composed.text,
            list_unsubscribe: unsubscribe,
            message_id: Some(message_id::for_send(send.id, &message.from_email)?),
        };
        Ok(match self.mailer.send_envelope(&envelope).await {
            Ok(()) => SendOutcome::Sent,
            Err(DeliveryError::Bounce(error)) => SendOutcome::Bounced { error },
            Err(DeliveryError::Deferred(error)) => SendOutcome::Deferred {
                at: self.retry_at(send),
                error,
            },
            Err(DeliveryError::Sending(error)) => SendOutcome::Failed {
                at: self.retry_at(send),
                error,
            },
        })
    }
}
