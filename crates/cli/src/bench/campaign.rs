//! Campaigns made as a user makes them, for `click` and `send`: a list, its recipients imported
//! with the product's bulk path (the CSV import with `--list`), then through API v3 a message
//! with tracked links, a campaign sending it to the list, the send request, the wait until the
//! campaign is complete (status 5), and its link statistics. Also the set-up of `click`.

use std::io::Cursor;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::ProgressBar;
use reqwest::Method;
use serde_json::{json, Value};
use tracklane_core::cid::{LinkSubject, TokenKey};
use tracklane_core::ids::{AccountId, CampaignId, ContactId, ListId};
use tracklane_core::page::MAX_LIMIT;
use tracklane_store::Store;

use super::scenarios::BENCH_DOMAIN;
use super::setup::{call, number, Keys};
use crate::import::{import, Destination};

/// Links in the message of `click`.
const CLICK_LINKS: u64 = 3;
/// Recipients of `click`'s campaign: enough that each clicks only a few times in a run, as
/// people do (a recipient's earlier clicks are read for the scanner rules at every click).
const CLICK_RECIPIENTS: u64 = 5_000;
/// How often the bench asks whether a campaign is complete.
const POLL: Duration = Duration::from_millis(100);
/// How often the wait for a campaign prints its progress.
const PROGRESS: Duration = Duration::from_secs(5);

/// The server's API v3, with the account's key.
pub struct Api<'a> {
    /// The shared HTTP client.
    pub client: &'a reqwest::Client,
    /// `http://127.0.0.1:PORT`.
    pub base: &'a str,
    /// The account's id and keys.
    pub keys: &'a Keys,
}

