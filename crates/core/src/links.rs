//! Tracked links of a message's HTML part: which links are tracked, and the HTML with their
//! destinations replaced by tracking URLs (`{public_url}/l/{token}`, built by the caller).
//!
//! A link is tracked when it is an `<a href>` whose href, entity-decoded and trimmed, is an
//! absolute `http://` or `https://` URL with a host. Not tracked, and left exactly as written:
//! `mailto:`, `tel:`, `javascript:` and other schemes, `#anchors`, relative URLs, hrefs holding a
//! merge tag (`%UNSUBSCRIBELINK%`, `https://example.com/?e=%EMAIL%`: they only mean something
//! after personalization), and links marked `data-tl-notrack`.
//!
//! The HTML is read with Cloudflare's streaming rewriter `lol_html`, which is lenient: broken
//! HTML (unclosed tags, stray quotes) is read the way a browser would, nothing panics, and
//! everything but the replaced hrefs comes out byte for byte. A replaced href is written as
//! `href="..."` with `&`, `<`, `>` and `"` entity-encoded. HTML parts over [`MAX_HTML_BYTES`] are
//! refused with [`LinkError::TooLarge`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lol_html::html_content::{ContentType, Element};
use lol_html::{element, rewrite_str, text, EndTagHandler, RewriteStrSettings};

/// The largest HTML part accepted, 2 MiB. Mail clients clip far smaller messages (Gmail at about
/// 100 KB), so a bigger part is a mistake, and refusing it bounds the work per message.
pub const MAX_HTML_BYTES: usize = 2 * 1024 * 1024;

/// The most characters of a link's text that are kept.
pub const TEXT_MAX_CHARS: usize = 200;

/// The longest text between two `%` read as a merge tag, as in [`crate::template`].
const TAG_MAX: usize = 200;

/// The attribute that keeps a link out of tracking.
const NO_TRACK: &str = "data-tl-notrack";

/// One tracked link of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedLink {
    /// Its 0-based place among the message's tracked links, in document order.
    pub position: usize,
    /// The destination: the href as the author meant it (entities decoded), trimmed, without
    /// the tabs and line breaks browsers ignore inside a URL.
    pub url: String,
    /// The link's visible text, whitespace-collapsed, at most [`TEXT_MAX_CHARS`]; may be empty
    /// (an image link).
    pub text: String,
}

/// Why the links of an HTML part could not be read or rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The HTML part is over [`MAX_HTML_BYTES`].
    #[error("the HTML part is {size} bytes; at most {MAX_HTML_BYTES} bytes are accepted")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
    },
    /// The HTML rewriter gave up (it is lenient, so this is not expected for any input).
    #[error("the HTML part could not be read: {0}")]
    Unreadable(String),
}

