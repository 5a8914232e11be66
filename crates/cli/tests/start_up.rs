//! Start-up and configuration that explain themselves: a public URL that is one, no serving on
//! every interface without it, a SQLite file created from its URL alone, an unwritable data
//! directory and an unreachable PostgreSQL named at once, plain logs without notices, and
//! commands whose help lists only their own flags.

use std::process::Output;
use std::time::{Duration, Instant};

mod common;

use common::{free_port, run, tracklane};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn serving_needs_a_public_url_that_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let everywhere = format!("0.0.0.0:{}", free_port());
    let refused = run(tracklane(dir.path()).args(["serve", "--listen", &everywhere]));
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains("--public-url"), "{said}");
    assert!(said.contains(&format!("http://{everywhere}")), "{said}");
    assert!(
        !dir.path().join("tracklane-data").exists(),
        "refused before touching anything"
    );

    for bad in ["track.example.com", "ftp://track.example.com"] {
        let refused = run(tracklane(dir.path()).args(["serve", "--public-url", bad]));
        assert!(!refused.status.success(), "{bad}");
        let said = stderr(&refused);
        assert!(
            said.contains("--public-url") && said.contains("https://"),
            "{bad}: {said}"
        );
    }
}

#[test]
fn a_sqlite_url_creates_its_file_and_logs_are_plain() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("own.db");
    let url = format!("sqlite:{}", file.display());
    let migrated = run(tracklane(dir.path()).args(["migrate", "--database-url", &url]));
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(file.exists());
    let said = stderr(&migrated);
    assert!(said.contains("database ready"), "{said}");
    assert!(
        !said.contains('\u{1b}'),
        "no colours off a terminal: {said:?}"
    );
}

#[test]
fn an_unwritable_data_directory_is_named_with_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let data_dir = blocker.join("data");
    let refused = run(tracklane(dir.path())
        .args(["migrate", "--data-dir"])
        .arg(&data_dir));
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains(&data_dir.display().to_string()), "{said}");
    assert!(said.contains("by the user "), "{said}");
    assert!(!said.contains("(unknown)"), "the user has a name: {said}");
}

#[test]
fn a_postgresql_server_that_refuses_fails_at_once_with_its_address() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("postgres://tracklane:secret-pw@127.0.0.1:{port}/tracklane");
    let started = Instant::now();
    let refused = run(tracklane(dir.path()).args(["migrate", "--database-url", &url]));
    let took = started.elapsed();
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains(&format!("127.0.0.1:{port}")), "{said}");
    assert!(!said.contains("secret-pw"), "{said}");
    assert!(
        took < Duration::from_secs(5),
        "refused after {took:?}, not at once"
    );
}

#[test]
fn migrating_postgresql_again_logs_no_notices() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = runtime.block_on(tracklane_e2e::postgres::fresh_database());
    let dir = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let migrated = run(tracklane(dir.path()).args(["migrate", "--database-url", &url]));
        assert!(migrated.status.success(), "{}", stderr(&migrated));
        let said = stderr(&migrated);
        assert!(!said.contains("already exists"), "round {round}: {said}");
        assert!(!said.contains("INFO sqlx"), "round {round}: {said}");
    }
}

#[test]
fn commands_that_open_the_database_list_only_their_own_flags() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        &["init", "--help"][..],
        &["migrate", "--help"],
        &["import", "contacts", "--help"],
        &["account", "new", "--help"],
        &["key", "list", "--help"],
    ] {
        let help = run(tracklane(dir.path()).args(command));
        assert!(help.status.success(), "{command:?}");
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("--database-url"), "{command:?}: {text}");
        assert!(text.contains("--data-dir"), "{command:?}: {text}");
        for foreign in [
            "--smtp-url",
            "--listen",
            "--public-url",
            "--max-connections",
        ] {
            assert!(
                !text.contains(foreign),
                "{command:?} lists {foreign}: {text}"
            );
        }
    }
    let serve = run(tracklane(dir.path()).args(["serve", "--help"]));
    let text = String::from_utf8_lossy(&serve.stdout);
    assert!(
        text.contains("--smtp-url") && text.contains("--metrics-token"),
        "{text}"
    );
}

#[test]
fn exports_read_postgresql_too() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = runtime.block_on(tracklane_e2e::postgres::fresh_database());
    let dir = tempfile::tempdir().unwrap();
    let init = run(tracklane(dir.path()).args(["init", "--database-url", &url]));
    assert!(init.status.success(), "{}", stderr(&init));
    std::fs::write(dir.path().join("people.csv"), "email\nada@example.com\n").unwrap();
    let import = run(tracklane(dir.path()).args([
        "import",
        "contacts",
        "people.csv",
        "--database-url",
        &url,
    ]));
    assert!(import.status.success(), "{}", stderr(&import));
    let contacts = run(tracklane(dir.path()).args(["export", "contacts", "--database-url", &url]));
    assert!(contacts.status.success(), "{}", stderr(&contacts));
    let csv = String::from_utf8_lossy(&contacts.stdout);
    assert!(
        csv.lines()
            .nth(1)
            .is_some_and(|row| row.contains("ada@example.com")),
        "{csv}"
    );
    let timeline = run(tracklane(dir.path()).args(["export", "timeline", "--database-url", &url]));
    assert!(timeline.status.success(), "{}", stderr(&timeline));
    assert!(stderr(&timeline).contains("0 events exported"));
}
