//! `/emailSettings` (Tracklane's own): whether the account's campaign links are tracked, the
//! scanner rules that tell a machine's clicks and opens from a person's
//! ([`tracklane_core::scanner::ScannerRules`]), and the unsubscribe footer of messages without
//! `%UNSUBSCRIBELINK%` (`null` for the default). `PUT` changes the keys it names and keeps the
//! others:
//!
//! ```json
//! {"emailSettings": {"trackLinks": true, "scannerRules": {"knownAgents": true,
//!   "knownNetworks": true, "networks": ["203.0.113.0/24"], "headRequests": true,
//!   "secondsAfterDelivery": 10, "allLinksWithinMs": 1000, "trapLink": true}}}
//! ```
//!
//! `null` switches the two timed rules off.

use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tracklane_core::email_body::check_footer;
use tracklane_core::invalid::Invalid;
use tracklane_core::scanner::ScannerRules;
use tracklane_store::email_settings::EmailSettings;

use super::doc::{get, ApiRouter};
use super::error::ApiError;
use super::extract::ApiJson;
use super::resource::Ctx;

/// The email settings routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Email settings").route(
        "/emailSettings",
        get(show, "GET /emailSettings.")
            .put(
                change,
                "PUT /emailSettings: changes the settings named, answers all of them.",
            )
            .post(change, "POST /emailSettings: the same as PUT."),
    )
}

fn settings_json(settings: &EmailSettings) -> Json<Value> {
    Json(json!({"emailSettings": {
        "trackLinks": settings.track_links,
        "scannerRules": settings.scanner,
        "unsubscribeFooter": settings.footer(),
    }}))
}

/// `GET /emailSettings`.
async fn show(ctx: Ctx) -> Result<Json<Value>, ApiError> {
    Ok(settings_json(
        &ctx.store().email_settings(ctx.account).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailSettingsEnvelope {
    email_settings: Option<EmailSettingsBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EmailSettingsBody {
    track_links: Option<bool>,
    scanner_rules: Option<Map<String, Value>>,
    /// `null` goes back to the default footer; absent keeps the current one.
    #[serde(default, deserialize_with = "present")]
    unsubscribe_footer: Option<Option<String>>,
}

/// A key that is present, `null` included (`Some(None)`), as opposed to absent (`None`).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(deserializer)?))
}

/// `PUT /emailSettings`: changes the settings named, answers all of them.
async fn change(
    ctx: Ctx,
    ApiJson(body): ApiJson<EmailSettingsEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let body = body
        .email_settings
        .ok_or_else(|| Invalid::missing("emailSettings"))?;
    let mut settings = ctx.store().email_settings(ctx.account).await?;
    if let Some(track_links) = body.track_links {
        settings.track_links = track_links;
    }
    if let Some(changes) = body.scanner_rules {
        settings.scanner = changed_rules(&settings.scanner, changes)?;
    }
    if let Some(footer) = body.unsubscribe_footer {
        settings.unsubscribe_footer = footer.as_deref().map(check_footer).transpose()?;
    }
    ctx.store()
        .set_email_settings(ctx.account, &settings, ctx.now())
        .await?;
    ctx.state.gate.forget(ctx.account);
    Ok(settings_json(&settings))
}

/// `current` with the rules named in `changes` replaced.
fn changed_rules(
    current: &ScannerRules,
    changes: Map<String, Value>,
) -> Result<ScannerRules, Invalid> {
    let mut rules = match serde_json::to_value(current) {
        Ok(Value::Object(rules)) => rules,
        _ => Map::new(),
    };
    rules.extend(changes);
    serde_json::from_value(Value::Object(rules))
        .map_err(|error| Invalid::bad_value("scannerRules", error.to_string()))
}
