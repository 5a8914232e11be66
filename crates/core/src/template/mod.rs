//! Personalization of messages: merge tags, fallbacks and conditional blocks.
//!
//! - `%FIRSTNAME%`, `%LASTNAME%`, `%EMAIL%`, `%PHONE%`: the contact's attributes.
//! - `%PERSTAG%` or `%PERS_PERSTAG%`: the custom field with that personalization tag.
//! - `%EVENT: name%`: the data of the contact's latest event of that name, when it is plain text
//!   (ActiveCampaign's `eventdata`); `%EVENT: name.property%` (`name.a.b` for nested objects): a
//!   property of the latest event's data when that data is a JSON object (the properties of a
//!   `/v1/track`). Structured data is never printed whole: `%EVENT: name%` of such an event is
//!   empty, so its fallback applies.
//! - `%TAG|fallback%`: any of these, with text to use when the value is empty.
//! - `%IF TAG:vip%...%ELSE%...%ENDIF%` and `%IF FIELD:PERSTAG=value%...%ENDIF%`: conditional
//!   blocks, which may nest; `%ELSE%` is optional.
//!
//! A `%` that starts no tag (`50% off`) is text. An unknown merge tag is left visible as written,
//! so an author sees the mistake in a test send instead of a silent gap. In HTML parts every value
//! is HTML-escaped (also for quoted attributes); text parts get values as they are. Rendering is
//! total: any input renders, nothing panics. A block that is not closed, a stray `%ELSE%` or
//! `%ENDIF%` and a condition of no known form would cut or garble the mail, so [`check`] refuses
//! them, naming the place, before a message is stored.

mod check;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

pub use check::{check, TemplateError};

/// The longest text between two `%` that is read as a tag.
const TAG_MAX: usize = 200;

/// Which part of a message is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The HTML part: values are escaped.
    Html,
    /// The plain-text part: values are used as they are.
    Text,
}

/// What a message knows of its recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipient {
    /// Standard attributes by tag: `FIRSTNAME`, `LASTNAME`, `EMAIL`, `PHONE`.
    pub attributes: HashMap<String, String>,
    /// Custom field values by personalization tag (upper case).
    pub fields: HashMap<String, String>,
    /// The names of the tags the contact carries (compared without case).
    pub tags: HashSet<String>,
    /// The data of the contact's latest event of each name.
    pub events: HashMap<String, String>,
}

impl Recipient {
    fn value(&self, name: &str) -> Option<Option<Cow<'_, str>>> {
        let name = name.trim();
        if let Some(event) = name.strip_prefix("EVENT:") {
            return Some(self.event_value(event.trim()));
        }
        let upper = name.to_ascii_uppercase();
        if ["FIRSTNAME", "LASTNAME", "EMAIL", "PHONE"].contains(&upper.as_str()) {
            return Some(
                self.attributes
                    .get(&upper)
                    .map(|v| Cow::Borrowed(v.as_str())),
            );
        }
        let perstag = upper.strip_prefix("PERS_").unwrap_or(&upper);
        self.fields
            .get(perstag)
            .or_else(|| self.fields.get(&upper))
            .map(|value| Some(Cow::Borrowed(value.as_str())))
    }

    /// What `%EVENT: name%` or `%EVENT: name.property%` renders (see the module's doc): the
    /// whole name is tried first, then each split at a `.` from the left.
    fn event_value(&self, tag: &str) -> Option<Cow<'_, str>> {
        if let Some(data) = self.events.get(tag) {
            return plain(data).map(Cow::Borrowed);
        }
        tag.match_indices('.').find_map(|(dot, _)| {
            let data = self.events.get(&tag[..dot])?;
            property(data, &tag[dot + 1..]).map(Cow::Owned)
        })
    }

    fn has_tag(&self, tag: &str) -> bool {
        let tag = tag.trim();
        self.tags.iter().any(|held| held.eq_ignore_ascii_case(tag))
    }
}

/// Event data that is plain text; `None` for a JSON object, which is never printed whole.
fn plain(data: &str) -> Option<&str> {
    match serde_json::from_str::<serde_json::Value>(data) {
        Ok(serde_json::Value::Object(_)) => None,
        _ => Some(data),
    }
}

