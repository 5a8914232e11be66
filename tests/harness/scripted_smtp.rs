//! An SMTP server whose answers a test scripts: a small Tokio server on localhost that accepts
//! every sender, recipient and message and keeps what it accepts, unless the test tells it to
//! refuse one recipient at `RCPT TO` or every message at the end of its data. For a server that
//! only keeps what it gets, see [`crate::SmtpSink`] (a real one, aiosmtpd).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// An SMTP server on localhost answering as scripted; stops when dropped.
pub struct ScriptedSmtp {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    server: JoinHandle<()>,
}

/// The script and what the server saw, shared by its connections.
#[derive(Debug, Default)]
struct Shared {
    /// The answer to the end of every message's data, instead of `250`.
    every_message: Option<String>,
    /// The answer to `RCPT TO` for these (lowercase) addresses, instead of `250`.
    recipients: HashMap<String, String>,
    /// The messages accepted, raw.
    accepted: Vec<String>,
    /// How many messages were offered (`MAIL FROM` commands).
    offered: usize,
}

impl ScriptedSmtp {
    /// Starts the server on a free port of localhost, accepting everything.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the scripted SMTP server");
        let port = listener.local_addr().expect("its address").port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let sessions = shared.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, sessions.clone()));
            }
        });
        Self {
            port,
            shared,
            server,
        }
    }

    /// The URL to give Tracklane's `smtp_url` setting: plain SMTP, no TLS.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answers the end of every message's data with `reply` (such as `500 syntax error`), or
    /// with `250` again when `None`.
    pub fn answer_every_message(&self, reply: Option<&str>) {
        self.shared().every_message = reply.map(str::to_owned);
    }

    /// Answers `RCPT TO` for `address` with `reply` (such as `550 5.1.1 no such user`).
    pub fn refuse_recipient(&self, address: &str, reply: &str) {
        self.shared()
            .recipients
            .insert(address.to_ascii_lowercase(), reply.to_owned());
    }

    /// The messages accepted so far, raw, in the order they arrived.
    pub fn accepted(&self) -> Vec<String> {
        self.shared().accepted.clone()
    }

    /// How many messages were offered so far (accepted or not).
    pub fn offered(&self) -> usize {
        self.shared().offered
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().expect("the SMTP script")
    }
}

impl Drop for ScriptedSmtp {
    /// Stops accepting connections.
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One SMTP conversation, until `QUIT` or a closed connection.
async fn session(stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 scripted ESMTP\r\n").await;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let verb = command.get(..4).unwrap_or_default().to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" | "HELO" => "250 scripted".to_owned(),
            "MAIL" => {
                lock(&shared).offered += 1;
                "250 2.1.0 ok".to_owned()
            }
            "RCPT" => {
                let address = command
                    .split_once('<')
                    .and_then(|(_, rest)| rest.split_once('>'))
                    .map(|(address, _)| address.to_ascii_lowercase())
                    .unwrap_or_default();
                let refusal = lock(&shared).recipients.get(&address).cloned();
                refusal.unwrap_or_else(|| "250 2.1.5 ok".to_owned())
            }
            "DATA" => {
                let _ = write.write_all(b"354 go ahead\r\n").await;
                let Some(message) = read_message(&mut lines).await else {
                    return;
                };
                let mut shared = lock(&shared);
                match shared.every_message.clone() {
                    Some(refusal) => refusal,
                    None => {
                        shared.accepted.push(message);
                        "250 2.0.0 queued".to_owned()
                    }
                }
            }
            "RSET" | "NOOP" => "250 2.0.0 ok".to_owned(),
            "QUIT" => {
                let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
                return;
            }
            _ => "500 5.5.2 unknown command".to_owned(),
        };
        if write
            .write_all(format!("{answer}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// A message's data up to its lone `.` line, with dot-stuffing undone; `None` when the
/// connection closes first.
async fn read_message(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut message = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        if line == ".\r\n" {
            return Some(message);
        }
        message.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().expect("the SMTP script")
}