/// A digest of a message's tracked links (their destinations and texts, in order): two
/// versions of a message with the same digest send the same links, so mail sent from one
/// tracks correctly against the links recorded from the other.
pub fn links_digest(links: &[TrackedLink]) -> i64 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for link in links {
        for part in [&link.url, &link.text] {
            hasher.update(part.len().to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    let digest = hasher.finalize();
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}

/// The tracked links of an HTML part, in document order.
pub fn find_links(html: &str) -> Result<Vec<TrackedLink>, LinkError> {
    check_size(html)?;
    let links = RefCell::new(Vec::<TrackedLink>::new());
    let in_tracked_link = Cell::new(false);
    let settings = RewriteStrSettings::new()
        .with_strict(false)
        .append_element_content_handler(element!("a[href]", |link| {
            let url = tracked_url(link);
            in_tracked_link.set(url.is_some());
            if let Some(url) = url {
                let mut links = links.borrow_mut();
                let position = links.len();
                links.push(TrackedLink {
                    position,
                    url,
                    text: String::new(),
                });
            }
            Ok(())
        }))
        .append_element_content_handler(text!("a[href]", |chunk| {
            if in_tracked_link.get() {
                if let Some(link) = links.borrow_mut().last_mut() {
                    // Raw text for now; decoded once whole (an entity may span two chunks).
                    if link.text.len() < TEXT_MAX_CHARS * 8 {
                        link.text.push_str(chunk.as_str());
                    }
                }
            }
            Ok(())
        }));
    rewrite_str(html, settings).map_err(|error| LinkError::Unreadable(error.to_string()))?;
    let mut links = links.into_inner();
    for link in &mut links {
        link.text = visible_text(&link.text);
    }
    Ok(links)
}

/// The HTML part with the href of each tracked link replaced by `tracked_href(link)`; untracked
/// links and everything else are left as they are. `tracked_href` is called once per tracked
/// link, in document order, and its answer is entity-encoded into the attribute.
pub fn rewrite_links(
    html: &str,
    mut tracked_href: impl FnMut(&TrackedLink) -> String,
) -> Result<String, LinkError> {
    let links = find_links(html)?;
    let mut next = links.iter();
    let settings = RewriteStrSettings::new()
        .with_strict(false)
        .append_element_content_handler(element!("a[href]", |link| {
            if tracked_url(link).is_some() {
                if let Some(tracked) = next.next() {
                    let href = tracked_href(tracked);
                    link.set_attribute(
                        "href",
                        &html_escape::encode_double_quoted_attribute(&href),
                    )?;
                }
            }
            Ok(())
        }));
    rewrite_str(html, settings).map_err(|error| LinkError::Unreadable(error.to_string()))
}

/// The HTML part with a link that no person can see or reach (hidden, without text, out of the
/// tab order and of screen readers) at the start of its body, or of the part when it has no
/// `<body>`: mail scanners that follow every link follow this one first.
pub fn add_trap_link(html: &str, href: &str) -> Result<String, LinkError> {
    let anchor = format!(
        "<a href=\"{}\" style=\"display:none\" aria-hidden=\"true\" tabindex=\"-1\"></a>",
        html_escape::encode_double_quoted_attribute(href)
    );
    place_in_body(html, anchor, BodyEdge::Start)
}

/// The HTML part with an invisible image loading `src` (the open pixel) as the last thing in
/// its body, just before `</body>`, or at the end of the part when it has no closed `<body>`:
/// never after `</html>`, where it would stand outside the document.
pub fn add_open_pixel(html: &str, src: &str) -> Result<String, LinkError> {
    let image = format!(
        "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">",
        html_escape::encode_double_quoted_attribute(src)
    );
    place_in_body(html, image, BodyEdge::End)
}

/// Where in a part's body [`place_in_body`] puts something.
#[derive(Clone, Copy)]
enum BodyEdge {
    /// Right after `<body>`.
    Start,
    /// Right before `</body>`.
    End,
}

/// The HTML part with `snippet` at `edge` of its first body, or at that edge of the whole part
/// when it has no `<body>` (or, for the end, none that is closed).
fn place_in_body(html: &str, snippet: String, edge: BodyEdge) -> Result<String, LinkError> {
    let placed = Rc::new(Cell::new(false));
    let settings = RewriteStrSettings::new()
        .with_strict(false)
        .append_element_content_handler(element!("body", |body| {
            match edge {
                BodyEdge::Start => {
                    if !placed.replace(true) {
                        body.prepend(&snippet, ContentType::Html);
                    }
                }
                BodyEdge::End => {
                    if let Some(handlers) = body.end_tag_handlers() {
                        let (snippet, placed) = (snippet.clone(), placed.clone());
                        let before_end: EndTagHandler<'static> = Box::new(move |end| {
                            if !placed.replace(true) {
                                end.before(&snippet, ContentType::Html);
                            }
                            Ok(())
                        });
                        handlers.push(before_end);
                    }
                }
            }
            Ok(())
        }));
    let html =
        rewrite_str(html, settings).map_err(|error| LinkError::Unreadable(error.to_string()))?;
    Ok(match (placed.get(), edge) {
        (true, _) => html,
        (false, BodyEdge::Start) => format!("{snippet}{html}"),
        (false, BodyEdge::End) => format!("{html}{snippet}"),
    })
}

fn check_size(html: &str) -> Result<(), LinkError> {
    if html.len() > MAX_HTML_BYTES {
        return Err(LinkError::TooLarge { size: html.len() });
    }
    Ok(())
}

/// The destination of a link when it is tracked.
fn tracked_url(link: &Element<'_, '_>) -> Option<String> {
    if link.has_attribute(NO_TRACK) {
        return None;
    }
    let raw = link.get_attribute("href")?;
    let decoded = html_escape::decode_html_entities(&raw);
    let trimmed = decoded.trim_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    // Browsers drop tabs and line breaks inside a URL; a redirect must not carry them.
    let href: String = trimmed
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let scheme_ok = ["http://", "https://"].iter().any(|scheme| {
        href.get(..scheme.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
    });
    if !scheme_ok || holds_merge_tag(&href) {
        return None;
    }
    let parsed = url::Url::parse(&href).ok()?;
    parsed.host_str().filter(|host| !host.is_empty())?;
    Some(href)
}

/// Whether `href` holds a `%TAG%` merge tag, told apart from percent-encoding (`%C3%A9`): the
/// text between the two `%` starts with a letter, is a tag name (letters, digits, `_`, `-`, `.`,
/// `:`, spaces) up to an optional `|fallback`, and is not a `%XX` escape followed by another one.
fn holds_merge_tag(href: &str) -> bool {
    let mut rest = href;
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('%') else {
            return false;
        };
        let inner = &after[..end];
        let name = inner.split('|').next().unwrap_or_default();
        let is_hex_pair =
            |text: &str| text.len() >= 2 && text.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit);
        let escape_like =
            is_hex_pair(inner) && (inner.len() == 2 || is_hex_pair(&after[end + 1..]));
        let tag_like = inner.len() <= TAG_MAX
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.: ".contains(c));
        if tag_like && !escape_like {
            return true;
        }
        rest = after;
    }
    false
}

