//! A contact's email address: trimmed, lower-cased, at most 255 characters, and valid by
//! RFC 5321/5322 as the `email_address` crate judges it.

use std::fmt;
use std::str::FromStr;

use email_address::EmailAddress;

use crate::invalid::Invalid;
use crate::text::NAME_MAX;

/// A normalised, validated email address. Two spellings that differ only in case are one contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContactEmail(String);

impl ContactEmail {
    /// Parses and normalises `raw`; `attribute` names the input in the refusal.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(Invalid::missing("email"));
        }
        if email.chars().count() > NAME_MAX {
            return Err(Invalid::too_long("email", NAME_MAX));
        }
        if EmailAddress::from_str(&email).is_err() || !email.contains('.') {
            return Err(Invalid::bad_value(
                "email",
                format!("'{}' is not a valid email address", raw.trim()),
            ));
        }
        Ok(Self(email))
    }

    /// The address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for ContactEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Code;
    use proptest::prelude::*;

    #[test]
    fn normalises_case_and_space() {
        let email = ContactEmail::parse("  Ada@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada@example.com");
        assert_eq!(email.local_part(), "ada");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn refuses_bad_addresses() {
        for bad in ["", "   ", "plain", "a@", "@b.com", "a b@c.com", "a@@b.com"] {
            assert!(ContactEmail::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(300));
        assert_eq!(ContactEmail::parse(&long).unwrap_err().code, Code::TooLong);
    }

    proptest! {
        #[test]
        fn never_panics_and_parses_its_own_output(raw in ".{0,80}") {
            if let Ok(email) = ContactEmail::parse(&raw) {
                prop_assert_eq!(ContactEmail::parse(email.as_str()), Ok(email.clone()));
                prop_assert_eq!(email.as_str().to_lowercase(), email.as_str());
            }
        }

        #[test]
        fn accepts_simple_addresses(local in "[a-z0-9]{1,20}", domain in "[a-z]{1,20}\\.[a-z]{2,6}") {
            let raw = format!("{local}@{domain}");
            prop_assert_eq!(ContactEmail::parse(&raw).map(|e| e.to_string()), Ok(raw));
        }
    }
}
