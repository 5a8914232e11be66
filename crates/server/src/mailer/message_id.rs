//! The `Message-ID` of a campaign's message: `<tl.{send id}.{random}@{sender's domain}>`. It
//! names the send it delivers, so that a message found in the outbox after a stop can be traced
//! back to its send (see [`super::outbox`]), and it is on the sender's own domain, as mailbox
//! providers expect. The random part keeps two installations' ids apart.

use tracklane_core::key::random_hex;

/// What every Tracklane `Message-ID` starts with.
const PREFIX: &str = "tl.";
/// Random bytes in a `Message-ID` (hex-encoded).
const RANDOM_BYTES: usize = 8;

/// The `Message-ID` (without angle brackets) of the message delivering send `send`, from
/// `from_address`; the domain is the address's (`localhost` if it has none).
pub fn for_send(send: i64, from_address: &str) -> anyhow::Result<String> {
    on_senders_domain(&send.to_string(), from_address)
}

/// The `Message-ID` of a message that is no send (a test, the snippet sent to a developer),
/// from `from_address`: on the sender's domain, naming no send.
pub fn one_off(from_address: &str) -> anyhow::Result<String> {
    on_senders_domain("test", from_address)
}

fn on_senders_domain(what: &str, from_address: &str) -> anyhow::Result<String> {
    let domain = from_address
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim())
        .filter(|domain| !domain.is_empty())
        .unwrap_or("localhost");
    Ok(format!(
        "{PREFIX}{what}.{}@{domain}",
        random_hex(RANDOM_BYTES).map_err(|_| anyhow::anyhow!("no randomness for a Message-ID"))?
    ))
}

/// The send a `Message-ID` header value (with or without angle brackets) names, when it is one
/// of [`for_send`]'s.
pub fn send_of(message_id: &str) -> Option<i64> {
    let id = message_id.trim().trim_start_matches('<');
    let (send, _) = id.strip_prefix(PREFIX)?.split_once('.')?;
    send.parse().ok().filter(|send: &i64| *send > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_id_names_its_send_on_the_senders_domain() {
        let id = for_send(42, "News@Shop.example").unwrap();
        assert!(id.starts_with("tl.42."), "{id}");
        assert!(id.ends_with("@Shop.example"), "{id}");
        assert_eq!(send_of(&id), Some(42));
        assert_eq!(send_of(&format!("<{id}>")), Some(42));
        assert_ne!(
            id,
            for_send(42, "news@shop.example").unwrap(),
            "random part"
        );
        assert!(for_send(1, "nobody").unwrap().ends_with("@localhost"));
        let test = one_off("news@shop.example").unwrap();
        assert!(test.ends_with("@shop.example"), "{test}");
        assert_eq!(send_of(&test), None, "a test send names no send");
    }

    #[test]
    fn other_message_ids_name_no_send() {
        for other in ["<abc@example.com>", "<tl.x.1@a>", "tl.", "<tl.-3.a@b>", ""] {
            assert_eq!(send_of(other), None, "{other}");
        }
    }
}
