//! `/keys` (Tracklane's): an account's named API and event keys, created (the secret is in the
//! answer, once), listed (never the secret) and revoked one by one. Only a key that manages keys
//! opens these routes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::KeyId;
use tracklane_core::invalid::Invalid;
use tracklane_store::keys::{AccountKey, KeyDraft, KeyKind, KeyUse};

use super::doc::{get, post, ApiRouter};
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::resource::{Ctx, PathId, Resource};
use crate::state::AppState;

/// The key routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Keys")
        .route("/keys", post(create, "POST /keys: 201, with the secret in key.key, shown this once.").get(list, "GET /keys: the account's keys, revoked ones included, oldest first, paged."))
        .route("/keys/{id}", get(show, "GET /keys/{id}.").delete(revoke, "DELETE /keys/{id}: revokes the key at once (on this node; within the tracking cache's time on others) and answers it; refused (422) for the account's last key that manages keys."))
}

/// The request's context, when its key manages keys; 403 otherwise.
struct KeyManager(Ctx);

impl FromRequestParts<AppState> for KeyManager {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let manages = parts
            .extensions
            .get::<KeyUse>()
            .is_some_and(|opened| opened.manages_keys);
        if !manages {
            return Err(ApiError::Forbidden(
                "This API token cannot manage keys: use a key created with manageKeys",
            ));
        }
        Ok(Self(Ctx::from_request_parts(parts, state).await?))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEnvelope {
    key: Option<KeyBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyBody {
    name: Option<String>,
    kind: Option<String>,
    manage_keys: Option<bool>,
}

impl KeyEnvelope {
    fn into_draft(self) -> Result<KeyDraft, Invalid> {
        let body = self.key.ok_or_else(|| Invalid::missing("key"))?;
        let kind = match body.kind.as_deref() {
            None => KeyKind::Api,
            Some(name) => KeyKind::parse(name)
                .ok_or_else(|| Invalid::bad_value("kind", "kind must be api or event"))?,
        };
        KeyDraft::new(
            kind,
            body.name.as_deref(),
            body.manage_keys.unwrap_or(false),
        )
    }
}

impl Resource for AccountKey {
    const ONE: &'static str = "key";
    const MANY: &'static str = "keys";

    fn json(&self, _base: &str) -> Value {
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "kind": self.kind.as_str(),
            "manageKeys": self.manages_keys,
            "cdate": self.created_at.to_api(),
            "lastUsed": self.last_used_at.map(|at| at.to_api()),
            "revoked": self.revoked_at.map(|at| at.to_api()),
        })
    }
}

/// `POST /keys`: 201, with the secret in `key.key`, shown this once.
async fn create(
    KeyManager(ctx): KeyManager,
    ApiJson(body): ApiJson<KeyEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_draft()?;
    let created = ctx
        .store()
        .create_key(ctx.account, draft, ctx.now())
        .await?;
    let mut answer = ctx.one(&created.key);
    answer.0[AccountKey::ONE]["key"] = Value::String(created.secret.expose_secret().to_owned());
    Ok((StatusCode::CREATED, answer))
}

/// `GET /keys`: the account's keys, revoked ones included, oldest first, paged.
async fn list(KeyManager(ctx): KeyManager, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let listed = ctx.store().keys(ctx.account, query.page()?).await?;
    Ok(ctx.page(&listed))
}

/// `GET /keys/{id}`.
async fn show(
    KeyManager(ctx): KeyManager,
    PathId(id): PathId<KeyId>,
) -> Result<Json<Value>, ApiError> {
    Ok(ctx.one(&ctx.store().key(ctx.account, id).await?))
}

/// `DELETE /keys/{id}`: revokes the key at once (on this node; within the tracking cache's
/// time on others) and answers it; refused (422) for the account's last key that manages keys.
async fn revoke(
    KeyManager(ctx): KeyManager,
    PathId(id): PathId<KeyId>,
) -> Result<Json<Value>, ApiError> {
    let key = ctx.store().revoke_key(ctx.account, id, ctx.now()).await?;
    ctx.state.gate.forget_event_keys(ctx.account);
    Ok(ctx.one(&key))
}
