//! What every campaign message's body gets besides its author's content: an unsubscribe footer
//! when the message has no `%UNSUBSCRIBELINK%` of its own, and a plain-text part generated from
//! the HTML when the message has none (`html2text`, with each link's URL listed as a footnote,
//! so that the tracked links stay in it).

use crate::invalid::Invalid;
use crate::text::within;

/// The merge tag replaced by the recipient's unsubscribe link.
pub const UNSUBSCRIBE_TAG: &str = "%UNSUBSCRIBELINK%";

/// The footer of an account that did not word its own.
pub const DEFAULT_FOOTER: &str = "<p style=\"font-size:12px;color:#666666;text-align:center\">\
     You receive this email because you subscribed to our list. \
     <a href=\"%UNSUBSCRIBELINK%\">Unsubscribe</a></p>";

/// The longest footer, in characters.
pub const FOOTER_MAX: usize = 4_000;

/// The column a generated text part wraps at.
const TEXT_WIDTH: usize = 78;

/// Checks an account's own footer: HTML of at most [`FOOTER_MAX`] characters holding
/// [`UNSUBSCRIBE_TAG`], where the link goes.
pub fn check_footer(footer: &str) -> Result<String, Invalid> {
    let footer = footer.trim();
    within("unsubscribeFooter", footer, FOOTER_MAX)?;
    if !footer.contains(UNSUBSCRIBE_TAG) {
        return Err(Invalid::bad_value(
            "unsubscribeFooter",
            format!("the footer must hold {UNSUBSCRIBE_TAG}, where the unsubscribe link goes"),
        ));
    }
    Ok(footer.to_owned())
}

/// `html` with `footer` before its `</body>` (or at its end), unless it holds
/// [`UNSUBSCRIBE_TAG`] already.
pub fn html_with_footer(html: &str, footer: &str) -> String {
    if html.contains(UNSUBSCRIBE_TAG) {
        return html.to_owned();
    }
    match html.to_ascii_lowercase().rfind("</body") {
        Some(end) => format!("{}{footer}{}", &html[..end], &html[end..]),
        None => format!("{html}{footer}"),
    }
}

/// `text` with the footer's words after it, unless it holds [`UNSUBSCRIBE_TAG`] already.
pub fn text_with_footer(text: &str, footer: &str) -> String {
    if text.contains(UNSUBSCRIBE_TAG) {
        return text.to_owned();
    }
    format!(
        "{}\n\n-- \n{}",
        text.trim_end(),
        text_from_html(footer).trim_end()
    )
}

/// The plain text of `html`, wrapped at 78 columns, each link's URL listed unwrapped under the
/// text as `[n]: URL`. HTML that cannot be read gives an empty text.
pub fn text_from_html(html: &str) -> String {
    html2text::config::plain()
        .no_link_wrapping()
        .string_from_read(html.as_bytes(), TEXT_WIDTH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Code;

    #[test]
    fn the_footer_goes_before_the_body_end_unless_the_message_has_its_link() {
        let footer = "<p><a href=\"%UNSUBSCRIBELINK%\">Stop</a></p>";
        assert_eq!(
            html_with_footer("<html><BODY><p>Hi</p></BODY></html>", footer),
            format!("<html><BODY><p>Hi</p>{footer}</BODY></html>")
        );
        assert_eq!(
            html_with_footer("<p>Hi</p>", footer),
            format!("<p>Hi</p>{footer}")
        );
        let own = "<p>Hi <a href=\"%UNSUBSCRIBELINK%\">bye</a></p>";
        assert_eq!(html_with_footer(own, footer), own);
        let text = text_with_footer("Hi\n", "<a href=\"%UNSUBSCRIBELINK%\">Stop</a>");
        assert!(text.starts_with("Hi\n\n-- \n"), "{text}");
        assert!(text.contains("%UNSUBSCRIBELINK%"), "{text}");
        assert_eq!(
            text_with_footer("Bye: %UNSUBSCRIBELINK%", footer),
            "Bye: %UNSUBSCRIBELINK%"
        );
    }

    #[test]
    fn a_footer_needs_the_unsubscribe_link() {
        assert_eq!(
            check_footer("  <p>bye</p> ").unwrap_err().code,
            Code::Invalid
        );
        assert_eq!(
            check_footer(&format!("{}%UNSUBSCRIBELINK%", "x".repeat(FOOTER_MAX)))
                .unwrap_err()
                .code,
            Code::TooLong
        );
        assert_eq!(
            check_footer(" a %UNSUBSCRIBELINK% "),
            Ok("a %UNSUBSCRIBELINK%".to_owned())
        );
        assert!(check_footer(DEFAULT_FOOTER).is_ok());
    }

    #[test]
    fn the_text_part_keeps_every_link_whole() {
        let long = format!("https://t.example/l/{}", "a".repeat(120));
        let text = text_from_html(&format!(
            "<h1>News</h1><p>Read <a href=\"{long}\">the story</a> &amp; more.</p>"
        ));
        assert!(text.contains("News"), "{text}");
        assert!(text.contains("the story"), "{text}");
        assert!(text.contains("& more."), "{text}");
        assert!(text.lines().any(|line| line.ends_with(&long)), "{text}");
        assert!(!text.contains('<'), "{text}");
    }
}