impl Api<'_> {
    /// Sends `method /api/3{path}` and returns its JSON answer; anything but a 2xx is an error.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/api/3{path}", self.base);
        call(self.client, method, &url, &self.keys.api_key, body).await
    }

    /// Imports `count` new contacts (`{prefix}-{i}@`[`BENCH_DOMAIN`], with first and last
    /// names) onto a new list named `name` through the CSV import; returns the list's id.
    pub async fn import_list(
        &self,
        store: &Store,
        name: &str,
        prefix: &str,
        count: u64,
    ) -> anyhow::Result<i64> {
        let list = self.create_list(name).await?;
        let to = Destination {
            account: AccountId(self.keys.actid),
            list: Some(ListId(list)),
        };
        let started = Instant::now();
        let csv = Cursor::new(recipients_csv(prefix, count));
        let report = import(store, to, csv, &ProgressBar::hidden())
            .await
            .context("importing the recipients")?;
        if let Some(rejected) = report.rejected.first() {
            bail!(
                "the import refused line {}: {}",
                rejected.line,
                rejected.reason
            );
        }
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "bench: imported {} contacts onto list {list} in {seconds:.1} s ({:.0} contacts/s)",
            report.upserted,
            report.upserted as f64 / seconds
        );
        Ok(list)
    }

    /// The ids of the contacts on `list` (`GET /contacts?listid=`), oldest first.
    pub async fn list_members(&self, list: i64) -> anyhow::Result<Vec<i64>> {
        let mut ids = Vec::new();
        loop {
            let path = format!(
                "/contacts?listid={list}&limit={MAX_LIMIT}&offset={}",
                ids.len()
            );
            let page = self.call(Method::GET, &path, None).await?;
            let contacts = page["contacts"].as_array().context("no contacts")?;
            for contact in contacts {
                ids.push(id_of(contact).context("a contact has no id")?);
            }
            if contacts.is_empty() {
                return Ok(ids);
            }
        }
    }

    /// Creates a list and returns its id.
    pub async fn create_list(&self, name: &str) -> anyhow::Result<i64> {
        self.create("/lists", "list", json!({ "name": name })).await
    }

    /// Creates the resource `attributes` describe at `path`, wrapped in `wrapper` (AC's
    /// `{"list": {...}}`), and returns its id.
    pub async fn create(
        &self,
        path: &str,
        wrapper: &str,
        attributes: Value,
    ) -> anyhow::Result<i64> {
        let created = self
            .call(Method::POST, path, Some(json!({ wrapper: attributes })))
            .await?;
        id_of(&created[wrapper]).with_context(|| format!("the new {wrapper} has no id"))
    }

    /// Creates a message with `html` as its HTML part and a campaign sending it to `list` with
    /// its links tracked; returns the campaign's id.
    pub async fn create_campaign(&self, name: &str, list: i64, html: &str) -> anyhow::Result<i64> {
        let message = json!({"message": {
            "subject": format!("{name} for %FIRSTNAME|you%"),
            "fromname": "Tracklane bench",
            "fromemail": "bench@example.com",
            "reply2": "bench@example.com",
            "html": html,
            "text": "Hello %FIRSTNAME|there%, this is the bench's message.",
        }});
        let message = self.call(Method::POST, "/messages", Some(message)).await?;
        let message = id_of(&message["message"]).context("the new message has no id")?;
        let campaign = json!({"campaign": {
            "name": name, "message": message, "list": list, "tracklinks": "all",
        }});
        let campaign = self
            .call(Method::POST, "/campaigns", Some(campaign))
            .await?;
        id_of(&campaign["campaign"]).context("the new campaign has no id")
    }

    /// Sends the campaign (`POST /campaigns/{id}/send`) and returns how many sends it queued.
    pub async fn send(&self, campaign: i64) -> anyhow::Result<u64> {
        let path = format!("/campaigns/{campaign}/send");
        let answer = self.call(Method::POST, &path, None).await?;
        number(&answer["queued"]).context("the send answer has no queued count")
    }

    /// Waits until the campaign is complete (status 5), at most `limit`, printing its progress;
    /// returns its counters then.
    pub async fn wait_until_complete(
        &self,
        campaign: i64,
        limit: Duration,
    ) -> anyhow::Result<Delivered> {
        let path = format!("/campaigns/{campaign}");
        let started = Instant::now();
        let mut told = started;
        loop {
            let answer = self.call(Method::GET, &path, None).await?;
            let campaign = &answer["campaign"];
            let delivered = Delivered {
                queued: number(&campaign["total_amt"]).context("no total_amt")?,
                sent: number(&campaign["send_amt"]).context("no send_amt")?,
                bounced: number(&campaign["hardbounces"]).context("no hardbounces")?,
            };
            if campaign["status"] == "5" {
                return Ok(delivered);
            }
            if started.elapsed() > limit {
                bail!("the campaign was not complete after {} s", limit.as_secs());
            }
            if told.elapsed() >= PROGRESS {
                told = Instant::now();
                eprintln!(
                    "bench: {} of {} messages handed over after {:.0} s",
                    delivered.sent,
                    delivered.queued,
                    started.elapsed().as_secs_f64()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clicks on the campaign's tracked links, people's and machines' (`GET
    /// /campaigns/{id}/links`, the "Read Tracker" row of opens left out).
    pub async fn link_clicks(&self, campaign: i64) -> anyhow::Result<u64> {
        let path = format!("/campaigns/{campaign}/links");
        let answer = self.call(Method::GET, &path, None).await?;
        let links = answer["links"].as_array().context("no links")?;
        let mut clicks = 0;
        for link in links.iter().filter(|link| link["link"] != "open") {
            clicks += number(&link["clicks"]).context("a link has no clicks")?;
            clicks += number(&link["machineClicks"]).context("a link has no machineClicks")?;
        }
        Ok(clicks)
    }
}

/// A campaign's counters once it is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Recipients queued.
    pub queued: u64,
    /// Messages handed over.
    pub sent: u64,
    /// Recipients whose mail was refused for good.
    pub bounced: u64,
}

/// What `click` follows: the campaign, and a tracked-link token per bench contact.
pub struct Clicks {
    /// The campaign's id.
    pub campaign: i64,
    /// The `i`th recipient's token for link `i % CLICK_LINKS`.
    pub tokens: Vec<String>,
}

/// Sets `click` up as a user would: [`CLICK_RECIPIENTS`] contacts imported onto a new list, a
/// message with [`CLICK_LINKS`] links sent to it through API v3 (delivered before the load
/// starts), and the scanner rule "a click within seconds of delivery" switched off, because
/// every bench click comes seconds after delivery and would be taken for a mail filter's. The
/// other rules stay on; each contact follows one link of the message, again and again (repeated
/// clicks are recorded and counted once in unique clicks), so "every link at once" does not
/// fire either. Then seals each contact's link token with the server's key, as the sender
/// writes it into the message.
pub async fn prepare_clicks(
    api: &Api<'_>,
    store: &Store,
    key: &TokenKey,
) -> anyhow::Result<Clicks> {
    let list = api
        .import_list(store, "Bench clicks", "clicks", CLICK_RECIPIENTS)
        .await?;
    let rules = json!({"emailSettings": {"scannerRules": {"secondsAfterDelivery": null}}});
    api.call(Method::PUT, "/emailSettings", Some(rules)).await?;
    let campaign = api
        .create_campaign("Bench clicks", list, &message_html(CLICK_LINKS, 0))
        .await?;
    api.send(campaign).await?;
    api.wait_until_complete(campaign, Duration::from_secs(600))
        .await?;
    let contacts = api.list_members(list).await?;
    let mut tokens = Vec::with_capacity(contacts.len());
    for (i, contact) in (0..).zip(contacts) {
        let subject = LinkSubject {
            account: AccountId(api.keys.actid),
            contact: ContactId(contact),
            campaign: CampaignId(campaign),
            target: i64::try_from(i % CLICK_LINKS).unwrap_or_default(),
        };
        tokens.push(key.seal_link(subject).context("sealing a link token")?);
    }
    Ok(Clicks { campaign, tokens })
}

/// A message's HTML: a greeting with personalization tags, `links` tracked links, paragraphs up
/// to about `bytes` bytes, and the unsubscribe link.
pub fn message_html(links: u64, bytes: usize) -> String {
    let mut html = String::with_capacity(bytes + 1024);
    html.push_str(
        "<!doctype html><html><body><h1>Hello %FIRSTNAME|there% %LASTNAME%</h1>\
         <p>This message went to %EMAIL%.</p>",
    );
    for link in 0..links {
        html.push_str(&format!(
            r#"<p><a href="https://shop.example.com/offer/{link}?utm_source=bench">Offer {link}</a></p>"#
        ));
    }
    let paragraph = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod \
                     tempor incididunt ut labore et dolore magna aliqua.</p>";
    while html.len() + paragraph.len() < bytes {
        html.push_str(paragraph);
    }
    html.push_str(r#"<p><a href="%UNSUBSCRIBELINK%">Unsubscribe</a></p></body></html>"#);
    html
}

/// A CSV of `count` contacts with first and last names.
fn recipients_csv(prefix: &str, count: u64) -> Vec<u8> {
    let mut csv = String::from("email,first name,last name\n");
    for i in 0..count {
        csv.push_str(&format!("{prefix}-{i}@{BENCH_DOMAIN},First{i},Last{i}\n"));
    }
    csv.into_bytes()
}

/// The `id` of a resource.
fn id_of(resource: &Value) -> Option<i64> {
    number(&resource["id"]).and_then(|id| i64::try_from(id).ok())
}

#[cfg(test)]
mod tests {
    use tracklane_core::links::find_links;

    use super::*;

    #[test]
    fn the_message_has_its_links_and_its_size() {
        let html = message_html(5, 10_000);
        assert!((9_000..=11_000).contains(&html.len()), "{}", html.len());
        let links = find_links(&html).unwrap();
        assert_eq!(links.len(), 5, "the unsubscribe link is no tracked link");
        assert_eq!(
            links[4].url.as_str(),
            "https://shop.example.com/offer/4?utm_source=bench"
        );
        assert!(html.contains("%FIRSTNAME|there%"));
    }

    #[test]
    fn the_recipients_are_distinct_rows_after_the_header() {
        let csv = String::from_utf8(recipients_csv("send", 3)).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "email,first name,last name");
        assert_eq!(lines[1], "send-0@bench.example.com,First0,Last0");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn ids_are_strings_or_numbers() {
        assert_eq!(id_of(&json!({"id": "3"})), Some(3));
        assert_eq!(id_of(&json!({"id": 4})), Some(4));
        assert_eq!(id_of(&json!({})), None);
    }
}
