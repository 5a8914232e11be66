//! What the site tracking whitelist may hold: a registrable domain (`example.com`,
//! `example.co.uk`) or a subdomain of one, judged by the Public Suffix List (the `psl` crate).
//! Whitelisting a whole public suffix (`com`, `co.uk`, `github.io`) would track every site under
//! it, so it is refused, as are wildcards, IP addresses, names with an empty or malformed label
//! and names under no known top-level domain. Local sites (`localhost`, `*.localhost` and
//! loopback addresses) are for development and accepted only when the caller allows them.

use url::{Host, Url};

use crate::invalid::Invalid;
use crate::visit::bare_domain;

/// The longest domain name (RFC 1035).
const NAME_MAX: usize = 253;
/// The longest label of a domain name.
const LABEL_MAX: usize = 63;

/// The attribute refusals name.
const ATTRIBUTE: &str = "name";

/// The host a whitelisting names, given as a bare host (`Shop.Example.com`) or a URL whose host
/// is taken, in the form pages are matched in: lower case, without a leading `www.` or a
/// trailing dot. Says nothing of whether it may be whitelisted: see [`parse_site_domain`].
pub fn site_name(raw: &str) -> Result<String, Invalid> {
    Ok(bare_domain(&host_of(raw)?.1))
}

/// Parses a domain to whitelist (as [`site_name`] reads it) and refuses what is not a
/// registrable domain or a subdomain of one; local sites pass only when `allow_local`.
pub fn parse_site_domain(raw: &str, allow_local: bool) -> Result<String, Invalid> {
    let (host, text) = host_of(raw)?;
    let name = bare_domain(&text);
    let refuse = |why: &str| Err(Invalid::bad_value(ATTRIBUTE, format!("'{name}' {why}")));
    if is_local(&host, &name) {
        return if allow_local {
            Ok(name)
        } else {
            refuse("is a local site, accepted only with the allow_local_sites setting")
        };
    }
    if !matches!(host, Host::Domain(_)) {
        return refuse("is an IP address, not a site's domain");
    }
    if name.len() > NAME_MAX || !name.split('.').all(is_label) {
        return refuse("is not a domain");
    }
    match psl::domain(name.as_bytes()) {
        Some(domain) if domain.suffix().is_known() => Ok(name),
        Some(_) => refuse("is under no known top-level domain"),
        None => refuse("is a public suffix: whitelist a domain under it"),
    }
}

/// The URL's host of `raw` (a bare host or a URL), and its text.
fn host_of(raw: &str) -> Result<(Host<String>, String), Invalid> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Invalid::missing(ATTRIBUTE));
    }
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("http://{raw}")
    };
    let not_a_domain = || Invalid::bad_value(ATTRIBUTE, format!("'{raw}' is not a domain"));
    let url = Url::parse(&with_scheme).map_err(|_| not_a_domain())?;
    let text = url.host_str().ok_or_else(not_a_domain)?.to_owned();
    let host = url.host().ok_or_else(not_a_domain)?.to_owned();
    Ok((host, text))
}

/// Whether the host is this machine: `localhost`, a name under it, or a loopback address.
fn is_local(host: &Host<String>, name: &str) -> bool {
    match host {
        Host::Domain(_) => name == "localhost" || name.ends_with(".localhost"),
        Host::Ipv4(address) => address.is_loopback(),
        Host::Ipv6(address) => address.is_loopback(),
    }
}

/// Whether `label` is a DNS label: 1 to 63 letters, digits or inner hyphens (IDNs come here in
/// their `xn--` form).
fn is_label(label: &str) -> bool {
    (1..=LABEL_MAX).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_domains_and_their_subdomains_are_whitelisted() {
        for (raw, name) in [
            ("example.com", "example.com"),
            ("https://www.Example.com/x", "example.com"),
            ("shop.example.co.uk", "shop.example.co.uk"),
            ("example.com.", "example.com"),
            ("me.github.io", "me.github.io"),
            ("bücher.de", "xn--bcher-kva.de"),
        ] {
            assert_eq!(parse_site_domain(raw, false).as_deref(), Ok(name), "{raw}");
        }
    }

    #[test]
    fn suffixes_wildcards_addresses_and_empty_labels_are_refused() {
        for raw in [
            "",
            "..",
            "a..example.com",
            "*.com",
            "*.example.com",
            "com",
            "www.com",
            "co.uk",
            "github.io",
            "shop.internal",
            "not a domain",
            "8.8.8.8",
            "[2001:db8::1]",
            "localhost",
            "127.0.0.1",
            "-shop.example.com",
            "under_score.example.com",
        ] {
            assert!(parse_site_domain(raw, false).is_err(), "{raw}");
        }
    }

    #[test]
    fn local_sites_need_allowing() {
        for (raw, name) in [
            ("localhost", "localhost"),
            ("http://localhost:3000/", "localhost"),
            ("shop.localhost", "shop.localhost"),
            ("127.0.0.1", "127.0.0.1"),
            ("[::1]", "[::1]"),
        ] {
            assert!(parse_site_domain(raw, false).is_err(), "{raw}");
            assert_eq!(parse_site_domain(raw, true).as_deref(), Ok(name), "{raw}");
        }
        assert!(parse_site_domain("8.8.8.8", true).is_err());
        assert!(parse_site_domain("com", true).is_err());
    }

    #[test]
    fn names_are_read_without_judging_them() {
        assert_eq!(
            site_name("https://WWW.Example.com/").unwrap(),
            "example.com"
        );
        assert_eq!(site_name("*.com").unwrap(), "*.com");
        assert!(site_name("").is_err());
    }
}
