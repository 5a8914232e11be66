//! Whether a click on a tracked link, or an open, was probably made by a machine rather than the
//! person: corporate mail scanners (Microsoft Safe Links and Defender, Mimecast, Proofpoint,
//! Barracuda) and link-preview bots fetch links before anybody reads the mail. Such activity is
//! still recorded, as suspected machine activity with its [`Reason`], but kept out of unique
//! counts, link actions and automation triggers.
//!
//! The rules, each of which an account can switch off ([`ScannerRules`]), in the order they are
//! asked:
//! 1. **Trap link**: the message's hidden link, which no person can see, was followed, or was
//!    followed by the same recipient less than [`TRAP_SHADOW_SECONDS`] ago (a scanner follows
//!    the trap, then the other links).
//! 2. **HEAD request** or **prefetch** (`Purpose` / `Sec-Purpose: prefetch`): nobody clicked.
//! 3. **Known agent**: the user agent names a scanner, a preview bot or an HTTP library
//!    ([`KNOWN_AGENTS`]), is a crawler for `woothee` ([`Device::Bot`]), or is missing.
//! 4. **Known network**: the request comes from a network a mail-filtering service publishes
//!    for its servers ([`KNOWN_NETWORKS`]), or one the account adds.
//! 5. **Too soon after delivery**: within a few seconds of the message being handed over.
//! 6. **Every link at once**: every link of the message clicked within about a second.

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::device::Device;

/// How long after a recipient followed the trap link their clicks and opens are a machine's.
pub const TRAP_SHADOW_SECONDS: i64 = 60;

/// Networks that mail-filtering services publish for the servers that fetch links and images
/// of incoming mail, with the service's name. Requests from them come from no person's browser.
/// Sources: Microsoft 365's published "Exchange Online" ranges (Defender for Office 365 Safe
/// Links detonates links from them), and the inbound-gateway ranges that Mimecast (US, UK and EU
/// regions), Proofpoint (hosted `pphosted.com`) and Barracuda Email Security Service publish for
/// allow-listing. Vendors change them; an account adds its own ([`ScannerRules::networks`]).
#[rustfmt::skip]
pub const KNOWN_NETWORKS: &[(&str, &str)] = &[
    ("Microsoft", "40.92.0.0/15"), ("Microsoft", "40.107.0.0/16"),
    ("Microsoft", "52.100.0.0/14"), ("Microsoft", "104.47.0.0/17"),
    ("Microsoft", "2a01:111:f400::/48"), ("Microsoft", "2a01:111:f403::/48"),
    ("Mimecast", "205.139.110.0/24"), ("Mimecast", "207.211.30.0/24"),
    ("Mimecast", "195.130.217.0/24"), ("Mimecast", "91.220.42.0/24"),
    ("Mimecast", "146.101.78.0/24"), ("Mimecast", "185.58.84.0/24"),
    ("Proofpoint", "67.231.144.0/20"), ("Proofpoint", "148.163.128.0/19"),
    ("Proofpoint", "205.220.160.0/19"),
    ("Barracuda", "64.235.144.0/20"), ("Barracuda", "209.222.80.0/21"),
];

static NETWORKS: LazyLock<Vec<(&'static str, IpNet)>> = LazyLock::new(|| {
    KNOWN_NETWORKS
        .iter()
        .filter_map(|(owner, net)| Some((*owner, net.parse().ok()?)))
        .collect()
});

/// User-agent fragments (compared without case) of machines that fetch links in mail. Chosen to
/// match no person's browser or mail app: no bare `bot` (it is inside the phone brand `CUBOT`),
/// no `HeadlessChrome` (our own browser tests), no `GoogleImageProxy` or `ms-office` (Gmail's
/// image proxy and Outlook load the open pixel for a person reading the mail).
#[rustfmt::skip]
pub const KNOWN_AGENTS: &[&str] = &[
    // Bing's preview fetcher, used for link previews in Outlook.com and Teams.
    "BingPreview",
    // Office apps probing a link before opening it (Microsoft KB 899927).
    "Microsoft Office Protocol Discovery", "Microsoft Office Existence Discovery",
    // Mail security gateways naming themselves: Barracuda Email Protection, Mimecast URL
    // Protect, Proofpoint URL Defense.
    "Barracuda", "Mimecast", "Proofpoint",
    // Link-preview bots of chat apps a link is pasted into, as each vendor documents its agent:
    // Slack, LinkedIn, X, Meta, WhatsApp, Telegram, Discord, Skype.
    "Slackbot", "LinkedInBot", "Twitterbot", "facebookexternalhit", "WhatsApp/", "TelegramBot",
    "Discordbot", "SkypeUriPreview",
    // Search crawlers' documented agents and the words crawlers call themselves by.
    "Googlebot", "bingbot", "crawler", "spider",
    // HTTP libraries and command-line tools, in their default user agents.
    "python-requests/", "python-urllib/", "curl/", "Wget/", "Go-http-client/", "Java/",
    "Apache-HttpClient/", "libwww-perl/",
    // Robots' convention of a "+http://..." info URL (Googlebot, bingbot, facebookexternalhit).
    "+http",
];

