//! A real webhook receiver for the tests: an HTTP server on a free port of 127.0.0.1 that keeps
//! every request it gets and answers each path as the test scripts it (a status, headers, a
//! body, a delay; a path's script is used in turn, its last answer for every request after).
//! Unscripted paths answer 200. The server stops when the [`Receiver`] is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: String,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Reply {
    /// An answer of `status` with a short body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: format!("answered {status}"),
            delay: Duration::ZERO,
        }
    }

    /// The same answer with a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The same answer with this body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// The same answer after `delay`.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path.
    pub path: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

#[derive(Default)]
struct Shared {
    scripts: HashMap<String, Vec<Reply>>,
    answered: HashMap<String, usize>,
    received: Vec<Received>,
}

/// A running receiver.
pub struct Receiver {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    /// Starts a receiver.
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("the receiver serves");
        });
        Self {
            port,
            shared,
            _stop: stop,
        }
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Answers the requests to `path` with `replies` in turn (the last one from then on).
    pub fn script(&self, path: &str, replies: Vec<Reply>) {
        let mut shared = self.shared.lock().expect("the receiver's state");
        shared.scripts.insert(path.to_owned(), replies);
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .lock()
            .expect("the receiver's state")
            .received
            .clone()
    }
}

async fn answer(
    State(shared): State<Arc<Mutex<Shared>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let reply = {
        let mut shared = shared.lock().expect("the receiver's state");
        shared.received.push(Received {
            path: path.clone(),
            headers,
            body,
        });
        let nth = *shared.answered.get(&path).unwrap_or(&0);
        shared.answered.insert(path.clone(), nth + 1);
        shared
            .scripts
            .get(&path)
            .and_then(|replies| replies.get(nth).or(replies.last()))
            .cloned()
            .unwrap_or_else(|| Reply::status(200))
    };
    tokio::time::sleep(reply.delay).await;
    let mut response = (
        StatusCode::from_u16(reply.status).expect("a status code"),
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("a header value"));
    }
    response
}
