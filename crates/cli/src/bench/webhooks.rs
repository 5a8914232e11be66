//! `--webhooks N`: webhook subscriptions kept live during the tracking scenarios, each hearing
//! of every event, page view and tag the load makes, delivered to a receiver in the bench's
//! process that answers 204 to everything and counts what it got.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use axum::http::StatusCode;
use serde_json::json;
use tokio::sync::watch;

use super::campaign::Api;

/// A receiver that takes every delivery: one server on a free port of 127.0.0.1, or of each of
/// several loopback addresses (127.0.0.1, 127.0.0.2, ...: receivers on hosts of their own, as
/// the webhook worker counts them), all counting into one tally.
pub struct Receiver {
    /// The URL of each host's server.
    pub urls: Vec<String>,
    received: Arc<AtomicU64>,
    _stop: watch::Sender<()>,
}

impl Receiver {
    /// Starts it on 127.0.0.1.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(1).await
    }

    /// Starts it on `hosts` loopback addresses.
    pub async fn start_on(hosts: u8) -> anyhow::Result<Self> {
        let received = Arc::new(AtomicU64::new(0));
        let counted = received.clone();
        let app = axum::Router::new().fallback(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::Relaxed);
                StatusCode::NO_CONTENT
            }
        });
        let (stop, stopped) = watch::channel(());
        let mut urls = Vec::new();
        for host in 1..=hosts.max(1) {
            let address = Ipv4Addr::new(127, 0, 0, host);
            let listener = tokio::net::TcpListener::bind((address, 0))
                .await
                .with_context(|| format!("binding the webhook receiver on {address}"))?;
            urls.push(format!("http://{}/hooks", listener.local_addr()?));
            let mut stopped = stopped.clone();
            let serving = axum::serve(listener, app.clone()).with_graceful_shutdown(async move {
                let _ = stopped.changed().await;
            });
            tokio::spawn(async move {
                if let Err(error) = serving.await {
                    eprintln!("bench: the webhook receiver stopped: {error}");
                }
            });
        }
        Ok(Self {
            urls,
            received,
            _stop: stop,
        })
    }

    /// The first host's URL.
    pub fn url(&self) -> &str {
        &self.urls[0]
    }

    /// How many deliveries it got.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// Creates `count` subscriptions to `url`.
pub async fn save(api: &Api<'_>, count: u32, url: &str) -> anyhow::Result<()> {
    for i in 0..count {
        api.create(
            "/webhooks",
            "webhook",
            json!({
                "name": format!("bench {i}"),
                "url": url,
                "events": ["event_recorded", "site_visit", "contact_tag_added"],
                "sources": ["public", "api"],
            }),
        )
        .await?;
    }
    Ok(())
}
