//! The account's set-up for the tracking scenarios, done through API v3 as a user would (site
//! tracking on, the bench domain whitelisted, event tracking on, the bench event name
//! whitelisted, the bench contacts created), and what the server reports around a scenario:
//! how many events it stores and how its group-commit writer grouped them.

use anyhow::{bail, Context};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::campaign::Api;
use super::scenarios::{contact_email, BENCH_DOMAIN, CONTACTS, EVENT_NAME, TAGS};

/// The account the server created, as the clients need it.
#[derive(Clone)]
pub struct Keys {
    /// The account id (`actid`).
    pub actid: i64,
    /// The API key, sent in `Api-Token`.
    pub api_key: SecretString,
    /// The event key (`key` of `POST /event`, the write key of `/v1`).
    pub event_key: SecretString,
}

/// Sets the account up for the tracking scenarios; answers the bench contacts' ids.
pub async fn prepare(
    client: &reqwest::Client,
    base: &str,
    keys: &Keys,
) -> anyhow::Result<Vec<i64>> {
    let switches = [
        (
            Method::PUT,
            "/siteTracking",
            json!({"siteTracking": {"enabled": true}}),
        ),
        (
            Method::POST,
            "/siteTrackingDomains",
            json!({"siteTrackingDomain": {"name": BENCH_DOMAIN}}),
        ),
        (
            Method::PUT,
            "/eventTracking",
            json!({"eventTracking": {"enabled": true}}),
        ),
        (
            Method::POST,
            "/eventTrackingEvents",
            json!({"eventTrackingEvent": {"name": EVENT_NAME}}),
        ),
    ];
    for (method, path, body) in switches {
        let url = format!("{base}/api/3{path}");
        call(client, method, &url, &keys.api_key, Some(body)).await?;
    }
    let mut contacts = Vec::new();
    for i in 0..CONTACTS {
        let url = format!("{base}/api/3/contacts");
        let body = json!({"contact": {"email": contact_email(i)}});
        let created = call(client, Method::POST, &url, &keys.api_key, Some(body)).await?;
        let id = created["contact"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok());
        contacts.push(id.context("a new contact has no id")?);
    }
    Ok(contacts)
}

/// Creates the [`TAGS`] tags that `tag` puts on the bench contacts; answers their ids.
pub async fn create_tags(api: &Api<'_>) -> anyhow::Result<Vec<i64>> {
    eprintln!("bench: creating {TAGS} tags");
    let mut tags = Vec::new();
    for i in 0..TAGS {
        let tag = json!({"tag": format!("bench {i}"), "tagType": "contact"});
        tags.push(api.create("/tags", "tag", tag).await?);
    }
    Ok(tags)
}

/// Sends one API v3 request and returns its JSON answer; anything but a 2xx is an error.
pub async fn call(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    api_key: &SecretString,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut request = client
        .request(method.clone(), url)
        .header("Api-Token", api_key.expose_secret());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("{method} {url}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("{method} {url}"))?;
    if !status.is_success() {
        bail!("{method} {url}: {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{method} {url}: the answer is not JSON"))
}

/// What the server reports at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerCounts {
    /// Events stored for the account (`meta.total` of `GET /api/3/trackingLogs`).
    pub durable_events: u64,
    /// Groups the ingest writer committed (`ingest_group_events_count`).
    pub groups: f64,
    /// Events in those groups (`ingest_group_events_sum`).
    pub grouped_events: f64,
}

impl ServerCounts {
    /// Asks the server.
    pub async fn read(client: &reqwest::Client, base: &str, keys: &Keys) -> anyhow::Result<Self> {
        let url = format!("{base}/api/3/trackingLogs?limit=1");
        let logs = call(client, Method::GET, &url, &keys.api_key, None).await?;
        let durable_events = total_of(&logs).context("trackingLogs has no meta.total")?;
        let metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .context("GET /metrics")?
            .text()
            .await
            .context("GET /metrics")?;
        Ok(Self {
            durable_events,
            groups: metric_value(&metrics, "ingest_group_events_count").unwrap_or(0.0),
            grouped_events: metric_value(&metrics, "ingest_group_events_sum").unwrap_or(0.0),
        })
    }

    /// What changed since `before`.
    pub fn since(&self, before: &Self) -> Self {
        Self {
            durable_events: self.durable_events.saturating_sub(before.durable_events),
            groups: self.groups - before.groups,
            grouped_events: self.grouped_events - before.grouped_events,
        }
    }

    /// A line on the change, with the number of events acknowledged in the measured window.
    pub fn describe(&self, acknowledged: u64) -> String {
        let mean = if self.groups > 0.0 {
            self.grouped_events / self.groups
        } else {
            0.0
        };
        format!(
            "{acknowledged} events acknowledged in the window, {} stored in all (warm-up \
             included); the writer committed {:.0} groups of {mean:.1} events on average",
            self.durable_events, self.groups
        )
    }
}

/// `meta.total` of a collection.
fn total_of(collection: &Value) -> Option<u64> {
    number(&collection["meta"]["total"])
}

/// An id or a count: a string of digits in AC's shape, or a number.
pub fn number(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

/// The value of an unlabelled sample in Prometheus text.
fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (sample, value) = line.split_once(' ')?;
        (sample == name).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_values_are_read_from_prometheus_text() {
        let text = "# TYPE ingest_group_events summary\n\
                    ingest_group_events{quantile=\"0.5\"} 12\n\
                    ingest_group_events_sum 3000\n\
                    ingest_group_events_count 40\n";
        assert_eq!(metric_value(text, "ingest_group_events_sum"), Some(3000.0));
        assert_eq!(metric_value(text, "ingest_group_events_count"), Some(40.0));
        assert_eq!(metric_value(text, "ingest_group_events"), None);
    }

    #[test]
    fn totals_are_strings_or_numbers() {
        assert_eq!(total_of(&json!({"meta": {"total": "42"}})), Some(42));
        assert_eq!(total_of(&json!({"meta": {"total": 7}})), Some(7));
        assert_eq!(total_of(&json!({})), None);
    }

    #[test]
    fn the_change_tells_the_mean_group() {
        let before = ServerCounts {
            durable_events: 10,
            groups: 2.0,
            grouped_events: 10.0,
        };
        let after = ServerCounts {
            durable_events: 110,
            groups: 6.0,
            grouped_events: 110.0,
        };
        let change = after.since(&before);
        assert_eq!(change.durable_events, 100);
        assert!(change.describe(90).contains("4 groups of 25.0 events"));
    }
}
