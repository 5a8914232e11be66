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
    /// A stable machine code.
    pub code: Code,
}

/// The kind of a refusal, written in answers as a stable machine code ([`Code::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// A required attribute is absent or empty (`missing`).
    Missing,
    /// An attribute is longer than allowed (`too_long`).
    TooLong,
    /// An attribute's value is not acceptable (`invalid`).
    Invalid,
    /// An attribute names something not ready yet (`not_ready`).
    NotReady,
    /// An attribute repeats a value that must be unique (`duplicate`).
    Duplicate,
}

impl Code {
    /// The code as answers write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::TooLong => "too_long",
            Self::Invalid => "invalid",
            Self::NotReady => "not_ready",
            Self::Duplicate => "duplicate",
        }
    }
}

impl Invalid {
    /// A required attribute is absent or empty.
    pub fn missing(attribute: &'static str) -> Self {
        Self {
            attribute,
            title: "Missing attribute".to_owned(),
            detail: format!("{attribute} is required"),
            code: Code::Missing,
        }
    }

    /// An attribute is longer than allowed.
    pub fn too_long(attribute: &'static str, max_chars: usize) -> Self {
        Self {
            attribute,
            title: "Value too long".to_owned(),
            detail: format!("{attribute} must be at most {max_chars} characters"),
            code: Code::TooLong,
        }
    }

    /// An attribute has a value that is not acceptable, for the reason given.
    pub fn bad_value(attribute: &'static str, detail: impl Into<String>) -> Self {
        Self {
            attribute,
            title: "Invalid value".to_owned(),
            detail: detail.into(),
            code: Code::Invalid,
        }
    }

    /// An attribute names something that is not ready yet: the same request may succeed in a
    /// moment.
    pub fn not_ready(attribute: &'static str, detail: impl Into<String>) -> Self {
        Self {
            attribute,
            title: "Not ready".to_owned(),
            detail: detail.into(),
            code: Code::NotReady,
        }
    }

    /// An attribute repeats a value that must be unique.
    pub fn duplicate(attribute: &'static str, title: impl Into<String>) -> Self {
        Self {
            attribute,
            title: title.into(),
            detail: String::new(),
            code: Code::Duplicate,
        }
    }
}
