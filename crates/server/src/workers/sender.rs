//! The campaign sender: claims due sends, renders each message for its recipient (personalization,
//! tracked links, the hidden trap link, the open pixel, the unsubscribe link) and hands it to the [`Mailer`]. A send is
//! marked as being handed over before the message leaves and as sent after, so a restart resumes
//! where it stopped and nobody gets a campaign twice. Transient failures are retried with
//! backoff; permanent ones mark the contact bounced on the campaign's list.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::stream::{self, StreamExt};
use tokio::sync::{watch, Notify};
use tracklane_core::cid::{LinkSubject, TokenKey, OPEN_PIXEL, TRAP_LINK, UNSUBSCRIBE};
use tracklane_core::contact::Contact;
use tracklane_core::ids::{AccountId, CampaignId, ContactId};
use tracklane_core::links::{add_open_pixel, add_trap_link, rewrite_links};
use tracklane_core::message::{Campaign, Message};
use tracklane_core::template::{render, Part, Recipient};
use tracklane_core::time::Timestamp;
use tracklane_store::email_settings::EmailSettings;
use tracklane_store::sends::{RecipientData, Recipients, Send, SendOutcome};
use tracklane_store::Store;

use crate::mailer::{backoff, Envelope, Mailer};
use crate::state::Clock;

/// Sends claimed at once (a stop leaves at most this many "uncertain").
const CLAIM: i64 = 100;
/// Messages handed to the mailer at the same time (its SMTP pool keeps as many connections).
const IN_FLIGHT: usize = crate::mailer::SMTP_POOL_SIZE as usize;
/// How long the sender sleeps when there is nothing to send and nobody wakes it.
const IDLE: Duration = Duration::from_secs(1);
/// The merge tag replaced by the recipient's unsubscribe link.
pub const UNSUBSCRIBE_TAG: &str = "%UNSUBSCRIBELINK%";

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
    store: Store,
    mailer: Mailer,
    clock: Arc<dyn Clock>,
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

    /// Hands over one round of due sends, [`IN_FLIGHT`] at a time, and records how they went
    /// in one commit; returns how many.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let sends = self.store.claim_sends(CLAIM, self.clock.now()).await?;
        let round = self.read_round(&sends).await;
        let finished: Vec<(Send, SendOutcome)> = stream::iter(sends.iter().copied())
            .map(|send| self.hand_over(send, &round))
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        self.store.finish_sends(&finished, self.clock.now()).await?;
        self.store.complete_campaigns(self.clock.now()).await?;
        Ok(sends.len())
    }

    /// What a round's messages are made of: each campaign's mail, read once, and the
    /// recipients, read in a few queries per account.
    async fn read_round(&self, sends: &[Send]) -> Round {
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

    /// Delivers `send` with what `round` read for it; a message that could not be prepared is
    /// a bounce.
    async fn hand_over(&self, send: Send, round: &Round) -> (Send, SendOutcome) {
        let recipient = match round.recipients.get(&send.account) {
            Some(Ok(recipients)) => recipients
                .get(&send.contact)
                .ok_or_else(|| "the contact is gone".to_owned()),
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
        let outcome = delivered.unwrap_or_else(|error| SendOutcome::Bounced {
            error: format!("could not be prepared: {error}"),
        });
        (send, outcome)
    }

    /// What every recipient of the send's campaign gets alike.
    async fn campaign_mail(&self, send: &Send) -> anyhow::Result<CampaignMail> {
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

    /// Settles sends a stopped node left half-done, then sends until `stop` changes.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        match self.store.settle_interrupted_sends().await {
            Ok(0) => {}
            Ok(settled) => {
                tracing::warn!(settled, "sends interrupted by a stop are not sent again")
            }
            Err(error) => tracing::error!(error = ?error, "settling interrupted sends failed"),
        }
        loop {
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

    fn link_url(&self, send: &Send, path: &str, target: i64) -> anyhow::Result<String> {
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
        send: &Send,
        mail: &CampaignMail,
        contact: &Contact,
        data: &RecipientData,
    ) -> anyhow::Result<SendOutcome> {
        let CampaignMail {
            campaign,
            message,
            settings,
        } = mail;
        let recipient = Recipient {
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
        };
        let unsubscribe = self.link_url(send, "u", UNSUBSCRIBE)?;
        let mut html = message.html.clone();
        if settings.track_links && campaign.track_links && !html.is_empty() {
            let mut failed = None;
            html = rewrite_links(&html, |link| {
                let target = i64::try_from(link.position).unwrap_or(i64::MAX);
                self.link_url(send, "l", target).unwrap_or_else(|error| {
                    failed = Some(error);
                    link.url.clone()
                })
            })
            .context("rewriting the message's links")?;
            if let Some(error) = failed {
                return Err(error);
            }
            if settings.scanner.trap_link {
                let trap = self.link_url(send, "l", TRAP_LINK)?;
                html = add_trap_link(&html, &trap).context("adding the trap link")?;
            }
            let pixel = self.link_url(send, "o", OPEN_PIXEL)?;
            html = add_open_pixel(&html, &pixel).context("adding the open pixel")?;
        }
        // After rewriting: the unsubscribe link is never a tracked link.
        let html = html.replace(UNSUBSCRIBE_TAG, &unsubscribe);
        let text = message.text.replace(UNSUBSCRIBE_TAG, &unsubscribe);
        let envelope = Envelope {
            from_name: message.from_name.clone(),
            from_address: message.from_email.clone(),
            reply_to: Some(message.reply_to.clone()).filter(|r| !r.is_empty()),
            to: contact.email.clone(),
            subject: render(&message.subject, &recipient, Part::Text),
            html: if html.is_empty() {
                String::new()
            } else {
                render(&html, &recipient, Part::Html)
            },
            text: render(&text, &recipient, Part::Text),
            list_unsubscribe: Some(unsubscribe),
            message_id: None,
        };
        Ok(match self.mailer.send_envelope(&envelope).await {
            Ok(()) => SendOutcome::Sent,
            Err(error) if error.is_transient() => {
                let attempt = u32::try_from(send.attempts).unwrap_or(u32::MAX);
                let delay = i64::try_from(backoff(attempt).as_micros()).unwrap_or(i64::MAX);
                SendOutcome::Retry {
                    at: Timestamp(self.clock.now().0.saturating_add(delay)),
                    error: error.to_string(),
                }
            }
            Err(error) => SendOutcome::Bounced {
                error: error.to_string(),
            },
        })
    }
}
