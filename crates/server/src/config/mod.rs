//! Settings. Each comes, in order of precedence, from a command-line flag, a `TRACKLANE_*`
//! environment variable, the TOML file named by `--config`, or its default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./tracklane-data";
/// The default largest request body: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// The name of the SQLite file in the data directory.
pub const SQLITE_FILE: &str = "tracklane.db";
/// The default SMTP sending rate, in messages per second.
pub const DEFAULT_SMTP_RATE: u32 = 50;
/// The name of the outbox folder in the data directory.
pub const OUTBOX_DIR: &str = "outbox";
/// The default number of form submissions one client address may make per minute.
pub const DEFAULT_FORM_RATE_PER_MINUTE: u32 = 10;

/// The default deadline for a request's headers, from when the connection opens or its previous
/// response ends, in seconds.
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// The default longest wait for the next part of a request body, in seconds.
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;
/// The default deadline for a whole request (its body and the answer), in seconds.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 60;
/// The default most connections open at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// One layer of settings, every one optional: the flags and variables, or the file.
#[derive(Default, Clone, Deserialize, clap::Args)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SettingsLayer {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "TRACKLANE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the SQLite database, the outbox and other files [default: ./tracklane-data]
    #[arg(long, env = "TRACKLANE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: postgres://user:pass@host/db for PostgreSQL [default: SQLite in the data
    /// directory]
    #[arg(long, env = "TRACKLANE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The address the world reaches this server at, written into snippets and tracked links
    /// [default: http://<listen>]
    #[arg(long, env = "TRACKLANE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes [default: 1048576]
    #[arg(long, env = "TRACKLANE_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Database connections per node [default: 8]
    #[arg(long, env = "TRACKLANE_DB_POOL_SIZE")]
    pub db_pool_size: Option<u32>,
    /// Log format [default: text]
    #[arg(long, env = "TRACKLANE_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Days after which visits and events never tied to a contact are deleted [default: 30]
    #[arg(long, env = "TRACKLANE_ANONYMOUS_RETENTION_DAYS")]
    pub anonymous_retention_days: Option<u32>,
    /// Tracking requests that may wait for the database at once; past that, 503 [default: 20000]
    #[arg(long, env = "TRACKLANE_INGEST_QUEUE")]
    pub ingest_queue: Option<usize>,
    /// SMTP server for outgoing mail, as a URL: smtp://user:pass@host:587?tls=required (STARTTLS),
    /// smtps://user:pass@host (TLS from the start) or smtp://host:25 (no TLS) [default: none,
    /// mail is written to the outbox folder]
    #[arg(long, env = "TRACKLANE_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Messages sent per second over SMTP by this node; 0 for no limit [default: 50]
    #[arg(long, env = "TRACKLANE_SMTP_RATE")]
    pub smtp_rate: Option<u32>,
    /// Folder where mail is written as .eml files when no SMTP server is configured [default:
    /// <data_dir>/outbox]
    #[arg(long, env = "TRACKLANE_OUTBOX_DIR")]
    pub outbox_dir: Option<PathBuf>,
    /// Form submissions one client address may make per minute; 0 for no limit [default: 10]
    #[arg(long, env = "TRACKLANE_FORM_RATE_PER_MINUTE")]
    pub form_rate_per_minute: Option<u32>,
    /// Proxies whose X-Forwarded-For header names the client, as comma-separated CIDRs
    /// (10.0.0.0/8,::1/128) [default: none, the peer address is the client]
    #[arg(long, env = "TRACKLANE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<IpNet>>,
    /// Lets the site tracking whitelist hold localhost, names under .localhost and loopback
    /// addresses, for development [default: false]
    #[arg(
        long,
        env = "TRACKLANE_ALLOW_LOCAL_SITES",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub allow_local_sites: Option<bool>,
    /// Lets webhooks be delivered to private receivers (loopback, private networks,
    /// `localhost`), for development and tests; link-local and metadata addresses stay refused
    /// [default: false]
    #[arg(
        long,
        env = "TRACKLANE_ALLOW_PRIVATE_WEBHOOKS",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub allow_private_webhooks: Option<bool>,
    /// Whether this node attempts webhook deliveries; a node that does not still records the
    /// changes they report, and leaves their delivery to the nodes that do [default: true]
    #[arg(long, env = "TRACKLANE_WEBHOOK_DELIVERY")]
    pub webhook_delivery: Option<bool>,
    /// Seconds a connection may take to send a request's headers, counted from when it opens or
    /// its previous response ends (so also how long an idle kept-alive connection stays open)
    /// [default: 10]
    #[arg(long, env = "TRACKLANE_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a request body may pause between two of its parts; past that, 408 [default: 30]
    #[arg(long, env = "TRACKLANE_BODY_TIMEOUT_SECS")]
    pub body_timeout_secs: Option<u64>,
    /// Seconds a whole request (reading its body and answering) may take; past that, 408
    /// [default: 60]
    #[arg(long, env = "TRACKLANE_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Connections open at once; new ones past that get a 503 and are closed [default: 4096]
    #[arg(long, env = "TRACKLANE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Serve /metrics on this address only, not on the public one (such as 127.0.0.1:9090)
    /// [default: on the public address]
    #[arg(long, env = "TRACKLANE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Answer /metrics only to `Authorization: Bearer <token>` [default: none]
    #[arg(long, env = "TRACKLANE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl SettingsLayer {
    /// Reads a TOML settings file (the same names as the flags, with underscores).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the settings file {}", path.display()))?;
        Self::from_toml(&text)
            .with_context(|| format!("parsing the settings file {}", path.display()))
    }

    /// Reads settings from TOML text. An error names the line, the column and the key, never the
    /// text of a line: for a secret's key (a URL that may hold a password) not even the parser's
    /// message, which may quote the value.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        toml::from_str(text).map_err(|error| anyhow::anyhow!(describe_toml_error(text, &error)))
    }

    /// Settings from this layer, falling back to `lower` and then to the defaults.
    pub fn resolve(self, lower: SettingsLayer) -> anyhow::Result<Settings> {
        let listen = match self.listen.or(lower.listen) {
            Some(listen) => listen,
            None => DEFAULT_LISTEN
                .parse()
                .context("the default listen address")?,
        };
        let data_dir = self
            .data_dir
            .or(lower.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let public_url = match self.public_url.or(lower.public_url) {
            Some(url) if !url.trim().is_empty() => checked_public_url(&url)?,
            _ => String::new(),
        };
        let outbox_dir = self
            .outbox_dir
            .or(lower.outbox_dir)
            .unwrap_or_else(|| data_dir.join(OUTBOX_DIR));
        Ok(Settings {
            listen,
            data_dir,
            database_url: self
                .database_url
                .or(lower.database_url)
                .map(SecretString::from),
            public_url,
            max_body_bytes: self
                .max_body_bytes
                .or(lower.max_body_bytes)
                .unwrap_or(DEFAULT_MAX_BODY_BYTES),
            db_pool_size: self.db_pool_size.or(lower.db_pool_size).unwrap_or(8),
            log_format: self.log_format.or(lower.log_format).unwrap_or_default(),
            anonymous_retention_days: self
                .anonymous_retention_days
                .or(lower.anonymous_retention_days)
                .unwrap_or(30),
            ingest_queue: self
                .ingest_queue
                .or(lower.ingest_queue)
                .unwrap_or(20_000)
                .max(1),
            smtp_url: self.smtp_url.or(lower.smtp_url).map(SecretString::from),
            smtp_rate: self
                .smtp_rate
                .or(lower.smtp_rate)
                .unwrap_or(DEFAULT_SMTP_RATE),
            outbox_dir,
            form_rate_per_minute: self
                .form_rate_per_minute
                .or(lower.form_rate_per_minute)
                .unwrap_or(DEFAULT_FORM_RATE_PER_MINUTE),
            trusted_proxies: self
                .trusted_proxies
                .or(lower.trusted_proxies)
                .unwrap_or_default(),
            allow_local_sites: self
                .allow_local_sites
                .or(lower.allow_local_sites)
                .unwrap_or(false),
            allow_private_webhooks: self
                .allow_private_webhooks
                .or(lower.allow_private_webhooks)
                .unwrap_or(false),
            webhook_delivery: self
                .webhook_delivery
                .or(lower.webhook_delivery)
                .unwrap_or(true),
            header_timeout: seconds(
                self.header_timeout_secs.or(lower.header_timeout_secs),
                DEFAULT_HEADER_TIMEOUT_SECS,
            ),
            body_timeout: seconds(
                self.body_timeout_secs.or(lower.body_timeout_secs),
                DEFAULT_BODY_TIMEOUT_SECS,
            ),
            request_timeout: seconds(
                self.request_timeout_secs.or(lower.request_timeout_secs),
                DEFAULT_REQUEST_TIMEOUT_SECS,
            ),
            max_connections: self
                .max_connections
                .or(lower.max_connections)
                .unwrap_or(DEFAULT_MAX_CONNECTIONS)
                .max(1),
            metrics_listen: self.metrics_listen.or(lower.metrics_listen),
            metrics_token: self
                .metrics_token
                .or(lower.metrics_token)
                .filter(|token| !token.trim().is_empty())
                .map(SecretString::from),
        })
    }
}

