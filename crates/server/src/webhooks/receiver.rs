//! Checking a receiver's reach: an address in the URL is judged as it is; a name is resolved,
//! with a deadline, and every address it resolves to must be allowed (one private address among
//! public ones is enough to refuse it).

use std::time::Duration;

use tracklane_core::invalid::Invalid;
use tracklane_core::webhook::receiver::{check_reach, reach_of_host, reach_of_ip, ReceiverUrl};

/// How long resolving a receiver's name may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Refuses a receiver that deliveries may not reach; `allow_private` lets private ones pass.
pub async fn check_receiver(receiver: &ReceiverUrl, allow_private: bool) -> Result<(), Invalid> {
    let host = receiver.host.to_string();
    if let Some(reach) = reach_of_host(&receiver.host) {
        return check_reach(reach, &host, allow_private);
    }
    let unresolved =
        || Invalid::bad_value("url", format!("'{host}' does not resolve to an address"));
    let addresses = tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), receiver.port)),
    )
    .await
    .map_err(|_| unresolved())?
    .map_err(|_| unresolved())?;
    let mut any = false;
    for address in addresses {
        any = true;
        check_reach(reach_of_ip(address.ip()), &host, allow_private)?;
    }
    if any {
        Ok(())
    } else {
        Err(unresolved())
    }
}
