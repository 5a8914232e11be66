//! A real browser against the real server, on SQLite: headless Chromium (the Debian `chromium`
//! package) visits two pages of a little site served on another port of 127.0.0.1, each pasting
//! the server's embed code (`GET /api/3/siteTracking/code`, which loads `/t.js`). Page 1 is
//! anonymous and moves on to page 2 by script; page 2 identifies the visitor with `setEmail`
//! before `process`. Both visits must then be on the contact's timeline. A second test sends a
//! form embedded in page 1 (its snippet from `GET /api/3/forms/{id}/embed`) and lands on page 2,
//! the thank-you page. A third visits a pricing page identified, which an automation answers
//! with a tag and an email. A fourth keeps `allowTracking` consent across pages and lands with a
//! contact token that leaves the address bar.
//!
//! Chromium runs as a plain process with `--dump-dom`: it loads page 1, runs it on virtual time
//! (timers fire at once, but network requests are waited for) and prints the DOM of the page it
//! ends on. Chromium 156 never exits when a page navigates after its `load` event under
//! `--virtual-time-budget`, so page 1 moves on while it is still loading: the end of each page's
//! body is a parser-blocking script, `/settled/{n}`, which the site answers once the account's
//! timeline holds `n` visits (or after [`SETTLE_WAIT`]) with a call to the page's `settled(ok)`.
//! That also keeps the browser from moving on before page 1's visit is recorded, or exiting
//! before page 2's is. The harness's server clock stands still; the site moves it on by
//! [`BETWEEN_PAGES`] after each recorded visit, so the two visits are seconds apart.
//!
//! Without `/usr/bin/chromium` the test fails and says to install the package, unless
//! `TRACKLANE_SKIP_BROWSER_TESTS=1`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::process::Command;
use tracklane_e2e::{Engine, TestApp};
use tracklane_server::state::ManualClock;

/// Where the Debian `chromium` package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Set to `1` to skip the browser test on a machine without Chromium.
const SKIP_VARIABLE: &str = "TRACKLANE_SKIP_BROWSER_TESTS";
/// The visitor who identifies on page 2.
const EMAIL: &str = "ada@example.com";
/// How long Chromium may take for the whole visit before the test gives up.
const CHROMIUM_WAIT: Duration = Duration::from_secs(60);
/// How long `/settled/{n}` waits for the timeline to hold `n` visits.
const SETTLE_WAIT: Duration = Duration::from_secs(10);
/// How long the test waits for both visits on the contact's timeline.
const TIMELINE_WAIT: Duration = Duration::from_secs(20);
/// How long the visitor reads each page, on the server's clock (which stands still otherwise).
const BETWEEN_PAGES: Duration = Duration::from_secs(5);
/// What page 2 writes into its body once both visits are recorded.
const SETTLED_MARK: &str = "page two: settled";

/// The Chromium binary, `None` when it is missing and the skip variable is set.
///
/// # Panics
/// When it is missing and the skip variable is not set.
fn chromium() -> Option<&'static Path> {
    let binary = Path::new(CHROMIUM);
    if binary.exists() {
        return Some(binary);
    }
    if std::env::var(SKIP_VARIABLE).is_ok_and(|v| v == "1") {
        println!("note: {CHROMIUM} is missing and {SKIP_VARIABLE}=1: browser test skipped");
        return None;
    }
    panic!(
        "the browser test needs headless Chromium at {CHROMIUM}: install the Debian `chromium` \
         package (`apt-get install chromium`, as .ci/run does), or set {SKIP_VARIABLE}=1 to skip it"
    );
}

/// Enables site tracking, whitelists 127.0.0.1 and creates the contact; answers its id.
async fn set_up_tracking(app: &TestApp) -> String {
    app.update(
        "/api/3/siteTracking",
        json!({"siteTracking": {"enabled": true}}),
    )
    .await;
    let domain = app
        .post(
            "/api/3/siteTrackingDomains",
            json!({"siteTrackingDomain": {"name": "127.0.0.1"}}),
        )
        .await;
    assert!(
        [200, 201].contains(&domain.status),
        "whitelisting 127.0.0.1: {}",
        domain.text
    );
    let contact = app
        .post("/api/3/contacts", json!({"contact": {"email": EMAIL}}))
        .await;
    assert_eq!(contact.status, 201, "{}", contact.text);
    contact.body["contact"]["id"]
        .as_str()
        .expect("the contact's id")
        .to_owned()
}

/// The account's embed code, as a site would paste it.
async fn embed_code(app: &TestApp) -> String {
    let code = app.get("/api/3/siteTracking/code").await;
    assert_eq!(code.status, 200, "{}", code.text);
    assert!(
        code.text.contains(&format!("{}/t.js", app.address)),
        "the embed code loads the server's snippet: {}",
        code.text
    );
    code.text
}

