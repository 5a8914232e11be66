//! What every resource's handlers share: [`Ctx`] (the application and the request's account),
//! [`PathId`] (an id from the path, whose absence is the resource's own AC 404) and
//! [`Resource`] (how a model is wrapped, one or a page of them).
//!
//! Handlers stay one plain function per route: ActiveCampaign's resources differ in small ways
//! (201 or 200, options carried with a field), so these are pieces, not generic handlers.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::Json;
use serde_json::{json, Value};
use tracklane_core::ids::{
    AccountId, AutomationId, AutomationRunId, CampaignId, ContactId, ContactTagId, EventId,
    FieldId, FieldValueId, FormId, KeyId, LinkActionId, ListId, MessageId, ScoreModelId,
    ScoreRuleId, SegmentId, SiteDomainId, TagId, WebhookDeliveryId, WebhookId,
};
use tracklane_core::time::Timestamp;
use tracklane_store::listing::Listed;
use tracklane_store::Model;

use super::error::ApiError;
use super::render::meta;
use crate::state::AppState;

/// The application and the account whose key opened the request.
#[derive(Clone)]
pub struct Ctx {
    /// The application.
    pub state: AppState,
    /// The account the request acts for.
    pub account: AccountId,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let account = parts
            .extensions
            .get::<AccountId>()
            .copied()
            .ok_or(ApiError::Forbidden("The API token is not valid"))?;
        Ok(Self {
            state: state.clone(),
            account,
        })
    }
}

impl Ctx {
    /// The store.
    pub fn store(&self) -> &tracklane_store::Store {
        &self.state.store
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.state.now()
    }

    /// The public URL that links in answers start with.
    pub fn base(&self) -> &str {
        &self.state.settings.public_url
    }

    /// `{"<one>": {...}}`.
    pub fn one<R: Resource>(&self, resource: &R) -> Json<Value> {
        Json(json!({ R::ONE: resource.json(self.base()) }))
    }

    /// `{"<many>": [...], "meta": {"total": "<n>"}}`.
    pub fn page<R: Resource>(&self, listed: &Listed<R>) -> Json<Value> {
        Json(json!({
            R::MANY: self.all(&listed.items),
            "meta": meta(listed.total),
        }))
    }

    /// `{"<many>": [...]}`: every one of a contact's rows, unpaged.
    pub fn many<R: Resource>(&self, resources: &[R]) -> Json<Value> {
        Json(json!({ R::MANY: self.all(resources) }))
    }

    /// Every resource in AC's shape, as a JSON array.
    pub fn all<R: Resource>(&self, resources: &[R]) -> Value {
        Value::Array(resources.iter().map(|r| r.json(self.base())).collect())
    }
}

/// A model the API answers: its wrapper keys and its JSON in AC's shape.
pub trait Resource {
    /// The key wrapping one (`"tag"`).
    const ONE: &'static str;
    /// The key wrapping a list of them (`"tags"`).
    const MANY: &'static str;
    /// The JSON of one, with links starting at `base`.
    fn json(&self, base: &str) -> Value;
}

/// An id type that paths name.
pub trait Identifies: Sized {
    /// What a missing one is called in the 404.
    const MODEL: Model;
    /// The id from its number.
    fn from_number(id: i64) -> Self;
}

macro_rules! identifies {
    ($($id:ident => $model:ident),* $(,)?) => {
        $(impl Identifies for $id {
            const MODEL: Model = Model::$model;
            fn from_number(id: i64) -> Self {
                Self(id)
            }
        })*
    };
}

identifies!(
    ContactId => Contact,
    TagId => Tag,
    ContactTagId => ContactTag,
    ListId => List,
    FieldId => Field,
    FieldValueId => FieldValue,
    SiteDomainId => SiteDomain,
    MessageId => Message,
    CampaignId => Campaign,
    EventId => Event,
    LinkActionId => LinkAction,
    FormId => Form,
    SegmentId => Segment,
    ScoreModelId => ScoreModel,
    ScoreRuleId => ScoreRule,
    WebhookId => Webhook,
    WebhookDeliveryId => WebhookDelivery,
    AutomationId => Automation,
    AutomationRunId => AutomationRun,
    KeyId => Key,
);

/// The `{id}` of the path as an `I`; anything not a number names nothing, so it is the
/// resource's 404.
pub struct PathId<I>(pub I);

impl<I: Identifies + Send> FromRequestParts<AppState> for PathId<I> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found(I::MODEL, ""))?;
        let id = raw
            .parse()
            .map_err(|_| ApiError::not_found(I::MODEL, &raw))?;
        Ok(Self(I::from_number(id)))
    }
}
