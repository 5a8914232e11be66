//! Where `send` delivers: the SMTP server `--smtp-url` names, else an aiosmtpd sink (`python3 -m
//! aiosmtpd` with its `Sink` handler, which accepts every message and keeps none) that the bench
//! starts on a free port of localhost and stops at the end, else the outbox folder.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The Python that runs aiosmtpd.
const PYTHON: &str = "/usr/bin/python3";
/// How long aiosmtpd may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The SMTP server the bench delivers to, if any.
pub struct Sink {
    /// The URL handed to the server's settings; `None` for the outbox.
    pub url: Option<String>,
    /// What the table calls it (never the URL, which may hold a password).
    pub name: &'static str,
    /// The aiosmtpd process the bench started, stopped on drop.
    child: Option<Child>,
}

impl Sink {
    /// The SMTP server at `url` when given, else a new aiosmtpd sink when aiosmtpd is
    /// installed, else the outbox.
    pub fn choose(url: Option<String>) -> anyhow::Result<Self> {
        if let Some(url) = url {
            return Ok(Self {
                url: Some(url),
                name: "SMTP (--smtp-url)",
                child: None,
            });
        }
        if !aiosmtpd_installed() {
            eprintln!(
                "bench: no --smtp-url and no aiosmtpd ({PYTHON} -m aiosmtpd): \
                 mail goes to the outbox folder"
            );
            return Ok(Self::outbox("outbox (no SMTP sink)"));
        }
        Self::aiosmtpd()
    }

    /// No SMTP server: the server writes mail to its outbox folder.
    pub fn outbox(name: &'static str) -> Self {
        Self {
            url: None,
            name,
            child: None,
        }
    }

    /// Starts aiosmtpd's `Sink` on a free port of localhost and waits until it listens.
    fn aiosmtpd() -> anyhow::Result<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .context("finding a free port")?
            .port();
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting aiosmtpd")?;
        let mut sink = Self {
            url: Some(format!("smtp://127.0.0.1:{port}")),
            name: "aiosmtpd Sink",
            child: Some(child),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Some(child) = &mut sink.child {
                if let Some(status) = child.try_wait().context("watching aiosmtpd")? {
                    bail!("aiosmtpd stopped at once: {status}");
                }
            }
            if Instant::now() > deadline {
                bail!("aiosmtpd did not listen on port {port} in time");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("bench: aiosmtpd sink on 127.0.0.1:{port}");
        Ok(sink)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // Already gone is fine: either way it is stopped and reaped.
            let _killed = child.kill();
            let _reaped = child.wait();
        }
    }
}

/// Whether aiosmtpd can be imported by [`PYTHON`].
fn aiosmtpd_installed() -> bool {
    Path::new(PYTHON).exists()
        && Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}
