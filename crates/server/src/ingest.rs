//! The group-commit writer of tracking data. Handlers submit events to a bounded queue and wait;
//! one writer task takes every submission waiting, records them all in one transaction, and
//! only then answers each. A request is thus acknowledged only after its data is committed,
//! while thousands of requests share one commit. When the queue is full the submission is
//! refused at once (the collector answers 503 with `Retry-After`), never silently dropped.

use std::sync::Arc;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracklane_core::event::NewEvent;
use tracklane_store::Store;

use crate::state::Clock;

/// The most events recorded in one transaction.
const MAX_GROUP: usize = 4096;

/// Why a submission was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The queue is full: try again shortly.
    #[error("the ingest queue is full")]
    Busy,
    /// The database failed (logged); nothing of the submission was recorded.
    #[error("recording failed")]
    Failed,
}

struct Submission {
    events: Vec<NewEvent>,
    done: oneshot::Sender<Result<(), IngestError>>,
}

/// The handle handlers submit through. Cloning it is cheap.
#[derive(Clone)]
pub struct Ingest {
    queue: mpsc::Sender<Submission>,
}

impl Ingest {
    /// Starts the writer task; it ends once every handle is dropped and the queue is drained.
    pub fn start(store: Store, clock: Arc<dyn Clock>, capacity: usize) -> (Self, JoinHandle<()>) {
        let (queue, waiting) = mpsc::channel(capacity);
        let writer = tokio::spawn(write_groups(store, clock, waiting));
        (Self { queue }, writer)
    }

    /// Records `events` (all or none) and returns once they are committed.
    pub async fn record(&self, events: Vec<NewEvent>) -> Result<(), IngestError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .try_send(Submission { events, done })
            .map_err(|refused| match refused {
                TrySendError::Full(_) => IngestError::Busy,
                // The writer is gone (it panicked): not a full queue to retry shortly.
                TrySendError::Closed(_) => IngestError::Failed,
            })?;
        committed.await.unwrap_or(Err(IngestError::Failed))
    }

    /// Whether the writer task still takes submissions (it ends only when it panicked, or at
    /// shutdown once every handle is gone).
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }
}

async fn write_groups(
    store: Store,
    clock: Arc<dyn Clock>,
    mut waiting: mpsc::Receiver<Submission>,
) {
    while let Some(first) = waiting.recv().await {
        let mut group = vec![first];
        let mut size = group[0].events.len();
        while size < MAX_GROUP {
            match waiting.try_recv() {
                Ok(next) => {
                    size += next.events.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        metrics::histogram!("ingest_group_events").record(size as f64);
        let mut events = Vec::with_capacity(size);
        let mut replies = Vec::with_capacity(group.len());
        for submission in group {
            replies.push((
                events.len()..events.len() + submission.events.len(),
                submission.done,
            ));
            events.extend(submission.events);
        }
        match store.record_events(&events, clock.now()).await {
            Ok(()) => {
                metrics::counter!("ingest_events_recorded_total").increment(size as u64);
                for (_, done) in replies {
                    let _ = done.send(Ok(()));
                }
            }
            Err(error) => {
                if replies.len() > 1 {
                    tracing::warn!(%error, "a group failed; recording its submissions one by one");
                } else {
                    tracing::error!(error = ?error, "recording events failed");
                }
                for (range, done) in replies {
                    let outcome = if range.len() == events.len() {
                        Err(IngestError::Failed)
                    } else {
                        store
                            .record_events(&events[range], clock.now())
                            .await
                            .map_err(|error| {
                                tracing::error!(error = ?error, "recording events failed");
                                IngestError::Failed
                            })
                    };
                    let _ = done.send(outcome);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::SystemClock;
    use crate::track::refusal::Refusal;
    use tracklane_core::event::{EventKind, PAGE_VISIT_NAME};
    use tracklane_core::time::Timestamp;
    use tracklane_store::PoolSize;

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let store = Store::connect(&url, PoolSize::default()).await.unwrap();
        store.migrate().await.unwrap();
        store.bootstrap(Timestamp::now()).await.unwrap();
        (store, dir)
    }

    fn visit(account: tracklane_core::ids::AccountId) -> NewEvent {
        NewEvent {
            account,
            kind: EventKind::PageVisit,
            name: PAGE_VISIT_NAME.to_owned(),
            visitor: Some("visitor-0001".to_owned()),
            contact: None,
            page: None,
            site: None,
            referrer: None,
            title: None,
            device: None,
            data: None,
            message_id: None,
            link: None,
            source: None,
            occurred_at: Timestamp::now(),
        }
    }

    #[tokio::test]
    async fn a_stopped_writer_is_a_failure_not_a_full_queue() {
        let (store, _dir) = store().await;
        let account = store.first_account().await.unwrap().unwrap();
        let (ingest, writer) = Ingest::start(store.clone(), Arc::new(SystemClock), 10);
        assert!(ingest.is_running());
        writer.abort();
        let _ = writer.await;
        assert!(!ingest.is_running(), "health sees it");
        assert_eq!(
            ingest.record(vec![visit(account)]).await,
            Err(IngestError::Failed)
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_refuses_at_once_and_loses_nothing_accepted() {
        let (store, _dir) = store().await;
        let account = store.first_account().await.unwrap().unwrap();
        let (ingest, _writer) = Ingest::start(store.clone(), Arc::new(SystemClock), 1);
        // Both submissions are polled before the writer task runs: the first fills the queue.
        let (first, second) = tokio::join!(
            ingest.record(vec![visit(account)]),
            ingest.record(vec![visit(account)])
        );
        assert_eq!(first, Ok(()), "the accepted submission is committed");
        assert_eq!(second, Err(IngestError::Busy));
        let recorded = store
            .events(account, Default::default(), Default::default())
            .await
            .unwrap();
        assert_eq!(recorded.total, 1);

        let answer = Refusal::from(IngestError::Busy)
            .answer(|reason| serde_json::json!({ "reason": reason }));
        assert_eq!(answer.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers()["retry-after"], "1");
    }

    #[tokio::test]
    async fn concurrent_submissions_are_all_committed() {
        let (store, _dir) = store().await;
        let account = store.first_account().await.unwrap().unwrap();
        let (ingest, _writer) = Ingest::start(store.clone(), Arc::new(SystemClock), 1000);
        let mut submissions = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let ingest = ingest.clone();
            submissions.spawn(async move { ingest.record(vec![visit(account)]).await });
        }
        while let Some(outcome) = submissions.join_next().await {
            assert_eq!(outcome.unwrap(), Ok(()));
        }
        let recorded = store
            .events(account, Default::default(), Default::default())
            .await
            .unwrap();
        assert_eq!(recorded.total, 200);
    }
}
