//! Link actions: what a person's click on a campaign's link does to the contact.

use crate::invalid::Invalid;

/// One action of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkAction {
    /// Put a tag on the contact.
    AddTag,
    /// Take a tag off the contact.
    RemoveTag,
    /// Subscribe the contact to a list.
    Subscribe,
    /// Unsubscribe the contact from a list.
    Unsubscribe,
    /// Start an automation for the contact (stored now; run once automations exist).
    StartAutomation,
    /// End an automation for the contact (stored now; run once automations exist).
    EndAutomation,
}

const ACTIONS: [(&str, LinkAction); 6] = [
    ("add_tag", LinkAction::AddTag),
    ("remove_tag", LinkAction::RemoveTag),
    ("subscribe", LinkAction::Subscribe),
    ("unsubscribe", LinkAction::Unsubscribe),
    ("start_automation", LinkAction::StartAutomation),
    ("end_automation", LinkAction::EndAutomation),
];

impl LinkAction {
    /// Parses the API and storage spelling.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        ACTIONS
            .iter()
            .find(|(name, _)| *name == raw.trim())
            .map(|(_, action)| *action)
            .ok_or_else(|| {
                Invalid::bad_value(
                    "action",
                    format!(
                        "unknown action '{raw}' (add_tag, remove_tag, subscribe, unsubscribe, \
                         start_automation, end_automation)"
                    ),
                )
            })
    }

    /// The API and storage spelling.
    pub fn as_str(self) -> &'static str {
        ACTIONS
            .iter()
            .find(|(_, action)| *action == self)
            .map_or("add_tag", |(name, _)| name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for (name, action) in ACTIONS {
            assert_eq!(LinkAction::parse(name), Ok(action));
            assert_eq!(action.as_str(), name);
        }
        assert!(LinkAction::parse("delete_contact").is_err());
    }
}
