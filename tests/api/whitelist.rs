//! What the site tracking whitelist may hold, through both of its endpoints: registrable domains
//! and their subdomains; local sites only on a server set up for development.

use serde_json::json;
use tracklane_e2e::{both_engines, Answer, Engine, TestApp};

/// Whitelists `name` through `/siteTrackingDomains`, then through `/prism/urlWhitelistings`.
async fn whitelist_both_ways(app: &TestApp, name: &str) -> [Answer; 2] {
    let legacy = app
        .post(
            "/api/3/siteTrackingDomains",
            json!({"siteTrackingDomain": {"name": name}}),
        )
        .await;
    let prism = app
        .post(
            "/api/3/prism/urlWhitelistings",
            json!({"data": {"type": "urlWhitelistings", "attributes": {"whitelisted_domain": name}}}),
        )
        .await;
    [legacy, prism]
}

async fn whitelisted(app: &TestApp) -> serde_json::Value {
    app.get("/api/3/siteTrackingDomains").await.body["meta"]["total"].clone()
}

async fn only_sites_domains_are_whitelisted(app: TestApp) {
    for name in [
        "..",
        "a..example.com",
        "*.com",
        "*.example.com",
        "com",
        "co.uk",
        "github.io",
        "shop.internal",
        "localhost",
        "127.0.0.1",
        "[::1]",
        "8.8.8.8",
    ] {
        let [legacy, prism] = whitelist_both_ways(&app, name).await;
        assert_eq!(legacy.status, 422, "{name}: {}", legacy.text);
        assert_eq!(
            legacy.body["errors"][0]["source"]["pointer"],
            "/data/attributes/name"
        );
        assert_eq!(prism.status, 422, "{name}: {}", prism.text);
        assert_eq!(
            prism.body["errors"][0]["source"]["pointer"],
            "/data/attributes/whitelisted_domain"
        );
    }
    assert_eq!(whitelisted(&app).await, "0", "nothing was whitelisted");

    let [legacy, prism] = whitelist_both_ways(&app, "shop.example.co.uk").await;
    assert_eq!(legacy.status, 201, "{}", legacy.text);
    assert_eq!(prism.status, 409, "the same domain: {}", prism.text);
    let [legacy, _] = whitelist_both_ways(&app, "example.com").await;
    assert_eq!(legacy.status, 201, "{}", legacy.text);
    assert_eq!(whitelisted(&app).await, "2");
}

both_engines!(only_sites_domains_are_whitelisted);

/// The setting is read by the server, whatever the engine; both are run all the same.
#[tokio::test]
async fn local_sites_are_whitelisted_only_for_development() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let app = TestApp::spawn_for_local_sites(engine).await;
        for name in ["localhost", "127.0.0.1"] {
            let [legacy, _] = whitelist_both_ways(&app, name).await;
            assert_eq!(legacy.status, 201, "{engine:?} {name}: {}", legacy.text);
        }
        let [legacy, prism] = whitelist_both_ways(&app, "com").await;
        assert_eq!((legacy.status, prism.status), (422, 422), "{engine:?}");
        assert_eq!(whitelisted(&app).await, "2", "{engine:?}");
    }
}