/// The text of the property at `path` (`a.b`) of event data that is a JSON object: a string as
/// it is, a number or a boolean written out; `None` for anything else.
fn property(data: &str, path: &str) -> Option<String> {
    let mut value = &serde_json::from_str::<serde_json::Value>(data).ok()?;
    for key in path.split('.') {
        value = value.as_object()?.get(key.trim())?;
    }
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(String),
    Merge {
        raw: String,
        name: String,
        fallback: Option<String>,
    },
    If {
        condition: String,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// Renders `template` for `recipient`.
pub fn render(template: &str, recipient: &Recipient, part: Part) -> String {
    let mut tokens = tokenize(template)
        .into_iter()
        .map(|(_, token)| token)
        .collect::<Vec<_>>()
        .into_iter()
        .peekable();
    let nodes = parse(&mut tokens, 0).0;
    let mut out = String::with_capacity(template.len());
    write(&nodes, recipient, part, &mut out);
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Text(String),
    Tag(String),
}

/// Splits the template into text and `%...%` tags (at most [`TAG_MAX`] characters, one line),
/// each with the byte offset where it starts.
fn tokenize(template: &str) -> Vec<(usize, Token)> {
    let mut tokens = Vec::new();
    let mut text = String::new();
    let mut text_start = 0;
    let mut rest = template;
    while let Some(start) = rest.find('%') {
        text.push_str(&rest[..start]);
        let offset = template.len() - rest.len() + start;
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end)
                if end > 0
                    && end <= TAG_MAX
                    && !after[..end].contains(['\n', '\r'])
                    && looks_like_tag(&after[..end]) =>
            {
                if !text.is_empty() {
                    tokens.push((text_start, Token::Text(std::mem::take(&mut text))));
                }
                tokens.push((offset, Token::Tag(after[..end].to_owned())));
                rest = &after[end + 1..];
                text_start = template.len() - rest.len();
            }
            _ => {
                text.push('%');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        tokens.push((text_start, Token::Text(text)));
    }
    tokens
}

/// A tag starts with a letter: `%FIRSTNAME%`, not the `% o` of `50% off and 20% o`.
fn looks_like_tag(inner: &str) -> bool {
    inner.starts_with(|c: char| c.is_ascii_alphabetic())
}

/// Parses nodes until the end or the `%ELSE%`/`%ENDIF%` that closes the current block; returns
/// them and the closing tag met.
fn parse(
    tokens: &mut std::iter::Peekable<std::vec::IntoIter<Token>>,
    depth: usize,
) -> (Vec<Node>, Option<String>) {
    let mut nodes = Vec::new();
    while let Some(token) = tokens.next() {
        match token {
            Token::Text(text) => nodes.push(Node::Text(text)),
            Token::Tag(tag) => {
                let keyword = tag.trim().to_ascii_uppercase();
                if depth > 0 && (keyword == "ELSE" || keyword == "ENDIF") {
                    return (nodes, Some(keyword));
                }
                if let Some(condition) = tag.trim().strip_prefix("IF ") {
                    let (then, closer) = parse(tokens, depth + 1);
                    let otherwise = if closer.as_deref() == Some("ELSE") {
                        parse(tokens, depth + 1).0
                    } else {
                        Vec::new()
                    };
                    nodes.push(Node::If {
                        condition: condition.to_owned(),
                        then,
                        otherwise,
                    });
                    continue;
                }
                let (name, fallback) = match tag.split_once('|') {
                    Some((name, fallback)) => (name.to_owned(), Some(fallback.to_owned())),
                    None => (tag.clone(), None),
                };
                nodes.push(Node::Merge {
                    raw: format!("%{tag}%"),
                    name,
                    fallback,
                });
            }
        }
    }
    (nodes, None)
}

fn holds(condition: &str, recipient: &Recipient) -> bool {
    let condition = condition.trim();
    if let Some(tag) = condition.strip_prefix("TAG:") {
        return recipient.has_tag(tag);
    }
    if let Some(test) = condition.strip_prefix("FIELD:") {
        let (field, expected) = test.split_once('=').unwrap_or((test, ""));
        let actual = recipient.value(field).flatten().unwrap_or_default();
        return actual.trim().eq_ignore_ascii_case(expected.trim());
    }
    false
}

fn write(nodes: &[Node], recipient: &Recipient, part: Part, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::If {
                condition,
                then,
                otherwise,
            } => {
                let branch = if holds(condition, recipient) {
                    then
                } else {
                    otherwise
                };
                write(branch, recipient, part, out);
            }
            Node::Merge {
                raw,
                name,
                fallback,
            } => match recipient.value(name) {
                None => out.push_str(raw),
                Some(value) => {
                    let value = value
                        .as_deref()
                        .filter(|v| !v.trim().is_empty())
                        .or(fallback.as_deref())
                        .unwrap_or_default();
                    match part {
                        Part::Html => out.push_str(&html_escape::encode_safe(value)),
                        Part::Text => out.push_str(value),
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ada() -> Recipient {
        Recipient {
            attributes: HashMap::from([
                ("FIRSTNAME".to_owned(), "Ada".to_owned()),
                ("EMAIL".to_owned(), "ada@example.com".to_owned()),
            ]),
            fields: HashMap::from([("COLOUR".to_owned(), "blue".to_owned())]),
            tags: HashSet::from(["VIP".to_owned()]),
            events: HashMap::from([("signup".to_owned(), "plan=pro".to_owned())]),
        }
    }

    #[test]
    fn structured_event_data_renders_by_property_never_whole() {
        let mut carol = ada();
        carol.events.insert(
            "file download request".to_owned(),
            r#"{"email":"carol@example.com","file":{"url":"https://x.example/a.pdf"},"n":3}"#
                .to_owned(),
        );
        let out = render(
            "[%EVENT: file download request|none%] %EVENT: file download request.file.url% \
             %EVENT: file download request.n% [%EVENT: file download request.file%]",
            &carol,
            Part::Text,
        );
        assert_eq!(out, "[none] https://x.example/a.pdf 3 []");
        assert_eq!(render("%EVENT: signup.plan%", &ada(), Part::Text), "");
    }

    #[test]
    fn merges_attributes_fields_and_events() {
        let out = render(
            "Hi %FIRSTNAME%, you like %COLOUR% and %PERS_COLOUR%; %EVENT: signup%",
            &ada(),
            Part::Text,
        );
        assert_eq!(out, "Hi Ada, you like blue and blue; plan=pro");
    }

    #[test]
    fn falls_back_and_leaves_unknown_tags_visible() {
        let out = render(
            "Dear %LASTNAME|friend%, %NOSUCH% costs 50% less",
            &ada(),
            Part::Text,
        );
        assert_eq!(out, "Dear friend, %NOSUCH% costs 50% less");
        assert_eq!(
            render("%EVENT: none|no event%", &ada(), Part::Text),
            "no event"
        );
    }

    #[test]
    fn conditional_blocks_nest() {
        let template =
            "%IF TAG:vip%VIP%IF FIELD:COLOUR=Blue% blue%ELSE% other%ENDIF%%ELSE%regular%ENDIF%!";
        assert_eq!(render(template, &ada(), Part::Text), "VIP blue!");
        assert_eq!(
            render(template, &Recipient::default(), Part::Text),
            "regular!"
        );
        assert_eq!(render("%IF TAG:x%never", &ada(), Part::Text), "");
    }

    #[test]
    fn html_parts_escape_values() {
        let mut evil = ada();
        evil.attributes
            .insert("FIRSTNAME".to_owned(), "<script>\"x\"&'".to_owned());
        let out = render(
            "<a title=\"%FIRSTNAME%\">%FIRSTNAME%</a>",
            &evil,
            Part::Html,
        );
        assert!(!out.contains("<script>"));
        assert!(!out.contains("\"x\""));
        assert_eq!(render("%FIRSTNAME%", &evil, Part::Text), "<script>\"x\"&'");
    }

    /// Templates made of text, merge tags and nested, closed `%IF%` blocks.
    fn well_formed() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            "[a-z ]{0,5}",
            Just("%FIRSTNAME%".to_owned()),
            Just("50% off".to_owned()),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let condition = prop_oneof![Just("TAG:vip"), Just("FIELD:COLOUR=blue")];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(|parts| parts.concat()),
                (condition, inner.clone(), prop::option::of(inner)).prop_map(
                    |(condition, then, otherwise)| match otherwise {
                        Some(otherwise) => {
                            format!("%IF {condition}%{then}%ELSE%{otherwise}%ENDIF%")
                        }
                        None => format!("%IF {condition}%{then}%ENDIF%"),
                    }
                ),
            ]
        })
    }

    proptest! {
        #[test]
        fn a_well_formed_template_passes_and_never_loses_what_follows_it(
            template in well_formed(),
        ) {
            prop_assert_eq!(check(&template), Ok(()));
            for recipient in [ada(), Recipient::default()] {
                let out = render(&format!("{template}<end>"), &recipient, Part::Text);
                prop_assert!(out.ends_with("<end>"), "{template:?} rendered {out:?}");
            }
        }

        #[test]
        fn a_template_that_passes_never_loses_what_follows_it(
            template in "([a-z ]{0,5}|%IF TAG:vip%|%IF FIELD:COLOUR=blue%|%ELSE%|%ENDIF%|%FIRSTNAME%){0,12}",
        ) {
            if check(&template).is_ok() {
                let out = render(&format!("{template}<end>"), &ada(), Part::Text);
                prop_assert!(out.ends_with("<end>"), "{template:?} rendered {out:?}");
            }
        }

        #[test]
        fn any_template_renders(template in ".{0,200}") {
            let _ = render(&template, &ada(), Part::Html);
            let _ = render(&template, &Recipient::default(), Part::Text);
        }

        #[test]
        fn values_never_reach_html_unescaped(
            template in "[A-Za-z %|:]{0,60}",
            value in ".{0,40}",
        ) {
            let mut recipient = ada();
            recipient.attributes.insert("FIRSTNAME".to_owned(), value.clone());
            recipient.fields.insert("COLOUR".to_owned(), value);
            let template = format!("{template}%FIRSTNAME%{template}%COLOUR%");
            let out = render(&template, &recipient, Part::Html);
            prop_assert!(!out.contains(['<', '>', '"', '\'']));
        }
    }
}
