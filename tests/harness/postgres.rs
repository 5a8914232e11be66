//! PostgreSQL for the tests: `TRACKLANE_TEST_POSTGRES_URL` when set, otherwise a throwaway
//! cluster that the harness starts once per test process.
//!
//! The cluster runs under a small shell that waits on a pipe from the test process; when the
//! process ends (however it ends) the pipe closes, and the shell stops PostgreSQL and deletes its
//! directory, so nothing is left running. As root, the cluster runs as the `postgres` user, since
//! PostgreSQL refuses to run as root.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

/// The variable naming an existing PostgreSQL server to test against.
pub const SERVER_VARIABLE: &str = "TRACKLANE_TEST_POSTGRES_URL";

struct Cluster {
    url: String,
    _guard: Mutex<Child>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DATABASE: AtomicU32 = AtomicU32::new(0);

/// The URL of a new, empty database.
pub async fn fresh_database() -> String {
    let server = server_url();
    let name = format!(
        "tracklane_test_{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = connect(&server).await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await
        .expect("dropping an old test database");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("creating a test database");
    let (base, _) = server.rsplit_once('/').expect("a database URL with a path");
    format!("{base}/{name}")
}

/// Connects, retrying while a just-started server is still starting up.
async fn connect(url: &str) -> PgConnection {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match PgConnection::connect(url).await {
            Ok(connection) => return connection,
            Err(error) if Instant::now() > deadline => {
                panic!("connecting to the test PostgreSQL server: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn server_url() -> String {
    if let Ok(url) = std::env::var(SERVER_VARIABLE) {
        return url;
    }
    match CLUSTER.get_or_init(start_cluster) {
        Ok(cluster) => cluster.url.clone(),
        Err(why) => panic!("no PostgreSQL for the tests: {why}"),
    }
}

fn start_cluster() -> Result<Cluster, String> {
    let bin = postgres_bin()?;
    let dir = tempfile::Builder::new()
        .prefix("tracklane-pg-")
        .tempdir()
        .map_err(|e| format!("a temporary directory: {e}"))?
        .keep();
    let as_root = is_root();
    if as_root {
        run(Command::new("chown").arg("-R").arg("postgres:").arg(&dir))?;
    }
    let data = dir.join("data");
    run(as_postgres(as_root, &bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .stdout(Stdio::null()))?;
    let port = free_port()?;
    let script = format!(
        "\"$0\" -D '{data}' -p {port} -k '{dir}' -c listen_addresses=127.0.0.1 \
         -c fsync=off -c max_connections=400 >'{dir}/log' 2>&1 & pid=$!; \
         read _; kill -INT $pid; wait $pid; rm -rf '{dir}'",
        data = data.display(),
        dir = dir.display(),
    );
    let guard = as_postgres(as_root, Path::new("sh"))
        .arg("-c")
        .arg(script)
        .arg(bin.join("postgres"))
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting postgres: {e}"))?;
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    wait_until_ready(port, &dir)?;
    Ok(Cluster {
        url,
        _guard: Mutex::new(guard),
    })
}

/// The newest PostgreSQL found under `/usr/lib/postgresql/*/bin`, or `TRACKLANE_PG_BIN`.
fn postgres_bin() -> Result<PathBuf, String> {
    if let Ok(bin) = std::env::var("TRACKLANE_PG_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "PostgreSQL is not installed (apt-get install postgresql)".to_owned())?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql".to_owned())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn as_postgres(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("running {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}"))
    }
}

/// A port of localhost that nothing listens on (as of now).
pub(crate) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("a free port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("a free port: {e}"))
}

fn wait_until_ready(port: u16, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    Err(format!("PostgreSQL did not start within 60 s:\n{log}"))
}
