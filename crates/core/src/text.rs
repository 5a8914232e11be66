//! Text attributes: trimmed, limited in length, optionally required, and storable.
//!
//! Storable text holds no NUL character: PostgreSQL's `text` cannot store one, so neither engine
//! takes it, and every input that reaches the store is refused (422) rather than stripped. Each
//! check here applies that rule ([`storable`]); the request readers apply it to whole bodies and
//! query strings.

use crate::invalid::Invalid;

/// The longest name-like attribute (names, titles, tags): 255 characters, as in AC's columns.
pub const NAME_MAX: usize = 255;

/// The longest free-text attribute (descriptions, custom field values).
pub const TEXT_MAX: usize = 65_535;

/// What a refusal of a NUL character says after the attribute's name.
pub const NUL_REFUSED: &str = "must not contain a NUL character";

/// Refuses text with a NUL character, which no engine stores.
pub fn storable(attribute: &'static str, value: &str) -> Result<(), Invalid> {
    if value.contains('\0') {
        return Err(Invalid::bad_value(
            attribute,
            format!("{attribute} {NUL_REFUSED}"),
        ));
    }
    Ok(())
}

/// Checks `value` as given (untrimmed): at most `max_chars` characters, and storable.
pub fn within(attribute: &'static str, value: &str, max_chars: usize) -> Result<(), Invalid> {
    if value.chars().count() > max_chars {
        return Err(Invalid::too_long(attribute, max_chars));
    }
    storable(attribute, value)
}

/// Trims `value` and checks it holds at most `max_chars` characters and is storable.
pub fn bounded(attribute: &'static str, value: &str, max_chars: usize) -> Result<String, Invalid> {
    let value = value.trim();
    within(attribute, value, max_chars)?;
    Ok(value.to_owned())
}

/// Like [`bounded`], and refuses an absent or blank value.
pub fn required(
    attribute: &'static str,
    value: Option<&str>,
    max_chars: usize,
) -> Result<String, Invalid> {
    let value = bounded(attribute, value.unwrap_or_default(), max_chars)?;
    if value.is_empty() {
        return Err(Invalid::missing(attribute));
    }
    Ok(value)
}

/// [`bounded`] on an optional value.
pub fn optional(
    attribute: &'static str,
    value: Option<&str>,
    max_chars: usize,
) -> Result<Option<String>, Invalid> {
    value.map(|v| bounded(attribute, v, max_chars)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Code;

    #[test]
    fn trims_and_limits() {
        assert_eq!(bounded("tag", "  vip ", 10), Ok("vip".to_owned()));
        assert_eq!(bounded("tag", "abcd", 3).unwrap_err().code, Code::TooLong);
        assert_eq!(
            required("tag", Some("   "), 3).unwrap_err().code,
            Code::Missing
        );
        assert_eq!(required("tag", None, 3).unwrap_err().code, Code::Missing);
        assert_eq!(optional("tag", None, 3), Ok(None));
    }

    #[test]
    fn refuses_nul_characters() {
        for value in ["a\0b", "\0", "tail\0"] {
            let refused = bounded("firstName", value, 10).unwrap_err();
            assert_eq!(refused.code, Code::Invalid);
            assert_eq!(refused.detail, "firstName must not contain a NUL character");
        }
        assert!(within("eventdata", "a\0", 10).is_err());
        assert!(storable("title", "no nul, \u{1} is fine").is_ok());
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(bounded("tag", "ééé", 3).is_ok());
    }
}
