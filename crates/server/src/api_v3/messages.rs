//! `/messages`: ActiveCampaign's list and get endpoints in its shapes, and Tracklane's own
//! documented `POST`, `PUT` and `DELETE` (AC's public API has none).

use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::MessageId;
use tracklane_core::invalid::Invalid;
use tracklane_core::message::{Message, MessageInput};

use super::doc::{get, post, ApiRouter};
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::render::links;
use super::resource::{Ctx, PathId, Resource};

/// The message routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Messages")
        .route(
            "/messages",
            post(create, "POST /messages (Tracklane's): 201.").get(list, "GET /messages."),
        )
        .route(
            "/messages/{id}",
            get(show, "GET /messages/{id}.")
                .put(update, "PUT /messages/{id}: a partial update.")
                .delete(
                    remove,
                    "DELETE /messages/{id}: {}; refused (422) while a campaign sends it.",
                ),
        )
}

#[derive(Debug, Deserialize)]
struct MessageEnvelope {
    message: Option<MessageBody>,
}

#[derive(Debug, Deserialize)]
struct MessageBody {
    name: Option<String>,
    subject: Option<String>,
    fromname: Option<String>,
    fromemail: Option<String>,
    reply2: Option<String>,
    html: Option<String>,
    text: Option<String>,
}

impl MessageEnvelope {
    fn into_input(self) -> Result<MessageInput, Invalid> {
        let body = self.message.ok_or_else(|| Invalid::missing("message"))?;
        Ok(MessageInput {
            name: body.name,
            subject: body.subject,
            from_name: body.fromname,
            from_email: body.fromemail,
            reply_to: body.reply2,
            html: body.html,
            text: body.text,
        })
    }
}

impl Resource for Message {
    const ONE: &'static str = "message";
    const MANY: &'static str = "messages";

    fn json(&self, base: &str) -> Value {
        json!({
            "userid": "1",
            "ed_instanceid": "0",
            "ed_version": "0",
            "cdate": self.created_at.to_api(),
            "mdate": self.updated_at.to_api(),
            "name": self.name,
            "fromname": self.from_name,
            "fromemail": self.from_email,
            "reply2": self.reply_to,
            "priority": "3",
            "charset": "utf-8",
            "encoding": "quoted-printable",
            "format": if self.html.is_empty() { "text" } else { "mime" },
            "subject": self.subject,
            "preheader_text": "",
            "text": self.text,
            "html": self.html,
            "htmlfetch": "",
            "textfetch": "",
            "hidden": "0",
            "prevmid": "0",
            "simpleeditor": "0",
            "links": links(base, &format!("messages/{}", self.id), &["user"]),
            "id": self.id.to_string(),
            "user": "1",
        })
    }
}

/// `POST /messages` (Tracklane's): 201.
async fn create(
    ctx: Ctx,
    ApiJson(body): ApiJson<MessageEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let message = ctx
        .store()
        .create_message(ctx.account, draft, ctx.now())
        .await?;
    let base = ctx.base();
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": message.json(base)})),
    ))
}

/// `GET /messages`.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let listed = ctx.store().messages(ctx.account, query.page()?).await?;
    Ok(ctx.page(&listed))
}

/// `GET /messages/{id}`.
async fn show(ctx: Ctx, PathId(id): PathId<MessageId>) -> Result<Json<Value>, ApiError> {
    let message = ctx.store().existing_message(ctx.account, id).await?;
    Ok(ctx.one(&message))
}

/// `PUT /messages/{id}`: a partial update.
async fn update(
    ctx: Ctx,
    PathId(id): PathId<MessageId>,
    ApiJson(body): ApiJson<MessageEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let patch = body.into_input()?.into_patch()?;
    let message = ctx
        .store()
        .update_message(ctx.account, id, patch, ctx.now())
        .await?;
    Ok(ctx.one(&message))
}

/// `DELETE /messages/{id}`: `{}`; refused (422) while a campaign sends it.
async fn remove(ctx: Ctx, PathId(id): PathId<MessageId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_message(ctx.account, id).await?;
    Ok(Json(json!({})))
}
