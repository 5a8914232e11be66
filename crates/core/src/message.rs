//! Email messages and campaigns: the raw inputs and their validation.

use crate::email::ContactEmail;
use crate::ids::{AutomationId, CampaignId, ListId, MessageId, SegmentId};
use crate::invalid::Invalid;
use crate::template;
use crate::text::{optional, required, NAME_MAX};
use crate::time::Timestamp;

/// The largest HTML or text part accepted: 2 MiB.
pub const PART_MAX: usize = 2 * 1024 * 1024;

/// A message as given by a caller, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageInput {
    /// An internal name.
    pub name: Option<String>,
    /// The subject line.
    pub subject: Option<String>,
    /// The sender's display name.
    pub from_name: Option<String>,
    /// The sender's address.
    pub from_email: Option<String>,
    /// Where replies go.
    pub reply_to: Option<String>,
    /// The HTML part.
    pub html: Option<String>,
    /// The plain-text part.
    pub text: Option<String>,
}

/// A new message, validated: every attribute is set (empty when not given; the name is the
/// subject unless given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDraft {
    /// The internal name.
    pub name: String,
    /// The subject line.
    pub subject: String,
    /// The sender's display name.
    pub from_name: String,
    /// The sender's address (normalised).
    pub from_email: String,
    /// Where replies go (normalised), or empty.
    pub reply_to: String,
    /// The HTML part.
    pub html: String,
    /// The plain-text part.
    pub text: String,
}

/// Validated message attributes; for a patch only present attributes change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessagePatch {
    /// An internal name.
    pub name: Option<String>,
    /// The subject line.
    pub subject: Option<String>,
    /// The sender's display name.
    pub from_name: Option<String>,
    /// The sender's address (normalised).
    pub from_email: Option<String>,
    /// Where replies go (normalised), or empty.
    pub reply_to: Option<String>,
    /// The HTML part.
    pub html: Option<String>,
    /// The plain-text part.
    pub text: Option<String>,
}

fn part(attribute: &'static str, value: Option<String>) -> Result<Option<String>, Invalid> {
    match value {
        Some(value) if value.len() > PART_MAX => Err(Invalid::too_long(attribute, PART_MAX)),
        other => {
            renders(attribute, other.as_deref().unwrap_or_default())?;
            Ok(other)
        }
    }
}

/// Refuses a part whose personalization blocks are not well formed (see [`template::check`]).
fn renders(attribute: &'static str, value: &str) -> Result<(), Invalid> {
    template::check(value).map_err(|error| Invalid::bad_value(attribute, error.to_string()))
}

fn address(attribute: &'static str, raw: Option<&str>) -> Result<Option<String>, Invalid> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(String::new())),
        Some(raw) => ContactEmail::parse(raw)
            .map(|email| Some(email.as_str().to_owned()))
            .map_err(|invalid| Invalid {
                attribute,
                ..invalid
            }),
    }
}

impl MessageInput {
    /// Validates a new message: subject and sender address are required, and a body part.
    pub fn into_draft(self) -> Result<MessageDraft, Invalid> {
        let subject = required("subject", self.subject.as_deref(), NAME_MAX)?;
        renders("subject", &subject)?;
        let from = required("fromemail", self.from_email.as_deref(), NAME_MAX)?;
        let empty = |part: &Option<String>| part.as_deref().is_none_or(|p| p.trim().is_empty());
        if empty(&self.html) && empty(&self.text) {
            return Err(Invalid::missing("html"));
        }
        let patch = self.into_patch()?;
        Ok(MessageDraft {
            name: patch.name.unwrap_or_else(|| subject.clone()),
            subject,
            from_name: patch.from_name.unwrap_or_default(),
            from_email: address("fromemail", Some(&from))?.unwrap_or_default(),
            reply_to: patch.reply_to.unwrap_or_default(),
            html: patch.html.unwrap_or_default(),
            text: patch.text.unwrap_or_default(),
        })
    }

