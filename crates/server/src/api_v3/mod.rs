//! The ActiveCampaign-compatible API v3 under `/api/3`: AC's paths, wrapper keys, field names,
//! types (ids as strings), pagination, filters and error shapes, so that existing clients work
//! by changing only the base URL and the key.

pub mod auth;
pub mod automations;
pub mod campaigns;
pub mod contact_automations;
pub mod contacts;
pub mod developer;
pub mod doc;
pub mod email_settings;
pub mod error;
pub mod extract;
pub mod fields;
pub mod forms;
pub mod keys;
pub mod link_actions;
pub mod lists;
pub mod messages;
pub mod previews;
pub mod render;
pub mod resource;
pub mod scores;
pub mod segments;
pub mod tags;
pub mod timeline;
pub mod tracking;
pub mod webhooks;
pub mod whitelist;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde_json::json;

use crate::state::AppState;
use doc::ApiRouter;
use error::ApiError;

/// The `/api/3` routes, behind `Api-Token` authentication (but for the OpenAPI document);
/// other paths answer a JSON 404.
pub fn routes(state: AppState) -> Router<AppState> {
    let (resources, openapi) = ApiRouter::new("API")
        .route(
            "/",
            doc::get(root, "A credential check: 200 for a valid key."),
        )
        .merge(contacts::routes())
        .merge(tags::routes())
        .merge(lists::routes())
        .merge(fields::routes())
        .merge(tracking::routes())
        .merge(developer::routes())
        .merge(whitelist::routes())
        .merge(messages::routes())
        .merge(previews::routes())
        .merge(campaigns::routes())
        .merge(email_settings::routes())
        .merge(link_actions::routes())
        .merge(forms::routes())
        .merge(segments::routes())
        .merge(scores::routes())
        .merge(timeline::routes())
        .merge(webhooks::routes())
        .merge(automations::routes())
        .merge(contact_automations::routes())
        .merge(keys::routes())
        .into_parts();
    let openapi = Arc::new(openapi);
    Router::new()
        .nest("/api/3", resources)
        .route("/api/3/", get(root))
        .route_layer(middleware::from_fn_with_state(state, auth::require_api_key))
        .route(
            "/api/3/openapi.json",
            get(move || async move { Json(openapi.as_ref().clone()) }),
        )
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                Json(json!({"message": "Method not allowed on this resource"})),
            )
                .into_response()
        })
}

/// `GET /api/3/`: answers 200 to a valid key (clients use it to check their credentials).
async fn root() -> Json<serde_json::Value> {
    Json(json!({ "version": "3" }))
}
