//! Why an input was refused. Each refusal names the attribute that was wrong, so the API can point
//! at it (`/data/attributes/<attribute>`).

/// A refused input: which attribute, a short title, a longer detail and a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{attribute}: {title} {detail}")]
pub struct Invalid {
    /// The attribute in the API's words (`email`, `firstName`, `tag`, ...).
    pub attribute: &'static str,
    /// A short human title.
    pub title: String,
    /// More detail, possibly empty.
    pub detail: String,
    /// A stable machine code: `missing`, `invalid`, `too_long`, `duplicate`, `not_ready`.
    pub code: &'static str,
}

impl Invalid {
    /// A required attribute is absent or empty.
    pub fn missing(attribute: &'static str) -> Self {
        Self {
            attribute,
            title: "Missing attribute".to_owned(),
            detail: format!("{attribute} is required"),
            code: "missing",
        }
    }

    /// An attribute is longer than allowed.
    pub fn too_long(attribute: &'static str, max_chars: usize) -> Self {
        Self {
            attribute,
            title: "Value too long".to_owned(),
            detail: format!("{attribute} must be at most {max_chars} characters"),
            code: "too_long",
        }
    }

    /// An attribute has a value that is not acceptable, for the reason given.
    pub fn bad_value(attribute: &'static str, detail: impl Into<String>) -> Self {
        Self {
            attribute,
            title: "Invalid value".to_owned(),
            detail: detail.into(),
            code: "invalid",
        }
    }

    /// An attribute names something that is not ready yet: the same request may succeed in a
    /// moment.
    pub fn not_ready(attribute: &'static str, detail: impl Into<String>) -> Self {
        Self {
            attribute,
            title: "Not ready".to_owned(),
            detail: detail.into(),
            code: "not_ready",
        }
    }

    /// An attribute repeats a value that must be unique.
    pub fn duplicate(attribute: &'static str, title: impl Into<String>) -> Self {
        Self {
            attribute,
            title: title.into(),
            detail: String::new(),
            code: "duplicate",
        }
    }
}
