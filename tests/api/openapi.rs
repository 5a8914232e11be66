//! The OpenAPI 3.1 document of `/api/3`, and a schema-driven fuzzer against it: schemathesis
//! (from PyPI; `.ci/run` installs it into a virtual environment) sends generated requests to
//! every documented operation for a bounded time, on each engine. A 500, a status or a content
//! type the document does not allow, or a body that breaks its schema fails the test.
//!
//! Without schemathesis the fuzzing test fails and says how to install it, unless
//! `TRACKLANE_SKIP_SCHEMATHESIS=1`.

use std::path::PathBuf;
use std::time::Duration;

use tokio::process::Command;
use tracklane_e2e::{both_engines, TestApp};

/// Where `.ci/run` installs schemathesis; `TRACKLANE_SCHEMATHESIS` names another.
const SCHEMATHESIS: &str = "/opt/tracklane-schemathesis/bin/schemathesis";
/// Set to `1` to skip the fuzzing on a machine without schemathesis.
const SKIP_VARIABLE: &str = "TRACKLANE_SKIP_SCHEMATHESIS";
/// How long schemathesis fuzzes each engine.
const FUZZ_SECONDS: u64 = 60;

async fn the_document_describes_every_route(app: TestApp) {
    let answer = app.send("GET", "/api/3/openapi.json", None, None).await;
    assert_eq!(answer.status, 200, "served without a key");
    let document = &answer.body;
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 80, "{}", paths.len());
    for (path, methods) in [
        ("/api/3/contacts", &["get", "post"][..]),
        ("/api/3/contacts/{id}", &["get", "put", "delete"]),
        ("/api/3/campaigns/{id}/schedule", &["post"]),
        ("/api/3/keys/{id}", &["get", "delete"]),
        ("/api/3/siteTracking/code", &["get"]),
    ] {
        for method in methods {
            let operation = &paths[path][method];
            assert!(operation.is_object(), "{method} {path} is documented");
            assert_eq!(operation["security"][0]["apiToken"], serde_json::json!([]));
        }
    }
    let id = &paths["/api/3/contacts/{id}"]["get"]["parameters"][0];
    assert_eq!(id["name"], "id");
    assert_eq!(id["in"], "path");
    assert_eq!(
        paths["/api/3/siteTracking/code"]["get"]["responses"]["2XX"]["content"]["text/plain"]
            ["schema"]["type"],
        "string"
    );
    for (path, methods) in paths {
        for method in methods.as_object().unwrap().keys() {
            let status = app
                .send(&method.to_uppercase(), path, Some(&app.api_key), None)
                .await;
            assert_ne!(
                status.body["message"], "Not Found",
                "{method} {path} is served"
            );
            assert_ne!(status.status, 405, "{method} {path} is served");
        }
    }
}

/// The schemathesis to run, `None` when it is missing and the skip variable is set.
fn schemathesis() -> Option<PathBuf> {
    let binary = std::env::var_os("TRACKLANE_SCHEMATHESIS")
        .map_or_else(|| PathBuf::from(SCHEMATHESIS), PathBuf::from);
    if binary.exists() {
        return Some(binary);
    }
    if std::env::var(SKIP_VARIABLE).is_ok_and(|v| v == "1") {
        println!(
            "note: {} is missing and {SKIP_VARIABLE}=1: fuzzing skipped",
            binary.display()
        );
        return None;
    }
    panic!(
        "the API fuzzing needs schemathesis at {}: run `python3 -m venv /opt/tracklane-schemathesis \
         && /opt/tracklane-schemathesis/bin/pip install schemathesis` (as .ci/run does), name \
         another with TRACKLANE_SCHEMATHESIS, or set {SKIP_VARIABLE}=1 to skip it",
        binary.display()
    );
}

async fn schemathesis_finds_no_server_error_and_no_answer_off_the_document(app: TestApp) {
    let Some(schemathesis) = schemathesis() else {
        return;
    };
    let workdir = tempfile::tempdir().unwrap();
    let run = Command::new(schemathesis)
        .current_dir(workdir.path())
        .args(["run", &format!("{}/api/3/openapi.json", app.address)])
        .args(["--header", &format!("Api-Token: {}", app.api_key)])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-time", &FUZZ_SECONDS.to_string()])
        .args(["--workers", "2", "--request-timeout", "30"])
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(FUZZ_SECONDS * 4), run)
        .await
        .expect("schemathesis ends within its time budget")
        .expect("schemathesis starts");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures ({}):\n{printed}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("passed"), "{printed}");
}

both_engines!(
    the_document_describes_every_route,
    schemathesis_finds_no_server_error_and_no_answer_off_the_document,
);