/// Which rules an account applies. The default applies all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ScannerRules {
    /// User agents of scanners, bots and HTTP libraries ([`KNOWN_AGENTS`], [`Device::Bot`]).
    pub known_agents: bool,
    /// The networks of mail-filtering services ([`KNOWN_NETWORKS`]).
    pub known_networks: bool,
    /// More networks whose requests are a machine's (the account's own gateway, say), applied
    /// even when `known_networks` is off.
    pub networks: Vec<IpNet>,
    /// HEAD requests and prefetches.
    pub head_requests: bool,
    /// A click less than this many seconds after delivery; `None` switches the rule off.
    pub seconds_after_delivery: Option<u32>,
    /// Every link of a message (two or more) clicked within this many milliseconds; `None`
    /// switches the rule off. The caller counts the links in that window.
    pub all_links_within_ms: Option<u32>,
    /// The hidden trap link.
    pub trap_link: bool,
}

impl Default for ScannerRules {
    fn default() -> Self {
        Self {
            known_agents: true,
            known_networks: true,
            networks: Vec::new(),
            head_requests: true,
            seconds_after_delivery: Some(10),
            all_links_within_ms: Some(1000),
            trap_link: true,
        }
    }
}

/// What is known of one click (or open: no links, no trap) when it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClickFacts<'a> {
    /// The `User-Agent` header, empty when missing.
    pub user_agent: &'a str,
    /// Whether the request was a HEAD request.
    pub method_is_head: bool,
    /// The `Purpose` or `Sec-Purpose` header (`prefetch`, `prefetch;prerender`), when present.
    pub purpose_header: Option<&'a str>,
    /// Seconds since the message was handed over for delivery to this recipient, when known.
    pub seconds_since_delivery: Option<i64>,
    /// How many tracked links the message has, the trap link not counted; 0 for an open.
    pub links_in_message: usize,
    /// How many distinct links of the message this recipient clicked within the
    /// [`ScannerRules::all_links_within_ms`] window, this one included.
    pub distinct_links_clicked_within_window: usize,
    /// Whether the link followed is the message's hidden trap link.
    pub is_trap_link: bool,
    /// Seconds since this recipient followed the message's trap link, when they did.
    pub seconds_since_trap: Option<i64>,
    /// The address the request came from, when known.
    pub client_ip: Option<IpAddr>,
}

/// Who probably made a click or an open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The person the message was sent to.
    Person,
    /// A machine, and the rule that said so.
    Machine(Reason),
}

/// Why a click or an open was judged a machine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The user agent matched this entry of [`KNOWN_AGENTS`], or is `"crawler"` for `woothee`
    /// or `"missing"`.
    KnownAgent(&'static str),
    /// The request came from this service's network ([`KNOWN_NETWORKS`]), or `"account"` for
    /// one of the account's own.
    KnownNetwork(&'static str),
    /// A HEAD request.
    HeadRequest,
    /// A prefetch or prerender, announced by the `Purpose` / `Sec-Purpose` header.
    Prefetch,
    /// Too soon after the message was delivered.
    TooSoonAfterDelivery,
    /// Every link of the message clicked at once.
    EveryLinkAtOnce,
    /// The hidden trap link was followed.
    TrapLink,
}

impl Reason {
    /// The stored spelling, stable, as shown on the timeline.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KnownAgent(_) => "known_agent",
            Self::KnownNetwork(_) => "known_network",
            Self::HeadRequest => "head_request",
            Self::Prefetch => "prefetch",
            Self::TooSoonAfterDelivery => "too_soon_after_delivery",
            Self::EveryLinkAtOnce => "every_link_at_once",
            Self::TrapLink => "trap_link",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KnownAgent(agent) => write!(f, "known scanner or bot user agent ({agent})"),
            Self::KnownNetwork(owner) => write!(f, "mail filter network ({owner})"),
            Self::HeadRequest => f.write_str("HEAD request"),
            Self::Prefetch => f.write_str("prefetch request"),
            Self::TooSoonAfterDelivery => f.write_str("too soon after delivery"),
            Self::EveryLinkAtOnce => f.write_str("every link of the message clicked at once"),
            Self::TrapLink => f.write_str("hidden trap link followed"),
        }
    }
}

