//! The `tracklane` binary as a newcomer uses it: `serve` on an empty directory, `init --json`,
//! `account new|list`, `key new|list|revoke`, `import contacts`, settings from a file, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

mod common;

use common::{free_port, get, request, run, serve, tracklane, wait_for_port};

/// What a first start prints up to its last key (the event key).
fn printed_keys(server: &mut Child) -> String {
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut printed = String::new();
    while !printed.contains("event key") {
        assert!(
            stdout.read_line(&mut printed).unwrap() > 0,
            "keys are printed: {printed}"
        );
    }
    printed
}

/// Sends SIGTERM, waits for a clean exit, and returns what it still printed: (stdout, stderr).
fn terminate(mut child: Child) -> (String, String) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "serve exits cleanly on SIGTERM: {status}");
            let mut printed = String::new();
            if let Some(mut stdout) = child.stdout.take() {
                stdout.read_to_string(&mut printed).unwrap();
            }
            let mut logs = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut logs)
                .unwrap();
            return (printed, logs);
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_works_on_an_empty_directory_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = serve(dir.path(), port);
    assert!(printed_keys(&mut server).contains("account id (actid): 1"));
    wait_for_port(port);
    let (status, body) = get(port, "/healthz");
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("\"database\":\"sqlite\""));
    let (status, _) = get(port, "/api/3/contacts");
    assert!(status.contains("403"), "{status}");
    let (_, logs) = terminate(server);
    assert!(logs.contains("finishing requests in flight"), "{logs}");
    assert!(dir.path().join("tracklane-data/tracklane.db").exists());

    let port = free_port();
    let again = serve(dir.path(), port);
    wait_for_port(port);
    let (printed_again, _) = terminate(again);
    assert!(
        !printed_again.contains("API key"),
        "keys are shown only on the first start"
    );
}

#[test]
fn a_first_start_that_fails_creates_no_account_so_the_next_one_prints_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let busy = run(tracklane(dir.path()).args(["serve", "--listen", &format!("127.0.0.1:{port}")]));
    assert!(!busy.status.success(), "the port is in use");
    assert!(String::from_utf8_lossy(&busy.stderr).contains("listening on"));
    assert!(!String::from_utf8_lossy(&busy.stdout).contains("API key"));

    std::fs::write(dir.path().join("not-a-folder"), "").unwrap();
    let outbox = run(tracklane(dir.path()).args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--outbox-dir",
        "not-a-folder",
    ]));
    assert!(!outbox.status.success(), "the outbox cannot be written");
    assert!(String::from_utf8_lossy(&outbox.stderr).contains("outbox"));
    assert!(!String::from_utf8_lossy(&outbox.stdout).contains("API key"));

    let smtp = run(tracklane(dir.path()).args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--smtp-url",
        "gopher://mail.example.com",
    ]));
    assert!(!smtp.status.success(), "the SMTP URL is refused");
    assert!(String::from_utf8_lossy(&smtp.stderr).contains("SMTP URL"));
    assert!(!String::from_utf8_lossy(&smtp.stdout).contains("API key"));
    drop(taken);

    let port = free_port();
    let mut server = serve(dir.path(), port);
    let printed = printed_keys(&mut server);
    assert!(
        printed.contains("account id (actid): 1"),
        "the start that succeeds prints the keys"
    );
    terminate(server);
}

