//! Checking a receiver's reach: an address in the URL is judged as it is; a name is resolved,
//! with a deadline, and every address it resolves to must be allowed (one private address among
//! public ones is enough to refuse it). Deliveries resolve through [`CheckedResolver`], which
//! applies the same judgment to the addresses they connect to (a name is resolved once per
//! attempt, by the connection itself), so DNS rebinding fails.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tracklane_core::invalid::Invalid;
use tracklane_core::webhook::receiver::{check_reach, reach_of_host, reach_of_ip, ReceiverUrl};

/// How long resolving a receiver's name may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a receiver cannot be reached now.
#[derive(Debug, thiserror::Error)]
pub enum Unreachable {
    /// Its name did not resolve (in time): perhaps later.
    #[error("{0}")]
    Unresolved(Invalid),
    /// It is, or its name resolves to, an address deliveries never reach (or a private one
    /// without the setting).
    #[error("{0}")]
    Refused(Invalid),
}

impl From<Unreachable> for Invalid {
    fn from(unreachable: Unreachable) -> Self {
        match unreachable {
            Unreachable::Unresolved(invalid) | Unreachable::Refused(invalid) => invalid,
        }
    }
}

/// Refuses a receiver that deliveries may not reach; `allow_private` lets private ones pass.
pub async fn check_receiver(
    receiver: &ReceiverUrl,
    allow_private: bool,
) -> Result<(), Unreachable> {
    if let Some(refused) = check_host(receiver, allow_private) {
        return refused;
    }
    resolve(&receiver.host.to_string(), receiver.port, allow_private).await?;
    Ok(())
}

/// What a receiver's host says of its reach without resolving (an address, `localhost`);
/// `None` for a name to resolve.
pub fn check_host(receiver: &ReceiverUrl, allow_private: bool) -> Option<Result<(), Unreachable>> {
    let reach = reach_of_host(&receiver.host)?;
    let host = receiver.host.to_string();
    Some(check_reach(reach, &host, allow_private).map_err(Unreachable::Refused))
}

/// The addresses of `host`, every one of them allowed.
async fn resolve(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, Unreachable> {
    let unresolved = || {
        Unreachable::Unresolved(Invalid::bad_value(
            "url",
            format!("'{host}' does not resolve to an address"),
        ))
    };
    let addresses: Vec<SocketAddr> =
        tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| unresolved())?
            .map_err(|_| unresolved())?
            .collect();
    if addresses.is_empty() {
        return Err(unresolved());
    }
    for address in &addresses {
        check_reach(reach_of_ip(address.ip()), host, allow_private)
            .map_err(Unreachable::Refused)?;
    }
    Ok(addresses)
}

/// The resolver of deliveries' HTTP client: a name's addresses, every one of them allowed.
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver {
    /// Whether private addresses are allowed.
    pub allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addresses = resolve(name.as_str(), 0, allow_private).await?;
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

impl CheckedResolver {
    /// The resolver, shared as the HTTP client takes it.
    pub fn shared(allow_private: bool) -> Arc<Self> {
        Arc::new(Self { allow_private })
    }
}
