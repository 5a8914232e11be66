//! Entering a whole list's subscribers or a segment's members into an automation at once (as
//! ActiveCampaign's "add contacts to automation" does), in one statement: each enters as one
//! entered through the API would, the ones inside already (or entered before, for an
//! automation that takes each contact once) left as they are.

use tracklane_core::ids::{AccountId, AutomationId, ListId, SegmentId};
use tracklane_core::invalid::Invalid;
use tracklane_core::list::ListStatus;
use tracklane_core::time::Timestamp;

use super::entries::{enter_selected, Entering};
use super::runs::current_version;
use crate::sql::Statement;
use crate::{Store, StoreError};

/// Whose contacts enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    /// A list's active subscribers.
    List(ListId),
    /// A saved segment's members.
    Segment(SegmentId),
}

impl Store {
    /// Enters the `members` into `automation` (both the account's) at `now`; answers how many
    /// entered. The cause names the members and the instant, so a retried request within the
    /// same microsecond enters nobody twice.
    pub async fn enter_members(
        &self,
        account: AccountId,
        automation: AutomationId,
        members: Members,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        // The cause is made of integers and ':' alone, written as a literal.
        let (from, cause) = match members {
            Members::List(list) => {
                self.existing_list(account, list).await?;
                (
                    format!(
                        " FROM contact_lists m WHERE m.list_id = {} AND m.status = {}",
                        list.0,
                        ListStatus::Active.code()
                    ),
                    format!("'list:{list}:{}'", now.0),
                )
            }
            Members::Segment(segment) => {
                self.existing_segment(account, segment).await?;
                (
                    format!(" FROM segment_members m WHERE m.segment_id = {}", segment.0),
                    format!("'segment:{segment}:{}'", now.0),
                )
            }
        };
        self.write(async |tx| {
            let (active, version, definition) = current_version(tx, account, automation).await?;
            if !active {
                return Err(Invalid::bad_value("automation", "the automation is inactive").into());
            }
            let entering = Entering {
                account,
                automation,
                version,
                definition: &definition,
            };
            let source = Statement::new(self.engine, &from);
            let selected = ("m.contact_id", cause.as_str(), "m.contact_id");
            let entered = enter_selected(tx, self.engine, &entering, &source, selected, now);
            Ok(entered.await? as u64)
        })
        .await
    }
}
