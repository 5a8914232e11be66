//! Mailing lists and a contact's status on one.

use crate::ids::{ContactId, ContactListId, ListId};
use crate::invalid::Invalid;
use crate::text::{optional, required, NAME_MAX};
use crate::time::Timestamp;

/// A list as given by a caller, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListInput {
    /// The list's name.
    pub name: Option<String>,
    /// A URL-safe id; derived from the name when absent.
    pub stringid: Option<String>,
    /// The sender's website.
    pub sender_url: Option<String>,
    /// Why recipients get mail from this list.
    pub sender_reminder: Option<String>,
}

/// A new list, validated: every attribute is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListDraft {
    /// The name.
    pub name: String,
    /// The URL-safe id (the name's slug unless given).
    pub stringid: String,
    /// The sender's website (empty unless given).
    pub sender_url: String,
    /// Why recipients get mail from this list (empty unless given).
    pub sender_reminder: String,
}

/// Validated list attributes; for a patch, only present attributes change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPatch {
    /// The name.
    pub name: Option<String>,
    /// The URL-safe id.
    pub stringid: Option<String>,
    /// The sender's website.
    pub sender_url: Option<String>,
    /// Why recipients get mail from this list.
    pub sender_reminder: Option<String>,
}

impl ListInput {
    /// Validates a new list: the name is required, the string id defaults to its slug.
    pub fn into_draft(self) -> Result<ListDraft, Invalid> {
        let name = required("name", self.name.as_deref(), NAME_MAX)?;
        let patch = self.into_patch()?;
        let stringid = patch
            .stringid
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| slug::slugify(&name));
        Ok(ListDraft {
            name,
            stringid,
            sender_url: patch.sender_url.unwrap_or_default(),
            sender_reminder: patch.sender_reminder.unwrap_or_default(),
        })
    }

    /// Validates a partial update.
    pub fn into_patch(self) -> Result<ListPatch, Invalid> {
        let name = optional("name", self.name.as_deref(), NAME_MAX)?;
        if name.as_deref() == Some("") {
            return Err(Invalid::missing("name"));
        }
        let stringid =
            optional("stringid", self.stringid.as_deref(), NAME_MAX)?.map(|id| slug::slugify(&id));
        Ok(ListPatch {
            name,
            stringid,
            sender_url: optional("sender_url", self.sender_url.as_deref(), NAME_MAX)?,
            sender_reminder: optional(
                "sender_reminder",
                self.sender_reminder.as_deref(),
                NAME_MAX,
            )?,
        })
    }
}

/// A contact's status on a list, with AC's numeric codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStatus {
    /// 0: waiting for confirmation.
    Unconfirmed,
    /// 1: subscribed.
    Active,
    /// 2: unsubscribed.
    Unsubscribed,
    /// 3: bounced.
    Bounced,
}

impl ListStatus {
    /// Parses AC's code; `contactLists` writes accept only 1 (subscribe) and 2 (unsubscribe).
    pub fn parse_request(code: i64) -> Result<Self, Invalid> {
        match code {
            1 => Ok(Self::Active),
            2 => Ok(Self::Unsubscribed),
            other => Err(Invalid::bad_value(
                "status",
                format!("status must be 1 (subscribe) or 2 (unsubscribe), not {other}"),
            )),
        }
    }

    /// Reads a stored code.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => Self::Active,
            2 => Self::Unsubscribed,
            3 => Self::Bounced,
            _ => Self::Unconfirmed,
        }
    }

    /// AC's numeric code.
    pub fn code(self) -> i64 {
        match self {
            Self::Unconfirmed => 0,
            Self::Active => 1,
            Self::Unsubscribed => 2,
            Self::Bounced => 3,
        }
    }
}

/// A stored list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    /// Its id.
    pub id: ListId,
    /// Its name.
    pub name: String,
    /// Its URL-safe id.
    pub stringid: String,
    /// The sender's website.
    pub sender_url: String,
    /// Why recipients get mail from this list.
    pub sender_reminder: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A contact's membership of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactList {
    /// The row's id.
    pub id: ContactListId,
    /// The contact.
    pub contact: ContactId,
    /// The list.
    pub list: ListId,
    /// The status.
    pub status: ListStatus,
    /// Where the subscription came from (AC's `sourceid`; 4 re-subscribes).
    pub source_id: i64,
    /// When the contact last subscribed.
    pub subscribed_at: Option<Timestamp>,
    /// When the contact last unsubscribed.
    pub unsubscribed_at: Option<Timestamp>,
    /// When the row was created.
    pub created_at: Timestamp,
    /// When the row last changed.
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_list_gets_a_slug() {
        let input = ListInput {
            name: Some("Weekly News!".into()),
            ..ListInput::default()
        };
        assert_eq!(input.into_draft().unwrap().stringid, "weekly-news");
    }

    #[test]
    fn statuses_round_trip() {
        for code in 0..4 {
            assert_eq!(ListStatus::from_code(code).code(), code);
        }
        assert!(ListStatus::parse_request(3).is_err());
        assert_eq!(ListStatus::parse_request(2), Ok(ListStatus::Unsubscribed));
    }
}
