//! `--webhooks N`: webhook subscriptions kept live during the tracking scenarios, each hearing
//! of every event, page view and tag the load makes, delivered to a receiver in the bench's
//! process that answers 204 to everything and counts what it got.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use axum::http::StatusCode;
use serde_json::json;
use tokio::sync::oneshot;

use super::campaign::Api;

/// A receiver on a free port of 127.0.0.1 that takes every delivery.
pub struct Receiver {
    /// Its URL.
    pub url: String,
    received: Arc<AtomicU64>,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    /// Starts it.
    pub async fn start() -> anyhow::Result<Self> {
        let received = Arc::new(AtomicU64::new(0));
        let counted = received.clone();
        let app = axum::Router::new().fallback(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::Relaxed);
                StatusCode::NO_CONTENT
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the webhook receiver")?;
        let url = format!("http://{}/hooks", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                eprintln!("bench: the webhook receiver stopped: {error}");
            }
        });
        Ok(Self {
            url,
            received,
            _stop: stop,
        })
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
