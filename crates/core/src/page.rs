//! Pagination, as AC does it: `limit` (default 20, at most 100) and a zero-based `offset`.

use crate::invalid::Invalid;

/// The default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// The largest page size; larger requests get this many.
pub const MAX_LIMIT: i64 = 100;

/// One page of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// How many rows at most.
    pub limit: i64,
    /// How many rows to skip.
    pub offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

impl Page {
    /// Parses the raw `limit` and `offset` query values.
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Self, Invalid> {
        let limit = match limit.map(str::trim).filter(|l| !l.is_empty()) {
            None => DEFAULT_LIMIT,
            Some(raw) => parse_count("limit", raw)?.clamp(1, MAX_LIMIT),
        };
        let offset = match offset.map(str::trim).filter(|o| !o.is_empty()) {
            None => 0,
            Some(raw) => parse_count("offset", raw)?,
        };
        Ok(Self { limit, offset })
    }
}

fn parse_count(attribute: &'static str, raw: &str) -> Result<i64, Invalid> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| Invalid::bad_value(attribute, format!("{attribute} must be a whole number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(Page::parse(None, None), Ok(Page::default()));
        assert_eq!(
            Page::parse(Some("500"), Some("40")).unwrap(),
            Page {
                limit: 100,
                offset: 40
            }
        );
        assert_eq!(Page::parse(Some("0"), None).unwrap().limit, 1);
        assert!(Page::parse(Some("ten"), None).is_err());
        assert!(Page::parse(None, Some("-1")).is_err());
    }
}
