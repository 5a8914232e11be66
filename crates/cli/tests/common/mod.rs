//! What the binary's tests share: running `tracklane` in a directory, free ports, and plain
//! HTTP/1.0 requests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `tracklane` run in `dir`, without the caller's `RUST_LOG` and `TRACKLANE_` settings.
pub fn tracklane(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracklane"));
    command.current_dir(dir).env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("TRACKLANE_") {
            command.env_remove(key);
        }
    }
    command
}

/// Runs the command to its end.
pub fn run(command: &mut Command) -> Output {
    command.output().expect("tracklane runs")
}

/// A port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 GET; returns the status line and the body.
pub fn get(port: u16, path: &str) -> (String, String) {
    request(port, "GET", path, "", "")
}

/// A plain HTTP/1.0 request with `headers` (each line ending in `\r\n`) and a `body`; returns
/// the status line and the body.
pub fn request(port: u16, method: &str, path: &str, headers: &str, body: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

/// Waits (at most 30 s) until something listens on the port.
pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `tracklane serve` in `dir` on the port, its output piped.
pub fn serve(dir: &Path, port: u16) -> Child {
    tracklane(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tracklane serve starts")
}