/// Raw link text as a person reads it: entities decoded, whitespace collapsed, bounded.
fn visible_text(raw: &str) -> String {
    let decoded = html_escape::decode_html_entities(raw);
    let words: Vec<&str> = decoded.split_whitespace().collect();
    words.join(" ").chars().take(TEXT_MAX_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn urls(html: &str) -> Vec<String> {
        find_links(html)
            .unwrap()
            .into_iter()
            .map(|l| l.url)
            .collect()
    }

    #[test]
    fn the_trap_link_opens_the_body_or_the_part_and_is_not_a_tracked_link() {
        let trap = "https://t.example/l/a&b";
        let html = add_trap_link("<html><body class=\"x\"><p>Hi</p></body></html>", trap).unwrap();
        assert!(
            html.starts_with("<html><body class=\"x\"><a href=\"https://t.example/l/a&amp;b\" style=\"display:none\""),
            "{html}"
        );
        assert!(html.ends_with("></a><p>Hi</p></body></html>"), "{html}");
        let bare = add_trap_link("<p>Hi</p>", trap).unwrap();
        assert!(
            bare.starts_with("<a href=") && bare.ends_with("</a><p>Hi</p>"),
            "{bare}"
        );
        assert_eq!(urls(&bare), vec!["https://t.example/l/a&b".to_owned()]);
    }

    fn to_token(link: &TrackedLink) -> String {
        format!("https://tl.test/l/{}", link.position)
    }

    #[test]
    fn the_open_pixel_ends_the_body() {
        let html = "<html><body><p>Hi</p></body></html>";
        let with = add_open_pixel(html, "https://t.example/o/a&b").unwrap();
        assert_eq!(
            with,
            "<html><body><p>Hi</p><img src=\"https://t.example/o/a&amp;b\" width=\"1\" \
             height=\"1\" alt=\"\" style=\"display:none\"></body></html>"
        );
        let fragment = add_open_pixel("<p>Hi</p>", "https://t.example/o/x").unwrap();
        assert!(fragment.starts_with("<p>Hi</p><img "), "{fragment}");
    }

    #[test]
    fn finds_ordinary_links_in_order_with_their_text() {
        let html = r#"<p>Hi <a href="https://shop.example.com/sale">Big <b>sale</b>
            today</a>, <a href='http://example.org'>home</a> <a href=https://x.io/a?b=1><img src="x.png"></a></p>"#;
        let links = find_links(html).unwrap();
        let expected = [
            ("https://shop.example.com/sale", "Big sale today"),
            ("http://example.org", "home"),
            ("https://x.io/a?b=1", ""),
        ];
        assert_eq!(links.len(), 3);
        for (position, (link, (url, text))) in links.iter().zip(expected).enumerate() {
            assert_eq!(
                (link.position, link.url.as_str(), link.text.as_str()),
                (position, url, text)
            );
        }
    }

    #[test]
    fn other_schemes_anchors_relative_and_marked_links_are_untouched() {
        let html = concat!(
            r#"<a href="mailto:ada@example.com">mail</a><a href="tel:+123">call</a>"#,
            r##"<a href="javascript:alert(1)">js</a><a href="#top">top</a><a href="/path">rel</a>"##,
            r#"<a href="//cdn.example.com/x">proto-relative</a><a href="ftp://example.com/f">ftp</a>"#,
            r#"<a href="%UNSUBSCRIBELINK%">unsubscribe</a><a href="https://e.com/?e=%EMAIL%">me</a>"#,
            r#"<a href="https://example.com/secret" data-tl-notrack>no</a><a name="n">name</a>"#,
            r#"<a href="http://">empty host</a>"#,
        );
        assert_eq!(find_links(html).unwrap(), vec![]);
        assert_eq!(rewrite_links(html, to_token).unwrap(), html);
    }

    #[test]
    fn rewriting_keeps_other_attributes_and_markup() {
        let html = concat!(
            "<!DOCTYPE html><html><body><A class='button' HREF=\"https://example.com/a\" ",
            "target=_blank style=\"color:red\">Go</A>\n<a href=\"mailto:x@y.z\">m</a>",
            "<!-- <a href=\"https://example.com/comment\"> --></body></html>"
        );
        let out = rewrite_links(html, to_token).unwrap();
        assert_eq!(
            out,
            html.replace("https://example.com/a", "https://tl.test/l/0")
        );
    }

    #[test]
    fn entities_are_decoded_in_url_and_encoded_again_in_the_output() {
        let html = "<a href=\" https://example.com/p?a=1&amp;b=2&#38;c=&quot;\n3&quot; \">x</a>";
        let links = find_links(html).unwrap();
        assert_eq!(links[0].url, r#"https://example.com/p?a=1&b=2&c="3""#);
        let same = rewrite_links(html, |link| link.url.clone()).unwrap();
        assert_eq!(
            same,
            r#"<a href="https://example.com/p?a=1&amp;b=2&amp;c=&quot;3&quot;">x</a>"#
        );
        let out = rewrite_links(html, |_| "https://t.example/l/a&b\"<>".into()).unwrap();
        assert_eq!(
            out,
            r#"<a href="https://t.example/l/a&amp;b&quot;&lt;&gt;">x</a>"#
        );
    }

    #[test]
    fn link_text_is_decoded_collapsed_and_bounded() {
        let long = "word ".repeat(100);
        let html = format!(
            "<a href='https://a.example'>Fish &amp;\n\t chips&nbsp;</a><a href='https://b.example'>{long}</a>"
        );
        let links = find_links(&html).unwrap();
        assert_eq!(links[0].text, "Fish & chips");
        assert_eq!(links[1].text.chars().count(), TEXT_MAX_CHARS);
    }

    #[test]
    fn merge_tags_are_told_apart_from_percent_encoding() {
        assert!(holds_merge_tag("https://e.com/?n=%FIRSTNAME|friend%"));
        assert!(holds_merge_tag("https://e.com/%DATE%"));
        assert!(!holds_merge_tag("https://e.com/caf%C3%A9t%C3%A9?q=a%20b"));
        assert!(!holds_merge_tag("https://e.com/50%25-off"));
        assert!(!holds_merge_tag("https://e.com/?q=100%"));
    }

    #[test]
    fn broken_html_gives_an_answer() {
        let html = r#"<div><a href="https://example.com/x">unclosed <b>bold <a href='https://e.org'>two<p><a href="https://e.net"#;
        assert_eq!(
            urls(html),
            vec!["https://example.com/x", "https://e.org"],
            "the last tag never ends"
        );
        let out = rewrite_links(html, to_token).unwrap();
        assert_eq!(
            urls(&out),
            vec!["https://tl.test/l/0", "https://tl.test/l/1"]
        );
        for junk in [
            "",
            "<",
            "<a",
            "<a href",
            "<a href=\"",
            "</a></a>",
            "<<<>>>\"'&;",
            "<a href=https://x.y>",
        ] {
            assert!(rewrite_links(junk, to_token).is_ok(), "{junk:?}");
        }
    }

    #[test]
    fn huge_parts_are_refused() {
        let html = "a".repeat(MAX_HTML_BYTES + 1);
        assert_eq!(
            find_links(&html),
            Err(LinkError::TooLarge {
                size: MAX_HTML_BYTES + 1
            })
        );
        assert!(rewrite_links(&html, to_token).is_err());
        assert!(find_links(&"a".repeat(MAX_HTML_BYTES)).is_ok());
    }

    fn html_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("<a href=\"".to_owned()),
            Just("<a href='".to_owned()),
            Just("<a href=".to_owned()),
            Just("<a data-tl-notrack href=\"".to_owned()),
            Just("https://example.com/p?a=1&amp;b=2".to_owned()),
            Just("http://e.org/%FIRSTNAME%".to_owned()),
            Just("mailto:a@b.c".to_owned()),
            Just("#top".to_owned()),
            prop_oneof![
                Just("\""),
                Just("'"),
                Just(">"),
                Just("</a>"),
                Just("<b>"),
                Just("&")
            ]
            .prop_map(str::to_owned),
            prop_oneof![
                Just("<!--"),
                Just("-->"),
                Just("<script>"),
                Just("<p>"),
                Just(" ")
            ]
            .prop_map(str::to_owned),
            ".{0,12}",
        ];
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn never_panics_on_any_input(html in ".{0,300}") {
            let found = find_links(&html).unwrap();
            let out = rewrite_links(&html, to_token).unwrap();
            prop_assert_eq!(find_links(&out).unwrap().len(), found.len());
        }

        #[test]
        fn the_identity_rewrite_keeps_every_destination(html in html_like()) {
            let out = rewrite_links(&html, |link| link.url.clone()).unwrap();
            prop_assert_eq!(urls(&out), urls(&html));
        }

        #[test]
        fn every_tracked_link_is_rewritten_once(html in html_like()) {
            let found = find_links(&html).unwrap();
            let mut calls = 0;
            let out = rewrite_links(&html, |link| { calls += 1; to_token(link) }).unwrap();
            let expected: Vec<String> = found.iter().map(to_token).collect();
            prop_assert_eq!(calls, found.len());
            prop_assert_eq!(urls(&out), expected);
        }
    }
}