/// The embed code with `setEmail` queued just before `process`.
fn with_email(code: &str, email: &str) -> String {
    let process = "vgo('process');";
    assert!(
        code.contains(process),
        "the embed code calls {process}: {code}"
    );
    code.replace(process, &format!("vgo('setEmail', '{email}');\n{process}"))
}

/// An HTML page with `code` in its head. Its body ends with a parser-blocking script that waits
/// until the timeline holds `visits` visits, then calls `settled(ok)`, whose body is `settled`;
/// `mark(text)` writes into the page.
fn page(title: &str, code: &str, visits: usize, settled: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\n{code}\n\
         </head>\n<body><p id=\"state\">{title}</p>\n<script>\n\
         function mark(text) {{ document.getElementById('state').textContent = text; }}\n\
         function settled(ok) {{ {settled} }}\n</script>\n\
         <script src=\"/settled/{visits}\"></script>\n</body></html>\n"
    )
}

/// Page 1 (anonymous, moves on to page 2) and page 2 (identifies the visitor).
fn site_pages(code: &str) -> (String, String) {
    let one = page(
        "page one",
        code,
        1,
        "if (ok) { location.href = '/page2.html'; } else { mark('page one: not settled'); }",
    );
    let two = page(
        "page two",
        &with_email(code, EMAIL),
        2,
        &format!("mark(ok ? '{SETTLED_MARK}' : 'page two: not settled');"),
    );
    (one, two)
}

/// The account's whole timeline, read through the API with its key.
#[derive(Clone)]
struct Timeline {
    client: reqwest::Client,
    url: String,
    api_key: String,
}

impl Timeline {
    /// The timeline of `app`'s account.
    fn of(app: &TestApp) -> Self {
        Self {
            client: reqwest::Client::new(),
            url: format!("{}/api/3/trackingLogs", app.address),
            api_key: app.api_key.clone(),
        }
    }

    /// How many events the account's timeline holds (0 when the server does not answer).
    async fn total(&self) -> usize {
        let Ok(answer) = self
            .client
            .get(&self.url)
            .header("Api-Token", &self.api_key)
            .send()
            .await
        else {
            return 0;
        };
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        body["meta"]["total"]
            .as_str()
            .and_then(|total| total.parse().ok())
            .unwrap_or(0)
    }

