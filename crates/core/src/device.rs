//! The kind of device a visit came from, read from its user agent with the `woothee` parser.
//! woothee files tablets with phones; an iPad, or an Android device whose user agent lacks the
//! `Mobile` token (Google's convention for tablets), is a tablet.

use woothee::parser::Parser;

/// The kind of device behind a visit or a click. In JSON (segment definitions) it is spelled as
/// [`Device::as_str`] spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// A desktop or laptop computer (and anything unrecognised).
    Desktop,
    /// A phone.
    Mobile,
    /// A tablet.
    Tablet,
    /// A crawler or another program.
    Bot,
}

impl Device {
    /// The device of a user agent.
    pub fn of_user_agent(user_agent: &str) -> Self {
        let Some(parsed) = Parser::new().parse(user_agent) else {
            return Self::Desktop;
        };
        match parsed.category {
            "smartphone" | "mobilephone" => {
                let android_tablet = parsed.os == "Android" && !user_agent.contains("Mobile");
                if parsed.os == "iPad" || android_tablet {
                    Self::Tablet
                } else {
                    Self::Mobile
                }
            }
            "crawler" => Self::Bot,
            _ => Self::Desktop,
        }
    }

    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Mobile => "mobile",
            Self::Tablet => "tablet",
            Self::Bot => "bot",
        }
    }

    /// Reads a stored spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Desktop, Self::Mobile, Self::Tablet, Self::Bot]
            .into_iter()
            .find(|device| device.as_str() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_common_user_agents() {
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", Device::Desktop),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15", Device::Desktop),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", Device::Mobile),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36", Device::Mobile),
            ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", Device::Tablet),
            ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", Device::Tablet),
            ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Device::Bot),
            ("", Device::Desktop),
        ];
        for (user_agent, device) in cases {
            assert_eq!(Device::of_user_agent(user_agent), device, "{user_agent}");
        }
    }

    #[test]
    fn spellings_round_trip() {
        for device in [Device::Desktop, Device::Mobile, Device::Tablet, Device::Bot] {
            assert_eq!(Device::parse(device.as_str()), Some(device));
        }
    }
}
