//! Trying a message before it goes out (Tracklane's): `GET /messages/{id}/preview` shows it as
//! a contact would get it, and `POST /messages/{id}/test` mails that to an address. Both compose
//! as the sender does (personalization, the account's unsubscribe footer, a generated text
//! part), but track nothing, and their unsubscribe link is an inert one.

use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::email::ContactEmail;
use tracklane_core::ids::{ContactId, MessageId};
use tracklane_core::invalid::Invalid;
use tracklane_core::template::Recipient;

use super::doc::{get, post, ApiRouter};
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, LooseId};
use super::resource::{Ctx, PathId};
use crate::mailer::compose::{compose, recipient, Composed, Unsubscribe};
use crate::mailer::{message_id, Envelope};

/// What a test send's subject starts with.
pub const TEST_PREFIX: &str = "[Test] ";

/// The preview and test routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Previews")
        .route("/messages/{id}/preview", get(preview, "GET /messages/{id}/preview[?contact=ID]: {\"preview\": {message, contact, subject, html, text}}, rendered as the contact would get it."))
        .route("/messages/{id}/test", post(test, "POST /messages/{id}/test: {\"email\": \"me@example.com\", \"contact\": ID} mails the preview (as contact, when given) to email, its subject starting with [Test] . Answers {\"test\": {message, to, sent: true}} once the mail server took it; 502 with the server's answer when it did not."))
}

/// The message composed for `contact` (blank merge tags without one), with an inert
/// unsubscribe link.
async fn composed(
    ctx: &Ctx,
    id: MessageId,
    contact: Option<ContactId>,
) -> Result<(tracklane_core::message::Message, Composed), ApiError> {
    let message = ctx.store().existing_message(ctx.account, id).await?;
    let recipient = match contact {
        None => Recipient::default(),
        Some(contact) => {
            let found = ctx.store().recipients(ctx.account, &[contact]).await?;
            let (contact, data) = found
                .get(&contact)
                .ok_or_else(|| ApiError::not_found(tracklane_store::Model::Contact, contact))?;
            recipient(contact, data)
        }
    };
    let settings = ctx.store().email_settings(ctx.account).await?;
    let inert = format!("{}/u/preview", ctx.base());
    let unsubscribe = Unsubscribe {
        url: &inert,
        footer: settings.footer(),
    };
    let composed = compose(&message, &recipient, Some(unsubscribe), None)
        .map_err(|error| Invalid::bad_value("html", format!("{error:#}")))?;
    Ok((message, composed))
}

/// `GET /messages/{id}/preview[?contact=ID]`: `{"preview": {message, contact, subject, html,
/// text}}`, rendered as the contact would get it.
async fn preview(
    ctx: Ctx,
    PathId(id): PathId<MessageId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let contact = query.number("contact")?.map(ContactId);
    let (_, composed) = composed(&ctx, id, contact).await?;
    Ok(Json(json!({"preview": {
        "message": id.to_string(),
        "contact": contact.map(|c| c.to_string()),
        "subject": composed.subject,
        "html": composed.html,
        "text": composed.text,
    }})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestBody {
    email: Option<String>,
    contact: Option<LooseId>,
}

/// `POST /messages/{id}/test`: `{"email": "me@example.com", "contact": ID}` mails the preview
/// (as `contact`, when given) to `email`, its subject starting with `[Test] `. Answers
/// `{"test": {message, to, sent: true}}` once the mail server took it; 502 with the server's
/// answer when it did not.
async fn test(
    ctx: Ctx,
    PathId(id): PathId<MessageId>,
    ApiJson(body): ApiJson<TestBody>,
) -> Result<Json<Value>, ApiError> {
    let to = ContactEmail::parse(body.email.as_deref().unwrap_or_default())?;
    let contact = body
        .contact
        .map(|c| c.id("contact"))
        .transpose()?
        .map(ContactId);
    let (message, composed) = composed(&ctx, id, contact).await?;
    let envelope = Envelope {
        from_name: message.from_name.clone(),
        from_address: message.from_email.clone(),
        reply_to: Some(message.reply_to.clone()).filter(|r| !r.is_empty()),
        to: to.as_str().to_owned(),
        subject: format!("{TEST_PREFIX}{}", composed.subject),
        html: composed.html,
        text: composed.text,
        list_unsubscribe: None,
        message_id: Some(message_id::one_off(&message.from_email).map_err(ApiError::Internal)?),
    };
    ctx.state.mailer.send_envelope(&envelope).await?;
    Ok(Json(json!({"test": {
        "message": id.to_string(),
        "to": to.as_str(),
        "sent": true,
    }})))
}
