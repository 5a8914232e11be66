//! Serving connections: HTTP/1.1 over hyper, with
//! - a deadline for each request's headers ([`Settings::header_timeout`]), counted from when the
//!   connection opens or its previous response ends, so that a connection that sends nothing,
//!   half its headers, or nothing more after a response is closed;
//! - a cap on the connections open at once ([`Settings::max_connections`]): one past it is
//!   answered 503 and closed at once, and counted in `http_connections_refused_total`;
//! - the peer's address as `ConnectInfo<SocketAddr>` in every request (see
//!   [`crate::client_ip`]);
//! - graceful shutdown: no new connections, idle ones closed, requests in flight finished.
//!
//! Request bodies and whole requests have their own deadlines, as layers of the router (see
//! [`crate::limits`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::Service;

use crate::config::Settings;

/// What a connection past the cap is told before it is closed.
const REFUSED: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n";

/// How long to wait before accepting again after accepting failed (out of file descriptors).
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `shutdown` completes, then lets the connections finish
/// what they are doing.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(settings.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            refuse(&stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().call(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Tells a connection past the cap that the server is busy, without waiting for it; dropping
/// the stream then closes it.
fn refuse(stream: &TcpStream) {
    metrics::counter!("http_connections_refused_total").increment(1);
    let _ = stream.try_write(REFUSED);
}