/// The public URL as given, checked to be an absolute http(s) URL with a host and nothing after
/// its path, without its trailing slash.
fn checked_public_url(given: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(given.trim());
    // A URL with a password is shown without it.
    let shown = match &parsed {
        Ok(url) => {
            let mut url = url.clone();
            let _ = url.set_password(None);
            let _ = url.set_username("");
            url.to_string()
        }
        Err(_) => given.to_owned(),
    };
    let refuse = |why: &str| {
        anyhow::anyhow!(
            "--public-url {shown:?} {why}: give the address the world reaches this server at, \
             such as https://track.example.com"
        )
    };
    let url = parsed.map_err(|_| refuse("is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("must start with http:// or https://"));
    }
    if !url.has_host() {
        return Err(refuse("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("must not hold a user or a password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("must not have a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The keys whose values are secrets.
const SECRET_KEYS: [&str; 3] = ["database_url", "smtp_url", "metrics_token"];

/// What went wrong in a settings file, without the text of its lines.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span() else {
        return error.message().to_owned();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
    let key = text
        .lines()
        .nth(line - 1)
        .and_then(|line| line.split_once('='))
        .map(|(key, _)| key.trim().trim_matches('"'))
        .unwrap_or_default();
    if SECRET_KEYS.contains(&key) {
        format!("line {line}, column {column}: the value of {key} is not valid (not shown: it may hold a password)")
    } else if key.is_empty() {
        format!("line {line}, column {column}: {}", error.message())
    } else {
        format!(
            "line {line}, column {column}, key {key}: {}",
            error.message()
        )
    }
}

/// A duration of `secs` seconds, or of `default` ones; never zero.
fn seconds(secs: Option<u64>, default: u64) -> Duration {
    Duration::from_secs(secs.unwrap_or(default).max(1))
}

/// The settings a server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The database URL when one is configured (secret: it may hold a password).
    pub database_url: Option<SecretString>,
    /// The public base URL, without a trailing slash. Empty when not configured, until the
    /// server binds: then it is `http://<the bound address>`.
    pub public_url: String,
    /// The largest accepted request body.
    pub max_body_bytes: usize,
    /// Database connections per node.
    pub db_pool_size: u32,
    /// Log format.
    pub log_format: LogFormat,
    /// Days anonymous visits and events are kept.
    pub anonymous_retention_days: u32,
    /// Tracking submissions that may wait for the database at once.
    pub ingest_queue: usize,
    /// The SMTP server's URL when one is configured (secret: it may hold a password). Without
    /// one, mail goes to [`Settings::outbox_dir`].
    pub smtp_url: Option<SecretString>,
    /// Messages per second this node sends over SMTP; 0 means no limit.
    pub smtp_rate: u32,
    /// Where mail is written as `.eml` files when no SMTP server is configured.
    pub outbox_dir: PathBuf,
    /// Form submissions one client address may make per minute; 0 means no limit.
    pub form_rate_per_minute: u32,
    /// The proxies trusted to name the client in `X-Forwarded-For` (see [`crate::client_ip`]).
    pub trusted_proxies: Vec<IpNet>,
    /// Whether the site tracking whitelist may hold local sites (`localhost`, loopback
    /// addresses): for development only.
    pub allow_local_sites: bool,
    /// Whether webhooks may be delivered to private receivers: for development and tests.
    pub allow_private_webhooks: bool,
    /// Whether this node attempts webhook deliveries.
    pub webhook_delivery: bool,
    /// How long a connection may take to send a request's headers, from when it opens or its
    /// previous response ends.
    pub header_timeout: Duration,
    /// How long a request body may pause between two of its parts.
    pub body_timeout: Duration,
    /// How long a whole request may take.
    pub request_timeout: Duration,
    /// The most connections open at once.
    pub max_connections: usize,
    /// Where `/metrics` is served instead of the public address, when set.
    pub metrics_listen: Option<SocketAddr>,
    /// The bearer token `/metrics` asks for, when set (secret).
    pub metrics_token: Option<SecretString>,
}

impl Settings {
    /// The database URL: the configured one, or the SQLite file in the data directory.
    pub fn database_url(&self) -> SecretString {
        match &self.database_url {
            Some(url) => url.clone(),
            None => SecretString::from(format!(
                "sqlite://{}",
                self.data_dir.join(SQLITE_FILE).display()
            )),
        }
    }

    /// Refuses to serve on every interface (`0.0.0.0`, `::`) without a public URL: the links,
    /// snippets and tracked URLs would name that address, which no visitor can reach.
    pub fn check_reachable(&self) -> anyhow::Result<()> {
        if self.listen.ip().is_unspecified() && self.public_url.is_empty() {
            anyhow::bail!(
                "listening on {} needs --public-url (TRACKLANE_PUBLIC_URL): snippets, forms and \
                 tracked links are written with the server's public address, and \
                 http://{} is no address a visitor can reach. Give the one the world uses, such \
                 as --public-url https://track.example.com",
                self.listen,
                self.listen
            );
        }
        Ok(())
    }

    /// Whether the database is the embedded SQLite file.
    pub fn uses_embedded_database(&self) -> bool {
        self.database_url
            .as_ref()
            .is_none_or(|url| url.expose_secret().starts_with("sqlite:"))
    }
}

#[cfg(test)]
mod tests;
