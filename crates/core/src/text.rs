//! Bounded text attributes: trimmed, limited in length, and optionally required.

use crate::invalid::Invalid;

/// The longest name-like attribute (names, titles, tags): 255 characters, as in AC's columns.
pub const NAME_MAX: usize = 255;

/// The longest free-text attribute (descriptions, custom field values).
pub const TEXT_MAX: usize = 65_535;

/// Trims `value` and checks it holds at most `max_chars` characters.
pub fn bounded(attribute: &'static str, value: &str, max_chars: usize) -> Result<String, Invalid> {
    let value = value.trim();
    if value.chars().count() > max_chars {
        return Err(Invalid::too_long(attribute, max_chars));
    }
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

    #[test]
    fn trims_and_limits() {
        assert_eq!(bounded("tag", "  vip ", 10), Ok("vip".to_owned()));
        assert_eq!(bounded("tag", "abcd", 3).unwrap_err().code, "too_long");
        assert_eq!(required("tag", Some("   "), 3).unwrap_err().code, "missing");
        assert_eq!(required("tag", None, 3).unwrap_err().code, "missing");
        assert_eq!(optional("tag", None, 3), Ok(None));
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(bounded("tag", "ééé", 3).is_ok());
    }
}