    /// Validates a partial update.
    pub fn into_patch(self) -> Result<MessagePatch, Invalid> {
        let subject = optional("subject", self.subject.as_deref(), NAME_MAX)?;
        renders("subject", subject.as_deref().unwrap_or_default())?;
        if subject.as_deref() == Some("") {
            return Err(Invalid::missing("subject"));
        }
        let from_email = address("fromemail", self.from_email.as_deref())?;
        if from_email.as_deref() == Some("") {
            return Err(Invalid::missing("fromemail"));
        }
        Ok(MessagePatch {
            name: optional("name", self.name.as_deref(), NAME_MAX)?,
            subject,
            from_name: optional("fromname", self.from_name.as_deref(), NAME_MAX)?,
            from_email,
            reply_to: address("reply2", self.reply_to.as_deref())?,
            html: part("html", self.html)?,
            text: part("text", self.text)?,
        })
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// An internal name.
    pub name: String,
    /// The subject line.
    pub subject: String,
    /// The sender's display name.
    pub from_name: String,
    /// The sender's address.
    pub from_email: String,
    /// Where replies go, or empty.
    pub reply_to: String,
    /// The HTML part.
    pub html: String,
    /// The plain-text part.
    pub text: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Message {
    /// Refuses a message whose subject or parts would not render as written (one stored before
    /// messages were checked when written).
    pub fn check_renders(&self) -> Result<(), Invalid> {
        renders("subject", &self.subject)?;
        renders("html", &self.html)?;
        renders("text", &self.text)
    }
}

/// Where a campaign is, with ActiveCampaign's status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignStatus {
    /// 0: not sent yet.
    Draft,
    /// 1: starts by itself at its `sdate`.
    Scheduled,
    /// 2: being sent.
    Sending,
    /// 3: paused, through the API or because its deliveries kept failing for reasons that are
    /// not the recipients' (see [`PAUSE_AFTER_FAILURES`]); its remaining sends wait until it
    /// is resumed.
    Paused,
    /// 4: cancelled while sending or paused; the sends still queued were dropped.
    Stopped,
    /// 5: every recipient handled.
    Completed,
}

impl CampaignStatus {
    /// AC's numeric code.
    pub fn code(self) -> i64 {
        match self {
            Self::Draft => 0,
            Self::Scheduled => 1,
            Self::Sending => 2,
            Self::Paused => 3,
            Self::Stopped => 4,
            Self::Completed => 5,
        }
    }

    /// Reads a stored code.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => Self::Scheduled,
            2 => Self::Sending,
            3 => Self::Paused,
            4 => Self::Stopped,
            5 => Self::Completed,
            _ => Self::Draft,
        }
    }
}

/// Why a campaign paused through the API is paused.
pub const PAUSED_BY_REQUEST: &str = "paused through the API; resume it to send the rest";

/// A sending campaign is paused once this many of its deliveries in a row failed for a reason
/// that is not the recipient's (the connection, the sender's settings, the message, the mail
/// server), with no message accepted and no recipient refused in between: a failure that
/// persists is the campaign's, and retrying every recipient would not cure it.
pub const PAUSE_AFTER_FAILURES: i64 = 5;

/// Why a campaign was paused, for people: how many deliveries failed and the server's last
/// answer.
pub fn pause_reason(failures: i64, last_error: &str) -> String {
    format!(
        "{failures} deliveries in a row failed for a reason that is not the recipient's \
         (the connection, the sender's settings, the message or the mail server); last: \
         {last_error}. Fix the cause, then resume the campaign."
    )
}

/// A campaign as given by a caller, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignInput {
    /// Its name.
    pub name: Option<String>,
    /// The message it sends.
    pub message: Option<i64>,
    /// The list it sends to (none: the segment's subscribed members).
    pub list: Option<i64>,
    /// The saved segment it sends to (AC's `segmentid`; none or 0: the whole list), within the
    /// list when it has one.
    pub segment: Option<i64>,
    /// `all` (the default) tracks every link; `none` tracks none.
    pub track_links: Option<String>,
}

/// A validated new campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignDraft {
    /// Its name.
    pub name: String,
    /// The message it sends.
    pub message: MessageId,
    /// The list it sends to; `None` for a campaign to a segment alone.
    pub list: Option<ListId>,
    /// The saved segment whose members (within the list, when there is one) it sends to.
    pub segment: Option<SegmentId>,
    /// Whether links are tracked.
    pub track_links: bool,
}

