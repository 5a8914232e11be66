//! What can go wrong in the store.

use tracklane_core::invalid::Invalid;

/// The kind of row a lookup or a reference named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// A contact.
    Contact,
    /// A tag.
    Tag,
    /// A contact's tag.
    ContactTag,
    /// A list.
    List,
    /// A custom field.
    Field,
    /// A custom field value.
    FieldValue,
    /// An account.
    Account,
    /// An account's named key.
    Key,
    /// A whitelisted site domain.
    SiteDomain,
    /// A whitelisted event name.
    EventName,
    /// A recorded event.
    Event,
    /// An email message.
    Message,
    /// A campaign.
    Campaign,
    /// A link action.
    LinkAction,
    /// A form.
    Form,
    /// A segment.
    Segment,
    /// A scoring model.
    ScoreModel,
    /// A scoring rule.
    ScoreRule,
    /// A webhook subscription.
    Webhook,
    /// A webhook delivery.
    WebhookDelivery,
    /// An automation.
    Automation,
    /// A contact's run through an automation.
    AutomationRun,
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row named by id does not exist in this account.
    #[error("{model:?} {id} not found")]
    NotFound {
        /// What kind of row.
        model: Model,
        /// The id that was asked for.
        id: i64,
    },
    /// The input breaks a rule only the store can check (a duplicate, a value of the wrong
    /// type for its field).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The database URL names no supported engine.
    #[error("the database URL must start with sqlite: or postgres:")]
    UnsupportedUrl,
    /// The PostgreSQL server could not be reached.
    #[error("PostgreSQL at {server} cannot be reached ({reason}): is it running, and is the host and port of the database URL right?")]
    Unreachable {
        /// `host:port`.
        server: String,
        /// Why (the operating system's answer: connection refused, no route).
        reason: String,
    },
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The operating system gave no randomness for a key.
    #[error("no randomness for a new key")]
    Randomness,
    /// A SQLite table rebuild found columns it does not copy (see `rebuilds`).
    #[error("{0}")]
    Rebuild(String),
}

impl StoreError {
    /// Whether the error is a unique-constraint violation in the database.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(error)) => error.is_unique_violation(),
            _ => false,
        }
    }
}
