//! What the server does with connections that take too long or come too many: headers, bodies
//! and idle kept-alive connections have deadlines, and past the connection cap new ones are
//! refused while the others are served.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::config::SettingsLayer;

/// What the server sent before closing `stream`, or `None` when it is still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&received).into_owned())
}

/// The same server with short deadlines for headers (and idle connections) and bodies.
async fn impatient(app: TestApp) -> TestApp {
    let settings = SettingsLayer {
        header_timeout_secs: Some(1),
        body_timeout_secs: Some(1),
        ..SettingsLayer::default()
    };
    TestApp::spawn_with(app.engine, settings).await
}

async fn silent_and_half_sent_headers_are_closed(app: TestApp) {
    let app = impatient(app).await;
    let mut silent = app.connect_raw().await;
    let mut half = app.connect_raw().await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: tracklane\r\nX-Slow: ")
        .await
        .unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(4))
        .await
        .is_some());
    assert!(closed_within(&mut half, Duration::from_secs(4))
        .await
        .is_some());
}

async fn stalled_bodies_get_408(app: TestApp) {
    let app = impatient(app).await;
    let api = format!(
        "POST /api/3/contacts HTTP/1.1\r\nHost: tracklane\r\nApi-Token: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"contact\":",
        app.api_key
    );
    let tracking = "POST /event HTTP/1.1\r\nHost: tracklane\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\nactid=1";
    for request in [api.as_str(), tracking] {
        let mut stream = app.connect_raw().await;
        stream.write_all(request.as_bytes()).await.unwrap();
        let answer = closed_within(&mut stream, Duration::from_secs(4))
            .await
            .expect("the connection is closed");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
}

async fn idle_kept_alive_connections_are_closed(app: TestApp) {
    let app = impatient(app).await;
    let mut stream = app.connect_raw().await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tracklane\r\n\r\n")
        .await
        .unwrap();
    let answer = closed_within(&mut stream, Duration::from_secs(4))
        .await
        .expect("the idle connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Sends `GET /healthz` on a fresh connection and answers the response's first line.
async fn health_over(stream: &mut TcpStream) -> String {
    let _ = stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tracklane\r\n\r\n")
        .await;
    let mut chunk = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut chunk)).await;
    match read {
        Ok(Ok(n)) => String::from_utf8_lossy(&chunk[..n])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

async fn connections_past_the_cap_are_refused(app: TestApp) {
    let settings = SettingsLayer {
        max_connections: Some(3),
        ..SettingsLayer::default()
    };
    let app = TestApp::spawn_with(app.engine, settings).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = app.connect_raw().await;
        assert_eq!(health_over(&mut stream).await, "HTTP/1.1 200 OK");
        held.push(stream);
    }
    for _ in 0..5 {
        let mut extra = app.connect_raw().await;
        let answer = closed_within(&mut extra, Duration::from_secs(2))
            .await
            .expect("a connection past the cap is closed");
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
            "{answer}"
        );
    }
    drop(held);
    let mut answered = String::new();
    for _ in 0..20 {
        let mut stream = app.connect_raw().await;
        answered = health_over(&mut stream).await;
        if answered == "HTTP/1.1 200 OK" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answered, "HTTP/1.1 200 OK");
}

both_engines!(
    silent_and_half_sent_headers_are_closed,
    stalled_bodies_get_408,
    idle_kept_alive_connections_are_closed,
    connections_past_the_cap_are_refused,
);
