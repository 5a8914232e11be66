//! Where a webhook is delivered, and whether Tracklane may deliver there. A receiver is an
//! `http` or `https` URL. Its address (an IP literal, or each address its name resolves to,
//! checked again at every delivery so that DNS rebinding fails) must be a public one:
//! loopback, private, shared (CGNAT) and unique-local addresses and `localhost` are refused
//! unless the operator allows private receivers (development, tests); unspecified, link-local
//! (cloud metadata at 169.254.169.254), multicast, reserved and documentation addresses, and
//! the metadata addresses that sit in other ranges, are refused always.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::invalid::Invalid;

/// The longest receiver URL.
pub const URL_MAX: usize = 2048;

/// The attribute refusals name.
const ATTRIBUTE: &str = "url";

/// A receiver's URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverUrl {
    /// The URL as stored and requested.
    pub url: String,
    /// Its host: a name to resolve, or an address.
    pub host: Host<String>,
    /// Its port (the scheme's when the URL names none).
    pub port: u16,
}

/// Where an address lies, as far as deliveries go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A public address.
    Public,
    /// A private one (loopback, private, shared, unique-local, `localhost`): only with the
    /// setting that allows private receivers.
    Private,
    /// One never delivered to.
    Never,
}

impl ReceiverUrl {
    /// Parses a receiver URL: `http` or `https`, with a host, at most [`URL_MAX`] characters.
    /// Says nothing of its address: see [`reach_of_host`] and [`reach_of_ip`].
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Invalid::missing(ATTRIBUTE));
        }
        if raw.chars().count() > URL_MAX {
            return Err(Invalid::too_long(ATTRIBUTE, URL_MAX));
        }
        let url = Url::parse(raw).map_err(|error| {
            Invalid::bad_value(ATTRIBUTE, format!("'{raw}' is not a URL: {error}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::bad_value(
                ATTRIBUTE,
                format!("'{raw}' must be an http or https URL"),
            ));
        }
        let host = url
            .host()
            .map(|host| host.to_owned())
            .ok_or_else(|| Invalid::bad_value(ATTRIBUTE, format!("'{raw}' names no host")))?;
        let port = url.port_or_known_default().unwrap_or(443);
        Ok(Self {
            url: url.into(),
            host,
            port,
        })
    }
}

/// Where a host lies when it says so without resolving: an address, or `localhost` and names
/// under `.localhost` (private); `None` for a name to resolve.
pub fn reach_of_host(host: &Host<String>) -> Option<Reach> {
    match host {
        Host::Ipv4(ip) => Some(reach_of_ip(IpAddr::V4(*ip))),
        Host::Ipv6(ip) => Some(reach_of_ip(IpAddr::V6(*ip))),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost")).then_some(Reach::Private)
        }
    }
}

/// Where an address lies.
pub fn reach_of_ip(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(ip) => reach_of_v4(ip),
        IpAddr::V6(ip) => reach_of_v6(ip),
    }
}

fn reach_of_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    let never = ip.is_unspecified()
        || a == 0
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a >= 240
        || ip.is_documentation()
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b & 0xFE) == 18)
        // Alibaba Cloud's metadata service, inside the shared range.
        || ip == Ipv4Addr::new(100, 100, 100, 200);
    if never {
        Reach::Never
    } else if ip.is_loopback() || ip.is_private() || (a == 100 && (b & 0xC0) == 64) {
        Reach::Private
    } else {
        Reach::Public
    }
}

fn reach_of_v6(ip: Ipv6Addr) -> Reach {
    if let Some(v4) = embedded_v4(ip) {
        return reach_of_v4(v4);
    }
    let s = ip.segments();
    let never = ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unicast_link_local()
        || (s[0] & 0xFFC0) == 0xFEC0
        || (s[0] == 0x2001 && s[1] == 0x0DB8)
        || (s[0] == 0x2001 && s[1] == 0)
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0)
        // AWS's metadata service over IPv6, inside the unique-local range.
        || ip == Ipv6Addr::new(0xFD00, 0x0EC2, 0, 0, 0, 0, 0, 0x0254);
    if never {
        Reach::Never
    } else if ip.is_loopback() || ip.is_unique_local() {
        Reach::Private
    } else {
        Reach::Public
    }
}

/// The IPv4 address an IPv6 one carries: mapped (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let [.., hi, lo] = s;
    let tail = Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if (s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified())
        || s[..6] == [0x64, 0xFF9B, 0, 0, 0, 0]
    {
        Some(tail)
    } else if s[0] == 0x2002 {
        Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ))
    } else {
        None
    }
}

/// Refuses a receiver at `reach` (`name` says which host), allowing private ones when
/// `allow_private`.
pub fn check_reach(reach: Reach, name: &str, allow_private: bool) -> Result<(), Invalid> {
    match reach {
        Reach::Public => Ok(()),
        Reach::Private if allow_private => Ok(()),
        Reach::Private => Err(Invalid::bad_value(
            ATTRIBUTE,
            format!(
                "'{name}' is a private address, accepted only with the allow_private_webhooks \
                 setting"
            ),
        )),
        Reach::Never => Err(Invalid::bad_value(
            ATTRIBUTE,
            format!("'{name}' is an address webhooks are never delivered to"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(raw: &str) -> Reach {
        reach_of_ip(raw.parse().unwrap())
    }

    #[test]
    fn public_private_and_forbidden_addresses() {
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            assert_eq!(reach(public), Reach::Public, "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd12::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:0101::1",
        ] {
            assert_eq!(reach(private), Reach::Private, "{private}");
        }
        for never in [
            "0.0.0.0",
            "169.254.169.254",
            "100.100.100.200",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
        ] {
            assert_eq!(reach(never), Reach::Never, "{never}");
        }
    }

    #[test]
    fn receivers_are_http_urls_with_a_host() {
        let parsed = ReceiverUrl::parse(" https://hooks.example.com/in?x=1 ").unwrap();
        assert_eq!(parsed.url, "https://hooks.example.com/in?x=1");
        assert_eq!(parsed.port, 443);
        assert_eq!(reach_of_host(&parsed.host), None);
        let local = ReceiverUrl::parse("http://api.localhost:8080/").unwrap();
        assert_eq!(local.port, 8080);
        assert_eq!(reach_of_host(&local.host), Some(Reach::Private));
        let literal = ReceiverUrl::parse("http://[::1]:9/").unwrap();
        assert_eq!(reach_of_host(&literal.host), Some(Reach::Private));
        for bad in [
            "",
            "ftp://example.com/",
            "not a url",
            "mailto:a@example.com",
        ] {
            assert!(ReceiverUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(ReceiverUrl::parse(&format!("https://e.com/{}", "a".repeat(URL_MAX))).is_err());
    }

    #[test]
    fn private_receivers_pass_only_when_allowed() {
        assert!(check_reach(Reach::Private, "127.0.0.1", false).is_err());
        assert!(check_reach(Reach::Private, "127.0.0.1", true).is_ok());
        assert!(check_reach(Reach::Never, "169.254.169.254", true).is_err());
        assert!(check_reach(Reach::Public, "8.8.8.8", false).is_ok());
    }
}
