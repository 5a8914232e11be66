//! A real SMTP server for the tests: aiosmtpd (`python3 -m aiosmtpd`, from the Debian package
//! `python3-aiosmtpd`; `.ci/run` installs it) on a free port of localhost, keeping every message
//! it receives in a Maildir of its own.
//!
//! The server runs under a small shell that waits on a pipe from the test, as the PostgreSQL
//! cluster does (see [`crate::postgres`]): dropping the [`SmtpSink`] closes the pipe, and so does
//! the test process ending however it ends; the shell then stops the server. The drop waits for
//! that, so no server outlives its sink.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::postgres::free_port;

/// The Python that has aiosmtpd (the one on `PATH` may be another, such as a pyenv shim).
const PYTHON: &str = "/usr/bin/python3";

/// How long the server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Starts aiosmtpd in the background ("$0" is the Python, then the port, the Maildir and the
/// log file), and stops it once standard input closes.
const GUARD_SCRIPT: &str = "\"$0\" -m aiosmtpd -n -l \"127.0.0.1:$1\" \
     -c aiosmtpd.handlers.Mailbox \"$2\" >\"$3\" 2>&1 & pid=$!; \
     read _; kill $pid; wait $pid";

/// An SMTP server on localhost that accepts every message and keeps it.
pub struct SmtpSink {
    port: u16,
    dir: tempfile::TempDir,
    guard: Child,
}

impl SmtpSink {
    /// Starts the server and waits until it accepts connections. Fails, naming the package to
    /// install, when aiosmtpd is missing.
    pub async fn start() -> Self {
        let installed = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            installed,
            "no aiosmtpd for the SMTP tests: install the Debian package python3-aiosmtpd \
             (apt-get install python3-aiosmtpd; .ci/run does) so that `{PYTHON} -m aiosmtpd` runs"
        );
        let dir = tempfile::Builder::new()
            .prefix("tracklane-smtp-")
            .tempdir()
            .expect("a temporary directory for the SMTP sink");
        let port = free_port().expect("a free port for the SMTP sink");
        let guard = Command::new("sh")
            .arg("-c")
            .arg(GUARD_SCRIPT)
            .arg(PYTHON)
            .arg(port.to_string())
            .arg(dir.path().join("maildir"))
            .arg(dir.path().join("log"))
            .stdin(Stdio::piped())
            // The shell's own "Terminated" when it stops the server; aiosmtpd writes to its log.
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        let sink = Self { port, dir, guard };
        sink.wait_until_ready().await;
        sink
    }

    /// The URL to give Tracklane's `smtp_url` setting: plain SMTP, no TLS.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The raw messages received, in the order of their Maildir file names, once there are at
    /// least `count` of them; fails when fewer arrive within `timeout`. aiosmtpd adds the SMTP
    /// envelope as the headers `X-MailFrom` and `X-RcptTo`.
    pub async fn messages(&self, count: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let delivered = self.maildir().join("new");
        crate::wait_for_files(&delivered, count, timeout, |_| true)
            .await
            .unwrap_or_else(|found| {
                panic!(
                    "{found} of {count} messages reached the SMTP sink within {timeout:?}; \
                     its log:\n{}",
                    self.log()
                )
            })
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    async fn wait_until_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not accept connections on port {} within {START_TIMEOUT:?}; its \
                 log:\n{}",
                self.port,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            self.maildir().is_dir(),
            "aiosmtpd runs but made no Maildir; its log:\n{}",
            self.log()
        );
    }
}

impl Drop for SmtpSink {
    /// Closes the guard's pipe, so that the shell stops aiosmtpd, and waits for both to end.
    fn drop(&mut self) {
        drop(self.guard.stdin.take());
        if self.guard.wait().is_err() {
            let _ = self.guard.kill();
        }
    }
}
