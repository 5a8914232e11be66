//! Reading the mail a campaign sent, wherever it landed (the outbox, an SMTP sink), and
//! following its tracked URLs as a recipient's browser would.

use tracklane_e2e::TestApp;

/// One received message, parsed.
pub struct Mail {
    /// The `To` header.
    pub to: String,
    /// The `Subject` header, decoded.
    pub subject: String,
    /// The `List-Unsubscribe` header.
    pub unsubscribe: String,
    /// Every header, in order, values decoded.
    pub headers: Vec<(String, String)>,
    /// The `text/html` part.
    pub html: String,
    /// The `text/plain` part.
    pub text: String,
}

impl Mail {
    /// The first value of the header `name` (any case), or `""`.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map_or("", |(_, value)| value.as_str())
    }
}

/// Parses a raw message.
pub fn read(raw: &[u8]) -> Mail {
    use mailparse::MailHeaderMap;
    let parsed = mailparse::parse_mail(raw).unwrap();
    let header = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
    let part = |kind: &str| {
        parsed
            .subparts
            .iter()
            .find(|p| p.ctype.mimetype == kind)
            .map(|p| p.get_body().unwrap())
            .unwrap_or_default()
    };
    Mail {
        to: header("To"),
        subject: header("Subject"),
        unsubscribe: header("List-Unsubscribe"),
        headers: parsed
            .headers
            .iter()
            .map(|h| (h.get_key(), h.get_value()))
            .collect(),
        html: part("text/html"),
        text: part("text/plain"),
    }
}

/// The `{address}/{kind}/...` URLs in `html`, in order, the hidden trap link left out.
pub fn tracked_urls(app: &TestApp, html: &str, kind: &str) -> Vec<String> {
    let prefix = format!("{}/{kind}/", app.address);
    html.match_indices(&prefix)
        .map(|(start, _)| {
            let rest = &html[start..];
            let end = rest.find('"').unwrap();
            (rest[..end].to_owned(), &rest[end..])
        })
        .filter(|(_, after)| !after.starts_with(TRAP_ATTRIBUTES))
        .map(|(url, _)| url)
        .collect()
}

/// The attributes that follow the trap link's href.
pub const TRAP_ATTRIBUTES: &str = "\" style=\"display:none\" aria-hidden=\"true\"";

/// The first `{address}/{kind}/...` URL in `html`, the trap link left out.
pub fn tracked_url(app: &TestApp, html: &str, kind: &str) -> String {
    tracked_urls(app, html, kind)
        .into_iter()
        .next()
        .expect("a tracked URL")
}

/// An HTTP client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A mail client's one-click unsubscribe (RFC 8058) of `url`: its answer's status.
pub async fn one_click_unsubscribe(url: &str) -> u16 {
    no_redirects()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("the server answers")
        .status()
        .as_u16()
}