#[test]
fn init_prints_json_once_and_accounts_and_keys_are_managed_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(tracklane(dir.path()).args(["init", "--json"]));
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let keys: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(keys["actid"], "1");
    assert_eq!(keys["api_key"].as_str().unwrap().len(), 64);
    assert_ne!(keys["api_key"], keys["event_key"]);

    let second = run(tracklane(dir.path()).args(["init", "--json"]));
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("key new"));

    let brand = run(tracklane(dir.path()).args(["account", "new", "Brand B", "--json"]));
    assert!(
        brand.status.success(),
        "{}",
        String::from_utf8_lossy(&brand.stderr)
    );
    let brand: serde_json::Value = serde_json::from_slice(&brand.stdout).unwrap();
    assert_eq!(brand["actid"], "2");
    assert_ne!(brand["api_key"], keys["api_key"]);
    let accounts = run(tracklane(dir.path()).args(["account", "list"]));
    let accounts = String::from_utf8(accounts.stdout).unwrap();
    assert!(
        accounts.contains("Default") && accounts.contains("Brand B"),
        "{accounts}"
    );
    let blank = run(tracklane(dir.path()).args(["account", "new", " "]));
    assert!(!blank.status.success());

    let fresh =
        run(tracklane(dir.path()).args(["key", "new", "--name", "zapier", "--account", "2"]));
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    let key = String::from_utf8(fresh.stdout).unwrap();
    assert_eq!(key.trim().len(), 64);
    let listed = run(tracklane(dir.path()).args(["key", "list", "--account", "2"]));
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("zapier") && listed.contains("never"),
        "{listed}"
    );
    assert!(
        !listed.contains(key.trim()),
        "a listing never shows a secret"
    );
    let id = listed
        .lines()
        .find(|line| line.contains("zapier"))
        .and_then(|line| line.split_whitespace().next())
        .unwrap()
        .to_owned();
    let revoked = run(tracklane(dir.path()).args(["key", "revoke", &id, "--account", "2"]));
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let listed = run(tracklane(dir.path()).args(["key", "list", "--account", "2"]));
    let zapier = String::from_utf8(listed.stdout).unwrap();
    let zapier = zapier
        .lines()
        .find(|line| line.contains("zapier"))
        .unwrap()
        .to_owned();
    assert!(!zapier.trim_end().ends_with('-'), "revoked: {zapier}");
    let elsewhere = run(tracklane(dir.path()).args(["key", "revoke", &id, "--account", "1"]));
    assert!(
        !elsewhere.status.success(),
        "another account's key is not found"
    );
    let missing = run(tracklane(dir.path()).args(["key", "new", "--name", "x", "--account", "9"]));
    assert!(!missing.status.success());
}

#[test]
fn settings_come_from_flags_then_environment_then_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tracklane.toml"),
        "data_dir = \"from-file\"\n",
    )
    .unwrap();
    let from_file = run(tracklane(dir.path()).args(["migrate", "--config", "tracklane.toml"]));
    assert!(
        from_file.status.success(),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    assert!(dir.path().join("from-file/tracklane.db").exists());

    let from_env = run(tracklane(dir.path())
        .args(["migrate", "--config", "tracklane.toml"])
        .env("TRACKLANE_DATA_DIR", "from-env"));
    assert!(from_env.status.success());
    assert!(dir.path().join("from-env/tracklane.db").exists());

    let from_flag = run(tracklane(dir.path())
        .args([
            "migrate",
            "--config",
            "tracklane.toml",
            "--data-dir",
            "from-flag",
        ])
        .env("TRACKLANE_DATA_DIR", "from-env"));
    assert!(from_flag.status.success());
    assert!(dir.path().join("from-flag/tracklane.db").exists());

    std::fs::write(dir.path().join("bad.toml"), "lisen = \"x\"\n").unwrap();
    let bad = run(tracklane(dir.path()).args(["migrate", "--config", "bad.toml"]));
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bad.toml"));
}

#[test]
fn import_reports_rejected_rows_by_line() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(tracklane(dir.path()).arg("init")).status.success());
    std::fs::write(
        dir.path().join("people.csv"),
        "Email,First Name,Last Name\nada@example.com,Ada,Lovelace\nnot-an-email,Bob,B\ngrace@navy.mil,Grace,Hopper\n",
    )
    .unwrap();
    let import = run(tracklane(dir.path()).args(["import", "contacts", "people.csv"]));
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert!(
        String::from_utf8_lossy(&import.stdout).contains("2 contacts imported, 1 rows rejected")
    );
    assert!(String::from_utf8_lossy(&import.stderr).contains("line 3: email"));
    let no_file = run(tracklane(dir.path()).args(["import", "contacts", "missing.csv"]));
    assert!(!no_file.status.success());
}

/// `init --json` in `dir`: the keys, and the headers of a JSON request with the API key.
fn init_with_api_headers(dir: &std::path::Path) -> (serde_json::Value, String) {
    let init = run(tracklane(dir).args(["init", "--json"]));
    let keys: serde_json::Value = serde_json::from_slice(&init.stdout).unwrap();
    let headers = format!(
        "Api-Token: {}\r\nContent-Type: application/json\r\n",
        keys["api_key"].as_str().unwrap()
    );
    (keys, headers)
}