    /// Waits, at most `patience`, until the timeline holds `count` events; answers whether it does.
    async fn wait_for(&self, count: usize, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        loop {
            if self.total().await >= count {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// What the little site serves.
#[derive(Clone)]
struct Site {
    page_one: Arc<str>,
    page_two: Arc<str>,
    timeline: Timeline,
    /// The server's clock, moved on by [`BETWEEN_PAGES`] once a visit is recorded.
    clock: Arc<ManualClock>,
}

/// `GET /settled/{n}`: a script calling `settled(true)` once the timeline holds `n` visits, or
/// `settled(false)` when it does not in time.
async fn settled(State(site): State<Site>, UrlPath(count): UrlPath<usize>) -> impl IntoResponse {
    let ok = site.timeline.wait_for(count, SETTLE_WAIT).await;
    if ok {
        site.clock.advance(BETWEEN_PAGES);
    }
    (
        [(header::CONTENT_TYPE, "text/javascript")],
        format!("settled({ok});"),
    )
}

/// Serves pages one and two for `app` on a random port of 127.0.0.1 until the test ends;
/// answers its base URL.
async fn serve_site(app: &TestApp, page_one: String, page_two: String) -> String {
    let site = Site {
        page_one: page_one.into(),
        page_two: page_two.into(),
        timeline: Timeline::of(app),
        clock: app.clock.clone(),
    };
    let router = Router::new()
        .route(
            "/page1.html",
            get(|State(site): State<Site>| async move { Html(site.page_one.to_string()) }),
        )
        .route(
            "/page2.html",
            get(|State(site): State<Site>| async move { Html(site.page_two.to_string()) }),
        )
        .route("/settled/{count}", get(settled))
        .with_state(site);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the site");
    let address = listener.local_addr().expect("the site's address");
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the site serves");
    });
    format!("http://{address}")
}

/// Loads `url` in headless Chromium with a fresh profile, checks that it ends on page 2,
/// settled, and answers the DOM it ends with.
async fn browse(chromium: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().expect("a temporary Chromium profile");
    let run = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", url])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(CHROMIUM_WAIT, run)
        .await
        .unwrap_or_else(|_| panic!("Chromium did not finish within {CHROMIUM_WAIT:?}"))
        .expect("Chromium starts");
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && dom.contains(SETTLED_MARK),
        "Chromium ({}) did not end on a settled page 2.\nDOM:\n{dom}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    dom
}

/// The contact's timeline once it holds `count` entries (or what it holds after the wait).
async fn contact_logs(app: &TestApp, contact: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + TIMELINE_WAIT;
    loop {
        let answer = app
            .get(&format!("/api/3/contacts/{contact}/trackingLogs"))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let logs = answer.body["trackingLogs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if logs.len() >= count || Instant::now() >= deadline {
            return logs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Page 1 anonymous, page 2 identified: both visits end up on the contact's timeline as one
/// visit of one visitor.
#[tokio::test]
async fn chromium_visits_two_pages_and_identifies_on_the_second() {
    let Some(chromium) = chromium() else {
        return;
    };
    let app = TestApp::spawn_for_local_sites(Engine::Sqlite).await;
    let contact = set_up_tracking(&app).await;
    let (page_one, page_two) = site_pages(&embed_code(&app).await);
    let site = serve_site(&app, page_one, page_two).await;

    browse(chromium, &format!("{site}/page1.html")).await;

    let logs = contact_logs(&app, &contact, 2).await;
    assert_eq!(logs.len(), 2, "both visits on the timeline: {logs:#?}");
    let (second, first) = (&logs[0], &logs[1]);
    assert_ne!(first["tstamp"], second["tstamp"], "{logs:#?}");
    assert_eq!(second["url"], format!("{site}/page2.html"));
    assert_eq!(first["url"], format!("{site}/page1.html"));
    for log in &logs {
        assert_eq!(log["type"], "__pagevisit", "{log:#}");
        assert_eq!(log["contact"], contact.as_str(), "{log:#}");
        assert_eq!(log["device"], "desktop", "{log:#}");
    }
    let visitor = first["visitor"].as_str().unwrap_or_default();
    assert!(!visitor.is_empty(), "a visitor id: {first:#}");
    assert_eq!(second["visitor"], visitor, "one visitor on both pages");
    assert_eq!(first["startsVisit"], true, "page 1 starts the visit");
    assert_eq!(second["startsVisit"], false, "page 2 continues it");
}

/// On a site that tracks only with consent, page 1 asks for it (`process('allowTracking')`) and
/// moves on to page 2 with a contact token (`tl_cid`), as a tracked email link lands. Page 2
/// asks nothing: the kept consent lets it track, the token identifies the visitor (and page 1's
/// visit with them), the token leaves the address bar, and no stored address holds it.
#[tokio::test]
async fn chromium_keeps_consent_and_takes_the_contact_token_out_of_the_address() {
    let Some(chromium) = chromium() else {
        return;
    };
    let app = TestApp::spawn_for_local_sites(Engine::Sqlite).await;
    let contact = set_up_tracking(&app).await;
    let token = app
        .post(
            &format!("/api/3/contacts/{contact}/trackingToken"),
            json!({}),
        )
        .await;
    let token = token.body["token"].as_str().unwrap().to_owned();
    let code = embed_code(&app).await.replace(
        "vgo('setTrackByDefault', true);",
        "vgo('setTrackByDefault', false);",
    );
    let asking = code.replace("vgo('process');", "vgo('process', 'allowTracking');");
    let page_one = page(
        "page one",
        &asking,
        1,
        &format!(
            "if (ok) {{ location.href = '/page2.html?plan=pro&tl_cid={token}'; }} \
             else {{ mark('page one: not settled'); }}"
        ),
    );
    let page_two = page(
        "page two",
        &code,
        2,
        &format!("mark(ok ? '{SETTLED_MARK} at ' + location.href : 'page two: not settled');"),
    );
    let site = serve_site(&app, page_one, page_two).await;

    let dom = browse(chromium, &format!("{site}/page1.html")).await;
    assert!(
        dom.contains(&format!("{SETTLED_MARK} at {site}/page2.html?plan=pro<")),
        "the token left the address bar: {dom}"
    );
    let logs = contact_logs(&app, &contact, 2).await;
    assert_eq!(logs.len(), 2, "consent kept for page 2: {logs:#?}");
    assert_eq!(logs[0]["url"], format!("{site}/page2.html?plan=pro"));
    assert_eq!(logs[1]["url"], format!("{site}/page1.html"));
    let all = app.get("/api/3/trackingLogs").await;
    assert!(!all.text.contains("tl_cid"), "{}", all.text);
}

/// A form page (the tracking snippet and the form's snippet; once its visit is recorded, a script
/// fills the email and sends the form as a person would) and the thank-you page, which the
/// tracking snippet identifies by the `tl_cid` the submission's 303 appends.
fn form_pages(code: &str, form: &str) -> (String, String) {
    let submit = format!(
        "if (!ok) {{ mark('form page: not settled'); return; }}\n\
         var f = document.querySelector('form[data-tracklane-form]');\n\
         f.elements['email'].value = '{EMAIL}';\n\
         f.requestSubmit();"
    );
    let with_form = page("form page", code, 1, &submit).replace(
        "<body><p id=\"state\">form page</p>",
        &format!("<body><p id=\"state\">form page</p>\n{form}"),
    );
    let thanks = page(
        "thank-you page",
        code,
        3,
        &format!("mark(ok ? '{SETTLED_MARK}' : 'thank-you page: not settled');"),
    );
    (with_form, thanks)
}

/// An anonymous visit to a page with a form, the form sent, the thank-you page: the three land
/// on the contact's timeline as one visitor's (the form's snippet hands the `tl_vid` cookie over).
#[tokio::test]
async fn chromium_sends_an_embedded_form_and_is_identified() {
    let Some(chromium) = chromium() else {
        return;
    };
    let app = TestApp::spawn_for_local_sites(Engine::Sqlite).await;
    let contact = set_up_tracking(&app).await;
    let created = app
        .post("/api/3/forms", json!({"form": {"name": "Signup"}}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let form = created.body["form"]["id"].as_str().unwrap().to_owned();
    let snippet = app.get(&format!("/api/3/forms/{form}/embed")).await.text;
    let (page_one, page_two) = form_pages(&embed_code(&app).await, &snippet);
    let site = serve_site(&app, page_one, page_two).await;
    let thanks = json!({"form": {"thankYouUrl": format!("{site}/page2.html")}});
    app.update(&format!("/api/3/forms/{form}"), thanks).await;

    browse(chromium, &format!("{site}/page1.html")).await;

    let logs = contact_logs(&app, &contact, 3).await;
    let types: Vec<&str> = logs.iter().filter_map(|l| l["type"].as_str()).collect();
    assert_eq!(
        types,
        ["__pagevisit", "__form_submit", "__pagevisit"],
        "{logs:#?}"
    );
    assert_eq!(
        logs[2]["url"],
        format!("{site}/page1.html"),
        "the anonymous visit"
    );
    let visitor = logs[2]["visitor"].as_str().unwrap_or_default();
    assert!(!visitor.is_empty(), "{logs:#?}");
    for log in &logs {
        assert_eq!(log["contact"], contact.as_str(), "{log:#}");
        assert_eq!(log["visitor"], visitor, "one visitor throughout: {log:#}");
    }
}

/// Playbook (b): an identified visit to the pricing page (the site's page 1), recorded by the
/// snippet in a real browser, enters an automation that tags the visitor and emails them, with
/// no test-driven pass: the server's own workers do it, within a second of the browser being
/// done (the time is printed; the benchmark measures its percentiles).
#[tokio::test]
async fn chromium_visits_pricing_and_an_automation_tags_and_mails_the_visitor() {
    let Some(chromium) = chromium() else {
        return;
    };
    let app = TestApp::spawn_for_local_sites(Engine::Sqlite).await;
    let contact = set_up_tracking(&app).await;
    let list = app.new_list("News").await;
    crate::sending::subscribe(&app, &list, &contact, 1).await;
    let tag = app.new_tag("pricing-interested").await;
    let message = app
        .create(
            "/api/3/messages",
            json!({"message": {"subject": "About our plans", "fromemail": "team@example.com",
                "html": "<p>Questions about pricing?</p>", "text": "Questions about pricing?"}}),
        )
        .await;
    let body = json!({"automation": {"name": "Pricing", "status": "1", "definition": {
        "triggers": [{"behavior": {"visited": {"url": {"contains": "/page1.html"}}}}],
        "steps": [{"id": "tag", "addTag": tag}, {"id": "mail", "sendEmail": {"message": message}}]
    }}});
    app.create("/api/3/automations", body).await;
    let code = with_email(&embed_code(&app).await, EMAIL);
    let pricing = page(
        "pricing",
        &code,
        1,
        &format!("mark(ok ? '{SETTLED_MARK}' : 'pricing: not settled');"),
    );
    let site = serve_site(&app, pricing.clone(), pricing).await;

    browse(chromium, &format!("{site}/page1.html")).await;
    let done = Instant::now();
    let mails = crate::sending::outbox(&app, 1).await;
    let mail = crate::mail::read(&mails[0]);
    assert_eq!(mail.subject, "About our plans");
    assert!(mail.to.contains(EMAIL), "{}", mail.to);
    let tags = app
        .get(&format!("/api/3/contacts/{contact}/contactTags"))
        .await;
    assert_eq!(tags.body["contactTags"][0]["tag"], tag.as_str());
    println!(
        "tagged and mailed {} ms after the browser was done",
        done.elapsed().as_millis()
    );
}
