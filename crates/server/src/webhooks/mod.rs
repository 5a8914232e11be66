//! Webhooks on the server's side: whether a receiver may be reached, by the addresses its name
//! resolves to now (checked when a subscription is saved, and to be checked again at each
//! delivery, so that a name that later resolves to a private address is not delivered to).

pub mod receiver;
