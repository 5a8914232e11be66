//! Reading a definition's JSON by hand, with the JSON pointer of every value read, so that each
//! refusal points into the document (`/steps/3/wait/days: must be at least 1`).

use serde_json::{Map, Value};

use crate::segment::DefinitionError;

/// A value of the document and where it is.
#[derive(Debug, Clone)]
pub(super) struct At<'a> {
    /// The value.
    pub(super) value: &'a Value,
    pointer: String,
}

/// A refusal at `pointer`.
pub(super) fn refused(pointer: &str, message: impl Into<String>) -> DefinitionError {
    DefinitionError {
        pointer: pointer.to_owned(),
        message: message.into(),
    }
}

/// Escapes a key for a JSON pointer (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl<'a> At<'a> {
    /// The document's root.
    pub(super) fn root(value: &'a Value) -> Self {
        Self {
            value,
            pointer: String::new(),
        }
    }

    /// Its pointer.
    pub(super) fn pointer(&self) -> &str {
        &self.pointer
    }

    /// A refusal of this value.
    pub(super) fn refused(&self, message: impl Into<String>) -> DefinitionError {
        refused(&self.pointer, message)
    }

    /// The object it is.
    pub(super) fn object(&self) -> Result<&'a Map<String, Value>, DefinitionError> {
        self.value
            .as_object()
            .ok_or_else(|| self.refused("must be an object"))
    }

    /// The object it is, refusing keys other than `allowed`.
    pub(super) fn object_of(
        &self,
        allowed: &[&str],
    ) -> Result<&'a Map<String, Value>, DefinitionError> {
        let object = self.object()?;
        match object.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(key) => Err(refused(
                &format!("{}/{}", self.pointer, escape(key)),
                format!(
                    "is not known here (expected one of: {})",
                    allowed.join(", ")
                ),
            )),
            None => Ok(object),
        }
    }

    /// The value under `key` of the object it is, if any.
    pub(super) fn get(&self, key: &str) -> Result<Option<At<'a>>, DefinitionError> {
        Ok(self.object()?.get(key).map(|value| At {
            value,
            pointer: format!("{}/{}", self.pointer, escape(key)),
        }))
    }

    /// The value under `key`, which must be there.
    pub(super) fn field(&self, key: &str) -> Result<At<'a>, DefinitionError> {
        self.get(key)?
            .ok_or_else(|| refused(&format!("{}/{}", self.pointer, escape(key)), "is required"))
    }

    /// The items of the array it is, with their pointers.
    pub(super) fn items(&self) -> Result<Vec<At<'a>>, DefinitionError> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.refused("must be an array"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(index, value)| At {
                value,
                pointer: format!("{}/{index}", self.pointer),
            })
            .collect())
    }

    /// The text it is, of 1 to `max` characters.
    pub(super) fn text(&self, max: usize) -> Result<&'a str, DefinitionError> {
        let text = self
            .value
            .as_str()
            .ok_or_else(|| self.refused("must be a string"))?;
        if text.is_empty() || text.chars().count() > max || text.contains('\0') {
            return Err(self.refused(format!(
                "must be 1 to {max} characters, without NUL characters"
            )));
        }
        Ok(text)
    }

    /// The integer it is (a JSON number, or a string of digits as ActiveCampaign's ids are),
    /// within `min..=max`.
    pub(super) fn integer(&self, min: i64, max: i64) -> Result<i64, DefinitionError> {
        let number = match self.value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.parse().ok(),
            _ => None,
        };
        number
            .filter(|number| (min..=max).contains(number))
            .ok_or_else(|| self.refused(format!("must be an integer from {min} to {max}")))
    }

    /// The id of a stored row it is: a positive integer.
    pub(super) fn id(&self) -> Result<i64, DefinitionError> {
        self.integer(1, i64::MAX)
    }
}
