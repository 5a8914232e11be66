//! "Send to developer" (Constant Contact's button, Tracklane's route): `POST
//! /siteTracking/code/send` mails the account's embed code and the installation steps to the
//! person who edits the site.

use axum::Json;
use html_escape::encode_text;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::email::ContactEmail;
use tracklane_core::text::{optional, NAME_MAX};

use super::doc::{post, ApiRouter};
use super::error::ApiError;
use super::extract::ApiJson;
use super::resource::Ctx;
use crate::mailer::{message_id, Envelope};
use crate::track::snippet::embed_code;

/// The longest note for the developer, in characters.
pub const NOTE_MAX: usize = 2_000;

/// The route.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Developer").route("/siteTracking/code/send", post(send_to_developer, "POST /siteTracking/code/send: {\"email\": \"dev@agency.example\", \"fromemail\": \"me@shop.example\", \"fromname\": \"Ada\", \"note\": \"...\"} mails the embed code and the steps to email, from (and replying to) fromemail. Answers {\"developerEmail\": {to, sent: true}}; the mail server's refusal is a 502 with its answer."))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeveloperBody {
    /// The developer's address.
    email: Option<String>,
    /// Who asks (the sender, and where replies go).
    fromemail: Option<String>,
    fromname: Option<String>,
    /// A word for the developer, put above the steps.
    note: Option<String>,
}

/// The installation steps, as plain text paragraphs; the code goes between the first and the
/// second.
fn steps(asker: &str, domains: &[String]) -> [String; 4] {
    let domains = if domains.is_empty() {
        format!("none yet: ask {asker} to add the site's domain")
    } else {
        domains.join(", ")
    };
    [
        format!("{asker} asks you to install site tracking on their website. Paste this code on every page, just before </head>:"),
        format!("Tracked pages must be on a whitelisted domain ({domains}); pages elsewhere are refused."),
        "Once a page with the code is visited, the domain shows as \"receiving\" in GET /api/3/siteTrackingDomains.".to_owned(),
        "When the visitor is known (signed in), add vgo('setEmail', 'their@address') before vgo('process'). On a site that asks for consent, use vgo('setTrackByDefault', false) and call vgo('process', 'allowTracking') once they agree: the consent is kept for their next pages.".to_owned(),
    ]
}

/// `POST /siteTracking/code/send`: `{"email": "dev@agency.example", "fromemail":
/// "me@shop.example", "fromname": "Ada", "note": "..."}` mails the embed code and the steps to
/// `email`, from (and replying to) `fromemail`. Answers `{"developerEmail": {to, sent: true}}`;
/// the mail server's refusal is a 502 with its answer.
async fn send_to_developer(
    ctx: Ctx,
    ApiJson(body): ApiJson<DeveloperBody>,
) -> Result<Json<Value>, ApiError> {
    let to = ContactEmail::parse(body.email.as_deref().unwrap_or_default())?;
    let from =
        ContactEmail::parse(body.fromemail.as_deref().unwrap_or_default()).map_err(|refusal| {
            tracklane_core::invalid::Invalid {
                attribute: "fromemail",
                ..refusal
            }
        })?;
    let from_name = optional("fromname", body.fromname.as_deref(), NAME_MAX)?.unwrap_or_default();
    let note = optional("note", body.note.as_deref(), NOTE_MAX)?.unwrap_or_default();
    let domains: Vec<String> = ctx
        .store()
        .site_domains(ctx.account)
        .await?
        .into_iter()
        .map(|domain| domain.name)
        .collect();
    let asker = if from_name.is_empty() {
        from.as_str().to_owned()
    } else {
        from_name.clone()
    };
    let [first, rest @ ..] = steps(&asker, &domains);
    let code = embed_code(ctx.base(), ctx.account.0);
    let mut text = String::new();
    let mut html = String::new();
    if !note.is_empty() {
        text.push_str(&format!("{note}\n\n"));
        html.push_str(&format!("<p>{}</p>", encode_text(&note)));
    }
    text.push_str(&format!("{first}\n\n{code}\n\n"));
    html.push_str(&format!(
        "<p>{}</p><pre>{}</pre>",
        encode_text(&first),
        encode_text(&code)
    ));
    for step in &rest {
        text.push_str(&format!("{step}\n\n"));
        html.push_str(&format!("<p>{}</p>", encode_text(step)));
    }
    let envelope = Envelope {
        from_name,
        from_address: from.as_str().to_owned(),
        reply_to: None,
        to: to.as_str().to_owned(),
        subject: "Please install our site tracking code".to_owned(),
        html,
        text,
        list_unsubscribe: None,
        message_id: Some(message_id::one_off(from.as_str()).map_err(ApiError::Internal)?),
    };
    ctx.state.mailer.send_envelope(&envelope).await?;
    Ok(Json(
        json!({"developerEmail": {"to": to.as_str(), "sent": true}}),
    ))
}