/// Who probably made the click or open described by `facts`, under `rules`.
pub fn judge(rules: &ScannerRules, facts: &ClickFacts<'_>) -> Verdict {
    let trapped = facts.is_trap_link
        || facts
            .seconds_since_trap
            .is_some_and(|seconds| seconds < TRAP_SHADOW_SECONDS);
    let reason = if rules.trap_link && trapped {
        Some(Reason::TrapLink)
    } else if rules.head_requests && facts.method_is_head {
        Some(Reason::HeadRequest)
    } else if rules.head_requests && facts.purpose_header.is_some_and(announces_prefetch) {
        Some(Reason::Prefetch)
    } else if let Some(agent) = rules
        .known_agents
        .then(|| known_agent(facts.user_agent))
        .flatten()
    {
        Some(Reason::KnownAgent(agent))
    } else if let Some(owner) = facts.client_ip.and_then(|ip| known_network(rules, ip)) {
        Some(Reason::KnownNetwork(owner))
    } else if too_soon(rules, facts) {
        Some(Reason::TooSoonAfterDelivery)
    } else if every_link_at_once(rules, facts) {
        Some(Reason::EveryLinkAtOnce)
    } else {
        None
    };
    reason.map_or(Verdict::Person, Verdict::Machine)
}

/// The [`KNOWN_AGENTS`] entry the user agent matches, `"crawler"` when `woothee` calls it one,
/// `"missing"` when there is none.
pub fn known_agent(user_agent: &str) -> Option<&'static str> {
    let user_agent = user_agent.trim();
    if user_agent.is_empty() {
        return Some("missing");
    }
    let lower = user_agent.to_ascii_lowercase();
    KNOWN_AGENTS
        .iter()
        .find(|agent| lower.contains(&agent.to_ascii_lowercase()))
        .copied()
        .or_else(|| (Device::of_user_agent(user_agent) == Device::Bot).then_some("crawler"))
}

/// Whose network `ip` belongs to under `rules`: a [`KNOWN_NETWORKS`] owner, or `"account"`.
fn known_network(rules: &ScannerRules, ip: IpAddr) -> Option<&'static str> {
    let known = rules
        .known_networks
        .then(|| NETWORKS.iter().find(|(_, net)| net.contains(&ip)))
        .flatten()
        .map(|(owner, _)| *owner);
    known.or_else(|| {
        rules
            .networks
            .iter()
            .any(|net| net.contains(&ip))
            .then_some("account")
    })
}

fn announces_prefetch(purpose: &str) -> bool {
    let purpose = purpose.to_ascii_lowercase();
    purpose.contains("prefetch") || purpose.contains("prerender")
}

fn too_soon(rules: &ScannerRules, facts: &ClickFacts<'_>) -> bool {
    match (rules.seconds_after_delivery, facts.seconds_since_delivery) {
        (Some(limit), Some(elapsed)) => elapsed < i64::from(limit),
        _ => false,
    }
}

