//! `Api-Token` authentication: every `/api/3` route runs for the one account the key opens.
//! The request's extensions carry the account ([`AccountId`]) and what the key opened
//! ([`KeyUse`]: whether it manages keys).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use secrecy::SecretString;
use tracklane_core::ids::AccountId;
use tracklane_store::keys::{KeyKind, KeyUse};

use super::error::ApiError;
use crate::state::AppState;

/// Finds the account of the request's `Api-Token` and puts its id and the key's use in the
/// request's extensions; answers 403 when the key is missing or opens nothing.
pub async fn require_api_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let key = request
        .headers()
        .get("api-token")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(|key| SecretString::from(key.to_owned()))
        .ok_or(ApiError::Forbidden(
            "No API token given: send your API key in the Api-Token header",
        ))?;
    let opened = state
        .store
        .open_key(KeyKind::Api, &key, state.now())
        .await?
        .ok_or(ApiError::Forbidden("The API token is not valid"))?;
    request.extensions_mut().insert::<AccountId>(opened.account);
    request.extensions_mut().insert::<KeyUse>(opened);
    Ok(next.run(request).await)
}
