//! Page visits: the page's address taken apart, the referrer, the visitor's id, and the rules
//! that say which domains an account tracks and when a visit (session) starts.

use url::Url;

use crate::cid::TOKEN_PARAM;
use crate::invalid::Invalid;
use crate::time::Timestamp;

/// The longest page or referrer URL accepted.
pub const URL_MAX: usize = 4096;
/// The longest page title kept (longer titles are cut, not refused).
pub const TITLE_MAX: usize = 512;
/// A page view more than this long after the visitor's previous one starts a new site visit.
pub const VISIT_GAP_MICROS: i64 = 30 * 60 * 1_000_000;

/// A page's address, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageUrl {
    /// The whole URL.
    pub url: String,
    /// The host, lower-case, without a leading `www.`.
    pub domain: String,
    /// The path (with the query string).
    pub path: String,
}

impl PageUrl {
    /// Parses an http(s) URL of at most [`URL_MAX`] characters; `attribute` names it in refusals.
    pub fn parse(attribute: &'static str, raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Invalid::missing(attribute));
        }
        if raw.chars().count() > URL_MAX {
            return Err(Invalid::too_long(attribute, URL_MAX));
        }
        let url = Url::parse(raw)
            .map_err(|e| Invalid::bad_value(attribute, format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::bad_value(
                attribute,
                "only http and https pages are tracked",
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| Invalid::bad_value(attribute, "the URL has no host"))?;
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        Ok(Self {
            domain: bare_domain(host),
            path,
            url: url.to_string(),
        })
    }

    /// A referrer as it is stored: `raw` when it is an http(s) URL (anything else is no
    /// referrer, not a refusal), without the contact token it may carry.
    pub fn referrer(raw: &str) -> Option<Self> {
        Self::parse("referrer", raw)
            .ok()
            .map(|referrer| referrer.without_param(TOKEN_PARAM))
    }

    /// The same page without the query parameter `name` (a token that must not be stored). The
    /// other parameters are kept exactly as written (`%20` stays `%20`), so that the stored
    /// address is the one the visitor had, but for the token.
    pub fn without_param(self, name: &str) -> Self {
        let Ok(mut url) = Url::parse(&self.url) else {
            return self;
        };
        let Some(query) = url.query().map(str::to_owned) else {
            return self;
        };
        let names = |piece: &str| {
            url::form_urlencoded::parse(piece.as_bytes())
                .next()
                .is_some_and(|(key, _)| key == name)
        };
        if !query.split('&').any(names) {
            return self;
        }
        let kept: Vec<&str> = query.split('&').filter(|piece| !names(piece)).collect();
        url.set_query(
            Some(&kept.join("&"))
                .filter(|kept| !kept.is_empty())
                .map(String::as_str),
        );
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        Self {
            path,
            url: url.to_string(),
            ..self
        }
    }

    /// The value of a query parameter of the page's URL.
    pub fn query_value(&self, name: &str) -> Option<String> {
        Url::parse(&self.url)
            .ok()?
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

/// A host in lower case without a leading `www.`: the form domains are whitelisted and matched in.
pub fn bare_domain(host: &str) -> String {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    host.strip_prefix("www.")
        .map_or(host.clone(), str::to_owned)
}

/// Whether a page on `domain` may be tracked: it is a whitelisted domain or a subdomain of one.
pub fn domain_is_tracked<'a>(domain: &str, whitelist: impl IntoIterator<Item = &'a str>) -> bool {
    whitelist.into_iter().any(|allowed| {
        domain == allowed
            || domain
                .strip_suffix(allowed)
                .is_some_and(|prefix| prefix.ends_with('.'))
    })
}

/// Checks a visitor id sent by the snippet: 8 to 64 letters, digits, `-` or `_`.
pub fn parse_visitor_key(raw: &str) -> Result<String, Invalid> {
    let raw = raw.trim();
    let fine = (8..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fine {
        Ok(raw.to_owned())
    } else {
        Err(Invalid::bad_value(
            "visitor",
            "a visitor id is 8 to 64 letters, digits, '-' or '_'",
        ))
    }
}

/// Whether a page view at `at` starts a new site visit, given the visitor's previous page view.
pub fn starts_visit(previous_page_at: Option<Timestamp>, at: Timestamp) -> bool {
    previous_page_at.is_none_or(|previous| at.0 - previous.0 > VISIT_GAP_MICROS)
}

/// Cuts a title to [`TITLE_MAX`] characters.
pub fn clip_title(title: &str) -> String {
    title.trim().chars().take(TITLE_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Code;

    #[test]
    fn takes_page_urls_apart() {
        let page =
            PageUrl::parse("url", "https://WWW.Example.com/pricing?plan=pro&tl_cid=abc").unwrap();
        assert_eq!(page.domain, "example.com");
        assert_eq!(page.path, "/pricing?plan=pro&tl_cid=abc");
        assert_eq!(page.query_value("tl_cid").as_deref(), Some("abc"));
        let stored = page.clone().without_param("tl_cid");
        assert_eq!(stored.path, "/pricing?plan=pro");
        assert_eq!(stored.url, "https://www.example.com/pricing?plan=pro");
        let alone = PageUrl::parse("url", "https://example.com/?tl_cid=abc#top").unwrap();
        assert_eq!(
            alone.without_param("tl_cid").url,
            "https://example.com/#top"
        );
        assert_eq!(page.clone().without_param("other"), page);
        let written = PageUrl::parse(
            "url",
            "https://example.com/s?q=red%20shoes&tl_cid=abc&b=a+b",
        )
        .unwrap();
        assert_eq!(
            written.without_param("tl_cid").url,
            "https://example.com/s?q=red%20shoes&b=a+b",
            "the other parameters as written"
        );
        assert_eq!(
            PageUrl::referrer("https://mail.example/?tl_cid=abc").map(|r| r.url),
            Some("https://mail.example/".to_owned())
        );
        assert_eq!(PageUrl::referrer("android-app://com.mail"), None);
        for bad in [
            "",
            "not a url",
            "javascript:alert(1)",
            "ftp://example.com/x",
        ] {
            assert!(PageUrl::parse("url", bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(URL_MAX));
        assert_eq!(
            PageUrl::parse("url", &long).unwrap_err().code,
            Code::TooLong
        );
    }

    #[test]
    fn matches_whitelisted_domains_and_subdomains() {
        let whitelist = ["example.com", "shop.other.org"];
        assert!(domain_is_tracked("example.com", whitelist));
        assert!(domain_is_tracked("blog.example.com", whitelist));
        assert!(!domain_is_tracked("badexample.com", whitelist));
        assert!(!domain_is_tracked("other.org", whitelist));
        assert!(domain_is_tracked("shop.other.org", whitelist));
    }

    #[test]
    fn visits_start_after_thirty_quiet_minutes() {
        let at = Timestamp(VISIT_GAP_MICROS * 10);
        assert!(starts_visit(None, at));
        assert!(!starts_visit(Some(Timestamp(at.0 - VISIT_GAP_MICROS)), at));
        assert!(starts_visit(
            Some(Timestamp(at.0 - VISIT_GAP_MICROS - 1)),
            at
        ));
    }

    #[test]
    fn visitor_keys_are_checked() {
        assert!(parse_visitor_key("0123456789abcdef").is_ok());
        assert!(parse_visitor_key("short").is_err());
        assert!(parse_visitor_key("has space in it").is_err());
        assert!(parse_visitor_key(&"a".repeat(65)).is_err());
    }
}