fn every_link_at_once(rules: &ScannerRules, facts: &ClickFacts<'_>) -> bool {
    rules.all_links_within_ms.is_some()
        && facts.links_in_message >= 2
        && facts.distinct_links_clicked_within_window >= facts.links_in_message
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

    /// A person clicking the first of three links two minutes after delivery.
    const PERSON: ClickFacts<'static> = ClickFacts {
        user_agent: CHROME,
        method_is_head: false,
        purpose_header: None,
        seconds_since_delivery: Some(120),
        links_in_message: 3,
        distinct_links_clicked_within_window: 1,
        is_trap_link: false,
        seconds_since_trap: None,
        client_ip: None,
    };

    /// The verdict of the default rules on a person's click changed by `change`.
    fn judged(change: impl FnOnce(&mut ClickFacts<'static>)) -> Verdict {
        let mut facts = PERSON;
        change(&mut facts);
        judge(&ScannerRules::default(), &facts)
    }

    const NOTHING: ScannerRules = ScannerRules {
        known_agents: false,
        known_networks: false,
        networks: Vec::new(),
        head_requests: false,
        seconds_after_delivery: None,
        all_links_within_ms: None,
        trap_link: false,
    };

    fn machine(reason: Reason) -> Verdict {
        Verdict::Machine(reason)
    }

    #[test]
    fn a_person_clicking_two_minutes_after_delivery_is_a_person() {
        assert_eq!(judged(|_| {}), Verdict::Person);
        let people = [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 10; CUBOT_X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
        ];
        for agent in people {
            assert_eq!(judged(|f| f.user_agent = agent), Verdict::Person, "{agent}");
        }
    }

    #[test]
    fn known_agents_are_machines() {
        let cases = [
            ("Mozilla/5.0 (compatible; BingPreview/1.0b)", "BingPreview"),
            (
                "Mozilla/4.0 (compatible; MSIE 7.0; Microsoft Office Protocol Discovery)",
                "Microsoft Office Protocol Discovery",
            ),
            ("Barracuda Sentinel (EE)", "Barracuda"),
            ("python-requests/2.31.0", "python-requests/"),
            (
                "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
                "Slackbot",
            ),
            (
                "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
                "facebookexternalhit",
            ),
            ("curl/8.5.0", "curl/"),
            (
                "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
                "+http",
            ),
            ("Mozilla/5.0 (compatible; SomeBot/1.0)", "crawler"),
            ("   ", "missing"),
        ];
        for (agent, entry) in cases {
            let expected = machine(Reason::KnownAgent(entry));
            assert_eq!(judged(|f| f.user_agent = agent), expected, "{agent}");
        }
    }

    #[test]
    fn head_requests_are_machines() {
        let verdict = judged(|f| f.method_is_head = true);
        assert_eq!(verdict, machine(Reason::HeadRequest));
    }

    #[test]
    fn prefetches_are_machines() {
        for purpose in [
            "prefetch",
            "Prefetch;prerender",
            "prefetch;anonymous-client-ip",
        ] {
            let verdict = judged(|f| f.purpose_header = Some(purpose));
            assert_eq!(verdict, machine(Reason::Prefetch), "{purpose}");
        }
        let verdict = judged(|f| f.purpose_header = Some("navigate"));
        assert_eq!(verdict, Verdict::Person);
    }

    #[test]
    fn a_click_within_seconds_of_delivery_is_a_machine() {
        for seconds in [-3, 0, 9] {
            let verdict = judged(|f| f.seconds_since_delivery = Some(seconds));
            assert_eq!(verdict, machine(Reason::TooSoonAfterDelivery), "{seconds}");
        }
        for seconds in [Some(10), None] {
            let verdict = judged(|f| f.seconds_since_delivery = seconds);
            assert_eq!(verdict, Verdict::Person, "{seconds:?}");
        }
    }

    #[test]
    fn every_link_clicked_at_once_is_a_machine() {
        let verdict = judged(|f| f.distinct_links_clicked_within_window = 3);
        assert_eq!(verdict, machine(Reason::EveryLinkAtOnce));
        for links in [1, 0] {
            let verdict = judged(|f| {
                f.links_in_message = links;
                f.distinct_links_clicked_within_window = links;
            });
            assert_eq!(
                verdict,
                Verdict::Person,
                "the one link of a message, or an open"
            );
        }
    }

    #[test]
    fn the_trap_link_is_a_machine_before_anything_else() {
        let verdict = judged(|f| {
            f.is_trap_link = true;
            f.method_is_head = true;
        });
        assert_eq!(verdict, machine(Reason::TrapLink));
    }

    #[test]
    fn rules_switched_off_are_not_applied() {
        let facts = ClickFacts {
            user_agent: "curl/8.5.0",
            method_is_head: true,
            purpose_header: Some("prefetch"),
            seconds_since_delivery: Some(1),
            links_in_message: 2,
            distinct_links_clicked_within_window: 2,
            is_trap_link: true,
            seconds_since_trap: None,
            client_ip: Some(IpAddr::from([40, 92, 1, 1])),
        };
        assert_eq!(judge(&NOTHING, &facts), Verdict::Person);
        let only = |change: fn(&mut ScannerRules)| {
            let mut rules = NOTHING;
            change(&mut rules);
            judge(&rules, &facts)
        };
        let agent = Reason::KnownAgent("curl/");
        assert_eq!(only(|r| r.known_agents = true), machine(agent));
        let head = Reason::HeadRequest;
        assert_eq!(only(|r| r.head_requests = true), machine(head));
        let soon = Reason::TooSoonAfterDelivery;
        assert_eq!(only(|r| r.seconds_after_delivery = Some(10)), machine(soon));
        let all = Reason::EveryLinkAtOnce;
        assert_eq!(only(|r| r.all_links_within_ms = Some(1000)), machine(all));
        assert_eq!(only(|r| r.trap_link = true), machine(Reason::TrapLink));
        let network = Reason::KnownNetwork("Microsoft");
        assert_eq!(only(|r| r.known_networks = true), machine(network));
    }

    #[test]
    fn clicks_shortly_after_the_trap_link_are_machines() {
        for seconds in [0, 59] {
            let verdict = judged(|f| f.seconds_since_trap = Some(seconds));
            assert_eq!(verdict, machine(Reason::TrapLink), "{seconds}");
        }
        assert_eq!(judged(|f| f.seconds_since_trap = Some(60)), Verdict::Person);
    }

    #[test]
    fn mail_filter_networks_and_the_accounts_own_are_machines() {
        let from = |ip: [u8; 4]| judged(|f| f.client_ip = Some(IpAddr::from(ip)));
        assert_eq!(
            from([40, 107, 3, 4]),
            machine(Reason::KnownNetwork("Microsoft"))
        );
        assert_eq!(
            from([205, 139, 110, 9]),
            machine(Reason::KnownNetwork("Mimecast"))
        );
        assert_eq!(
            from([148, 163, 130, 1]),
            machine(Reason::KnownNetwork("Proofpoint"))
        );
        assert_eq!(
            from([209, 222, 82, 1]),
            machine(Reason::KnownNetwork("Barracuda"))
        );
        assert_eq!(from([203, 0, 113, 7]), Verdict::Person);
        let ipv6: IpAddr = "2a01:111:f400:fe00::1".parse().unwrap();
        assert_eq!(
            judged(|f| f.client_ip = Some(ipv6)),
            machine(Reason::KnownNetwork("Microsoft"))
        );
        let rules = ScannerRules {
            known_networks: false,
            networks: vec!["203.0.113.0/24".parse().unwrap()],
            ..ScannerRules::default()
        };
        let mut facts = PERSON;
        facts.client_ip = Some(IpAddr::from([203, 0, 113, 7]));
        assert_eq!(
            judge(&rules, &facts),
            machine(Reason::KnownNetwork("account"))
        );
        facts.client_ip = Some(IpAddr::from([40, 107, 3, 4]));
        assert_eq!(judge(&rules, &facts), Verdict::Person);
    }

    #[test]
    fn every_published_network_is_read() {
        assert_eq!(NETWORKS.len(), KNOWN_NETWORKS.len());
    }

    #[test]
    fn reasons_have_stable_codes_and_readable_text() {
        let agent = Reason::KnownAgent("Mimecast");
        assert_eq!(agent.as_str(), "known_agent");
        assert_eq!(
            agent.to_string(),
            "known scanner or bot user agent (Mimecast)"
        );
        assert_eq!(
            Reason::TooSoonAfterDelivery.as_str(),
            "too_soon_after_delivery"
        );
        assert!(serde_json::from_str::<ScannerRules>(r#"{"trap_link":false}"#).is_err());
        let rules: ScannerRules = serde_json::from_str(r#"{"trapLink":false}"#).unwrap();
        assert_eq!(
            rules,
            ScannerRules {
                trap_link: false,
                ..ScannerRules::default()
            }
        );
    }

    proptest! {
        #[test]
        fn with_every_rule_off_everyone_is_a_person(
            agent in ".{0,80}", head: bool, seconds in proptest::option::of(any::<i64>()),
            links in 0usize..5, clicked in 0usize..5, trap: bool,
            since_trap in proptest::option::of(any::<i64>()), ip: [u8; 4],
        ) {
            let facts = ClickFacts {
                user_agent: &agent, method_is_head: head, purpose_header: Some("prefetch"),
                seconds_since_delivery: seconds, links_in_message: links,
                distinct_links_clicked_within_window: clicked, is_trap_link: trap,
                seconds_since_trap: since_trap, client_ip: Some(IpAddr::from(ip)),
            };
            prop_assert_eq!(judge(&NOTHING, &facts), Verdict::Person);
            let _ = judge(&ScannerRules::default(), &facts);
        }
    }
}
