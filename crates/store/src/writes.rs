//! The one way a write transaction runs ([`Store::write`], or [`Store::write_in_background`]
//! for work that gives way to requests), and whether the last one failed (which `/healthz`
//! reports).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::error::ErrorKind;
use sqlx::AnyConnection;

use crate::foreground::Foreground;
use crate::{Store, StoreError};

/// The longest a background write waits for the foreground ones to pass.
const GIVE_WAY: Duration = Duration::from_millis(250);

/// Whether the most recent write transaction failed in the database (not a refusal of its
/// input), and how busy the writer is with foreground writes.
#[derive(Debug, Default)]
pub(crate) struct WriteHealth {
    failing: AtomicBool,
    /// How many writes committed, watched by the workers that follow changes.
    committed: tokio::sync::watch::Sender<u64>,
    /// The foreground writes' load.
    foreground: Foreground,
}

impl WriteHealth {
    /// Keeps what a write's `outcome` says of the database (see [`Store::write`]).
    fn record<T>(&self, outcome: Result<T, StoreError>) -> Result<T, StoreError> {
        match &outcome {
            Ok(_) => {
                self.failing.store(false, Ordering::Relaxed);
                self.committed
                    .send_modify(|count| *count = count.wrapping_add(1));
            }
            Err(error) if error.is_database_failure() => {
                tracing::error!(error = ?error, "a write failed; nothing of it was committed");
                self.failing.store(true, Ordering::Relaxed);
            }
            Err(_) => {}
        }
        outcome
    }
}

/// A single write statement outside a transaction of [`Store::write`], whose outcome counts in
/// the writes' health all the same: `.execute(&self.writer).written(self).await`.
pub(crate) trait Written<T> {
    /// The statement's outcome, kept in `store`'s write health.
    async fn written(self, store: &Store) -> Result<T, StoreError>;
}

impl<T, F: Future<Output = Result<T, sqlx::Error>>> Written<T> for F {
    async fn written(self, store: &Store) -> Result<T, StoreError> {
        store.writes.record(self.await.map_err(StoreError::from))
    }
}

impl Store {
    /// Runs `body` in a write transaction and commits it; when `body` fails or the COMMIT
    /// does, nothing of it is written. A failure of the database itself (a full disk, a lost
    /// connection; not a refused input or a broken constraint) is logged and makes
    /// [`Store::writes_failing`] true until a write commits again.
    pub(crate) async fn write<T>(
        &self,
        body: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _counted = self.writes.foreground.enter();
        self.transaction(body).await
    }

    /// Runs `body` as [`Store::write`] does, for background work (webhook deliveries). While
    /// the writer is saturated with foreground writes (requests, tracking: see
    /// [`crate::foreground`]), it first gives way, for up to 250 ms, since they share the one
    /// writer (SQLite) or the machine's cores (PostgreSQL): a backlog of background work then
    /// grows during a burst, rather than the burst slowing down.
    pub(crate) async fn write_in_background<T>(
        &self,
        body: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        while self.writes.foreground.saturated() && started.elapsed() < GIVE_WAY {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.transaction(body).await
    }

    /// Runs `body` in a write transaction, commits it, and keeps its outcome in the health.
    async fn transaction<T>(
        &self,
        body: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let outcome: Result<T, StoreError> = async {
            let mut tx = self.writer.begin().await?;
            let value = body(&mut tx).await?;
            tx.commit().await?;
            Ok(value)
        }
        .await;
        self.writes.record(outcome)
    }

    /// Follows committed writes: the receiver's `changed()` returns after the next one (at
    /// once when one committed since it last returned). For the workers that follow changes.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.writes.committed.subscribe()
    }

    /// Whether the most recent write transaction failed in the database (a full disk, a
    /// database that went away): the server is degraded until a write commits again.
    pub fn writes_failing(&self) -> bool {
        self.writes.failing.load(Ordering::Relaxed)
    }
}

impl StoreError {
    /// Whether the database failed, rather than refusing what it was asked (a duplicate, a
    /// missing row, a reference to a row in use).
    pub fn is_database_failure(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(error)) => {
                matches!(error.kind(), ErrorKind::Other)
            }
            Self::Database(_)
            | Self::Migrate(_)
            | Self::Rebuild(_)
            | Self::Randomness
            | Self::Unreachable { .. } => true,
            Self::NotFound { .. } | Self::Invalid(_) | Self::UnsupportedUrl => false,
        }
    }
}