impl CampaignInput {
    /// Validates a new campaign.
    pub fn into_draft(self) -> Result<CampaignDraft, Invalid> {
        let name = required("name", self.name.as_deref(), NAME_MAX)?;
        let message = MessageId(self.message.ok_or_else(|| Invalid::missing("message"))?);
        let list = self.list.filter(|id| *id != 0).map(ListId);
        let segment = self.segment.filter(|id| *id != 0).map(SegmentId);
        if list.is_none() && segment.is_none() {
            return Err(Invalid {
                detail: "a campaign sends to a list, to a segment (segmentid), or to a \
                         segment within a list"
                    .to_owned(),
                ..Invalid::missing("list")
            });
        }
        let track_links = match self.track_links.as_deref().map(str::trim) {
            None | Some("all") | Some("") => true,
            Some("none") => false,
            Some(other) => {
                return Err(Invalid::bad_value(
                    "tracklinks",
                    format!("tracklinks must be 'all' or 'none', not '{other}'"),
                ))
            }
        };
        Ok(CampaignDraft {
            name,
            message,
            list,
            segment,
            track_links,
        })
    }
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// Its id.
    pub id: CampaignId,
    /// Its name.
    pub name: String,
    /// The message it sends.
    pub message: MessageId,
    /// The list it sends to; `None` for a campaign to a segment alone, which sends to the
    /// segment's members subscribed to at least one list.
    pub list: Option<ListId>,
    /// The saved segment whose members (within the list, when there is one) it sends to.
    pub segment: Option<SegmentId>,
    /// Whether links are tracked.
    pub track_links: bool,
    /// For the campaign of an automation's email step (AC's type "automation"), the
    /// automation; it sends as long as the step does.
    pub automation: Option<AutomationId>,
    /// Where it is.
    pub status: CampaignStatus,
    /// Why it is paused, when it is.
    pub paused_reason: Option<String>,
    /// The last delivery failure that was not the recipient's, if any.
    pub last_error: Option<String>,
    /// When it is to start by itself (status 1), or was to.
    pub scheduled_at: Option<Timestamp>,
    /// When it started sending.
    pub started_at: Option<Timestamp>,
    /// When it completed or was stopped.
    pub finished_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Campaign {
    /// AC's `sdate`: when it started sending, or when it is scheduled to.
    pub fn sdate(&self) -> Option<Timestamp> {
        self.started_at.or(self.scheduled_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Code;

    fn input() -> MessageInput {
        MessageInput {
            subject: Some("Hello %FIRSTNAME%".into()),
            from_email: Some("News@Example.com".into()),
            html: Some("<p>Hi</p>".into()),
            ..MessageInput::default()
        }
    }

    #[test]
    fn a_message_needs_a_subject_a_sender_and_a_body() {
        let draft = input().into_draft().unwrap();
        assert_eq!(draft.from_email, "news@example.com");
        assert_eq!(draft.name, "Hello %FIRSTNAME%");
        let no_body = MessageInput {
            html: None,
            ..input()
        };
        assert_eq!(no_body.into_draft().unwrap_err().attribute, "html");
        let bad_sender = MessageInput {
            from_email: Some("nobody".into()),
            ..input()
        };
        assert_eq!(bad_sender.into_draft().unwrap_err().attribute, "fromemail");
        let huge = MessageInput {
            html: Some("x".repeat(PART_MAX + 1)),
            ..input()
        };
        assert_eq!(huge.into_draft().unwrap_err().code, Code::TooLong);
    }

    #[test]
    fn a_campaign_needs_a_message_and_a_list_or_a_segment() {
        let input = CampaignInput {
            name: Some("Launch".into()),
            message: Some(1),
            list: Some(2),
            segment: Some(0),
            track_links: Some("none".into()),
        };
        assert!(!input.clone().into_draft().unwrap().track_links);
        assert_eq!(input.clone().into_draft().unwrap().segment, None);
        let nobody = CampaignInput {
            list: None,
            ..input.clone()
        };
        assert_eq!(nobody.into_draft().unwrap_err().attribute, "list");
        let segment_alone = CampaignInput {
            list: Some(0),
            segment: Some(3),
            ..input.clone()
        };
        let draft = segment_alone.into_draft().unwrap();
        assert_eq!((draft.list, draft.segment), (None, Some(SegmentId(3))));
        let odd = CampaignInput {
            track_links: Some("some".into()),
            ..input
        };
        assert!(odd.into_draft().is_err());
        for (code, status) in [
            CampaignStatus::Draft,
            CampaignStatus::Scheduled,
            CampaignStatus::Sending,
            CampaignStatus::Paused,
            CampaignStatus::Stopped,
            CampaignStatus::Completed,
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(status.code(), code as i64, "ActiveCampaign's codes 0 to 5");
            assert_eq!(CampaignStatus::from_code(status.code()), status);
        }
        assert_eq!(CampaignStatus::Paused.code(), 3, "ActiveCampaign's code");
    }
}
