//! `/messages`: ActiveCampaign's list and get endpoints in its shapes, and Tracklane's own
//! documented `POST`, `PUT` and `DELETE` (AC's public API has none).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{AccountId, MessageId};
use tracklane_core::invalid::Invalid;
use tracklane_core::message::{Message, MessageInput};
use tracklane_store::Model;

use super::error::ApiError;
use super::extract::{path_id, ApiJson, ApiQuery};
use super::render::{links, meta};
use crate::state::AppState;

/// The message routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/messages", post(create_message).get(list_messages))
        .route(
            "/messages/{id}",
            get(show_message).put(update_message).delete(remove_message),
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

/// A message in AC's shape.
pub fn message_json(message: &Message, base: &str) -> Value {
    json!({
        "userid": "1",
        "ed_instanceid": "0",
        "ed_version": "0",
        "cdate": message.created_at.to_api(),
        "mdate": message.updated_at.to_api(),
        "name": message.name,
        "fromname": message.from_name,
        "fromemail": message.from_email,
        "reply2": message.reply_to,
        "priority": "3",
        "charset": "utf-8",
        "encoding": "quoted-printable",
        "format": if message.html.is_empty() { "text" } else { "mime" },
        "subject": message.subject,
        "preheader_text": "",
        "text": message.text,
        "html": message.html,
        "htmlfetch": "",
        "textfetch": "",
        "hidden": "0",
        "prevmid": "0",
        "simpleeditor": "0",
        "links": links(base, &format!("messages/{}", message.id), &["user"]),
        "id": message.id.to_string(),
        "user": "1",
    })
}

/// `POST /messages` (Tracklane's): 201.
async fn create_message(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    ApiJson(body): ApiJson<MessageEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let message = state
        .store
        .create_message(account, draft, state.now())
        .await?;
    let base = &state.settings.public_url;
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": message_json(&message, base)})),
    ))
}

/// `GET /messages`.
async fn list_messages(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let listed = state.store.messages(account, query.page()?).await?;
    let base = &state.settings.public_url;
    Ok(Json(json!({
        "messages": listed.items.iter().map(|m| message_json(m, base)).collect::<Vec<_>>(),
        "meta": meta(listed.total),
    })))
}

/// `GET /messages/{id}`.
async fn show_message(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = MessageId(path_id(&id, Model::Message)?);
    let message = state.store.existing_message(account, id).await?;
    Ok(Json(
        json!({"message": message_json(&message, &state.settings.public_url)}),
    ))
}

/// `PUT /messages/{id}`: a partial update.
async fn update_message(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MessageEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let id = MessageId(path_id(&id, Model::Message)?);
    let patch = body.into_input()?.into_patch()?;
    let message = state
        .store
        .update_message(account, id, patch, state.now())
        .await?;
    Ok(Json(
        json!({"message": message_json(&message, &state.settings.public_url)}),
    ))
}

/// `DELETE /messages/{id}`: `{}`; refused (422) while a campaign sends it.
async fn remove_message(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = MessageId(path_id(&id, Model::Message)?);
    state.store.delete_message(account, id).await?;
    Ok(Json(json!({})))
}