#[test]
fn import_with_a_list_subscribes_every_imported_contact() {
    let dir = tempfile::tempdir().unwrap();
    let (_, headers) = init_with_api_headers(dir.path());
    std::fs::write(
        dir.path().join("people.csv"),
        "email\nada@example.com\ngrace@navy.mil\n",
    )
    .unwrap();
    let args = ["import", "contacts", "people.csv", "--list", "1"];
    let no_list = run(tracklane(dir.path()).args(args));
    assert!(!no_list.status.success());
    assert!(String::from_utf8_lossy(&no_list.stderr).contains("there is no list 1"));

    let port = free_port();
    let server = serve(dir.path(), port);
    wait_for_port(port);
    let (status, _) = request(
        port,
        "POST",
        "/api/3/lists",
        &headers,
        r#"{"list":{"name":"Newsletter"}}"#,
    );
    assert!(status.starts_with("HTTP/1.0 20"), "{status}");
    let import = run(tracklane(dir.path()).args(args));
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let (status, body) = request(port, "GET", "/api/3/contacts?listid=1", &headers, "");
    terminate(server);
    assert!(status.contains("200"), "{status}");
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["meta"]["total"], "2", "{body}");
}

#[test]
fn contacts_and_the_timeline_export_and_an_export_imports_back() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, headers) = init_with_api_headers(dir.path());
    let port = free_port();
    let server = serve(dir.path(), port);
    wait_for_port(port);
    let api = |method: &str, path: &str, body: &str| {
        let (status, answer) = request(port, method, path, &headers, body);
        assert!(
            status.starts_with("HTTP/1.0 20"),
            "{path}: {status} {answer}"
        );
    };
    api(
        "POST",
        "/api/3/fields",
        r#"{"field":{"title":"Company","type":"text"}}"#,
    );
    api("POST", "/api/3/lists", r#"{"list":{"name":"News"}}"#);
    std::fs::write(
        dir.path().join("people.csv"),
        "Email,First Name,Company\nada@example.com,Ada,\"Acme, Inc\"\nbob@example.com,Bob,\n",
    )
    .unwrap();
    let import =
        run(tracklane(dir.path()).args(["import", "contacts", "people.csv", "--list", "1"]));
    let summary = String::from_utf8_lossy(&import.stdout);
    assert!(
        summary.contains("2 contacts imported") && summary.contains("rows/s"),
        "{summary}"
    );
    assert!(
        !String::from_utf8_lossy(&import.stderr).contains('\u{1b}'),
        "no bar off a terminal"
    );
    api("POST", "/api/3/tags", r#"{"tag":{"tag":"vip"}}"#);
    api(
        "POST",
        "/api/3/contactTags",
        r#"{"contactTag":{"contact":"1","tag":"1"}}"#,
    );
    api(
        "PUT",
        "/api/3/eventTracking",
        r#"{"eventTracking":{"enabled":true}}"#,
    );
    api(
        "POST",
        "/api/3/eventTrackingEvents",
        r#"{"eventTrackingEvent":{"name":"signup"}}"#,
    );
    let event = format!(
        "actid=1&key={}&event=signup&eventdata=pro&visit=%7B%22email%22%3A%22ada%40example.com%22%7D",
        keys["event_key"].as_str().unwrap()
    );
    let (status, _) = request(
        port,
        "POST",
        "/event",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        &event,
    );
    assert!(status.contains("200"), "{status}");

    let exported = run(tracklane(dir.path()).args(["export", "contacts"]));
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let mut csv = csv::Reader::from_reader(&exported.stdout[..]);
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "id",
            "email",
            "firstName",
            "lastName",
            "phone",
            "Company",
            "tags",
            "lists",
            "created"
        ]
    );
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][1], "ada@example.com");
    assert_eq!(&rows[0][5], "Acme, Inc");
    assert_eq!(&rows[0][6], "vip");
    assert_eq!(&rows[0][7], "News=active");
    assert_eq!(&rows[1][6], "");

    let timeline = run(tracklane(dir.path()).args(["export", "timeline"]));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&timeline.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["name"], "signup");
    assert_eq!(lines[0]["data"], "pro");
    assert_eq!(lines[0]["contact"], "1");
    let bobs = run(tracklane(dir.path()).args(["export", "timeline", "--contact", "2"]));
    assert!(bobs.status.success());
    assert!(bobs.stdout.is_empty());
    let nobody = run(tracklane(dir.path()).args(["export", "timeline", "--contact", "99"]));
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("there is no contact 99"));

    let to_file = run(tracklane(dir.path()).args(["export", "contacts", "-o", "out.csv"]));
    assert!(to_file.status.success());
    assert!(String::from_utf8_lossy(&to_file.stderr).contains("2 contacts exported"));
    let back = run(tracklane(dir.path()).args(["import", "contacts", "out.csv"]));
    assert!(
        String::from_utf8_lossy(&back.stdout).contains("2 contacts imported, 0 rows rejected"),
        "{}",
        String::from_utf8_lossy(&back.stdout)
    );
    terminate(server);
}
