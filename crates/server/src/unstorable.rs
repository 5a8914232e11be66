//! Request input that no engine stores: text with a NUL character, which PostgreSQL's `text`
//! cannot hold. The request readers (the API's JSON bodies and query strings, the tracking
//! surfaces' JSON and form bodies) look for it here before anything else reads the input, so
//! every endpoint refuses it (422, in its own shape) on both engines, the same as core's text
//! checks ([`tracklane_core::text::storable`]) do attribute by attribute.

use serde_json::Value;

/// Where a JSON body writes a NUL character in a string or a key, as a path
/// (`contact.fieldValues[0].value`; empty for a bare string); `None` when it writes none or is
/// not JSON (then its reader refuses it as unreadable).
pub fn in_json(body: &[u8]) -> Option<String> {
    if !escapes_nul(body) {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    path_to_nul(&value)
}

/// The name of the first name/value pair (a form field, a query parameter) that holds a NUL
/// character in its name or its value.
pub fn in_pairs(pairs: &[(String, String)]) -> Option<String> {
    pairs
        .iter()
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| shown(name))
}

/// Whether a JSON text holds the escape `\u0000`: a raw NUL is no valid JSON, so this is the
/// only way one can write a NUL character. A backslash counts only after an even run of them
/// (`\\u0000` is a backslash, then `u0000`).
fn escapes_nul(json: &[u8]) -> bool {
    json.windows(6).enumerate().any(|(at, window)| {
        window == b"\\u0000"
            && json[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    })
}

fn path_to_nul(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => text.contains('\0').then(String::new),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            path_to_nul(item).map(|rest| format!("[{index}]{}", dotted(&rest)))
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                return Some(shown(key));
            }
            path_to_nul(item).map(|rest| format!("{key}{}", dotted(&rest)))
        }),
        _ => None,
    }
}

/// `rest` as it follows a key in a path.
fn dotted(rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        rest.to_owned()
    } else {
        format!(".{rest}")
    }
}

/// A name with its NUL characters spelled `\0`, fit for a message.
fn shown(name: &str) -> String {
    name.replace('\0', "\\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nul_in_a_json_body() {
        let body =
            br#"{"contact":{"email":"a@b.co","fieldValues":[{"value":"x"},{"value":"a\u0000b"}]}}"#;
        assert_eq!(
            in_json(body).as_deref(),
            Some("contact.fieldValues[1].value")
        );
        assert_eq!(in_json(br#"{"a\u0000":1}"#).as_deref(), Some("a\\0"));
        assert_eq!(in_json(br#""\u0000""#).as_deref(), Some(""));
        assert_eq!(in_json(br#"{"t":"\\\u0000"}"#).as_deref(), Some("t"));
    }

    #[test]
    fn an_escaped_backslash_is_no_nul() {
        assert_eq!(in_json(br#"{"t":"\\u0000"}"#), None);
        assert_eq!(in_json(br#"{"t":"plain"}"#), None);
        assert_eq!(
            in_json(br#"{"t":"\u0000"#),
            None,
            "not JSON: its reader refuses it"
        );
    }

    #[test]
    fn finds_the_nul_in_pairs() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            in_pairs(&pairs(&[("email", "a@b.co"), ("firstName", "a\0b")])).as_deref(),
            Some("firstName")
        );
        assert_eq!(in_pairs(&pairs(&[("x\0", "1")])).as_deref(), Some("x\\0"));
        assert_eq!(in_pairs(&pairs(&[("firstName", "ab")])), None);
    }
}
