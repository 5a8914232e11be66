//! Reading requests: JSON bodies (whatever their content type, with clear errors), AC's query
//! conventions (`limit`, `offset`, `filters[x]`, `filters[x][op]`, `orders[x]`, `ids[]`), ids
//! given as numbers or strings. A body or a query string with a NUL character
//! anywhere is refused (422) before any handler reads it ([`crate::unstorable`]).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tracklane_core::invalid::Invalid;
use tracklane_core::page::Page;
use tracklane_store::sql::{Direction, TextFilter, TextOp};

use super::error::ApiError;
use crate::limits::body_timed_out;
use crate::state::AppState;
use crate::unstorable;

/// A JSON body: one JSON value, nothing after it but whitespace. Syntax errors (trailing
/// characters included) are 400, wrong types and NUL characters 422 pointing at the
/// attribute, bodies over the limit 413, bodies that pause past their deadline 408.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if body_timed_out(&rejection) {
                    ApiError::BodyTimeout
                } else if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge(state.settings.max_body_bytes)
                } else {
                    ApiError::Malformed(rejection.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::Malformed(
                "the body must be a JSON object".to_owned(),
            ));
        }
        if let Some(path) = unstorable::in_json(&bytes) {
            return Err(ApiError::unstorable(&path));
        }
        let mut json = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(&mut json) {
            Ok(value) => match json.end() {
                Ok(()) => Ok(Self(value)),
                Err(trailing) => Err(ApiError::Malformed(format!(
                    "the body is not valid JSON: {trailing}"
                ))),
            },
            Err(error) => {
                let attribute = error.path().to_string();
                let inner = error.into_inner();
                if inner.is_data() {
                    Err(ApiError::WrongType {
                        attribute: attribute.rsplit('.').next().unwrap_or_default().to_owned(),
                        detail: format!("{attribute}: {inner}"),
                    })
                } else {
                    Err(ApiError::Malformed(format!(
                        "the body is not valid JSON: {inner}"
                    )))
                }
            }
        }
    }
}

/// An id given as a JSON number or a string of digits, as AC's clients send both.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum LooseId {
    /// `2`
    Number(i64),
    /// `"2"`
    Text(String),
}

impl LooseId {
    /// The id, or a refusal naming `attribute`.
    pub fn id(&self, attribute: &'static str) -> Result<i64, Invalid> {
        match self {
            Self::Number(id) => Ok(*id),
            Self::Text(text) => text
                .trim()
                .parse()
                .map_err(|_| Invalid::bad_value(attribute, format!("'{text}' is not an id"))),
        }
    }
}

/// A required id attribute: present and an id.
pub fn required_id(value: Option<&LooseId>, attribute: &'static str) -> Result<i64, Invalid> {
    value
        .ok_or_else(|| Invalid::missing(attribute))?
        .id(attribute)
}

/// The longest value of a query parameter, in characters: longer ones are refused (422) before
/// any handler sees them, so that no search pattern or filter can be too large for the database.
pub const QUERY_VALUE_MAX_CHARS: usize = 4096;
/// The longest name of a query parameter, in characters.
pub const QUERY_NAME_MAX_CHARS: usize = 255;
/// The most parameters in one query string.
pub const QUERY_PARAMS_MAX: usize = 1000;

/// The query string, read AC's way. A NUL character in a parameter is 422. Every parameter is
/// bounded ([`QUERY_VALUE_MAX_CHARS`], [`QUERY_NAME_MAX_CHARS`],
/// [`QUERY_PARAMS_MAX`]); past a bound the request is refused whole.
#[derive(Debug, Clone, Default)]
pub struct ApiQuery(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for ApiQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        ApiQuery::parse(parts.uri.query().unwrap_or_default())
    }
}

impl ApiQuery {
    /// Reads a raw query string, refusing one past the bounds.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let mut pairs = Vec::new();
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            if pairs.len() == QUERY_PARAMS_MAX {
                return Err(ApiError::QueryTooLarge {
                    parameter: String::new(),
                    detail: format!("a query holds at most {QUERY_PARAMS_MAX} parameters"),
                });
            }
            let too_long = |max: usize, what: &str| ApiError::QueryTooLarge {
                parameter: key.chars().take(QUERY_NAME_MAX_CHARS).collect(),
                detail: format!("{what} must be at most {max} characters"),
            };
            if key.chars().count() > QUERY_NAME_MAX_CHARS {
                return Err(too_long(QUERY_NAME_MAX_CHARS, "a parameter's name"));
            }
            if value.chars().count() > QUERY_VALUE_MAX_CHARS {
                return Err(too_long(QUERY_VALUE_MAX_CHARS, "the value"));
            }
            pairs.push((key.into_owned(), value.into_owned()));
        }
        if let Some(name) = unstorable::in_pairs(&pairs) {
            return Err(ApiError::unstorable(&name));
        }
        Ok(Self(pairs))
    }

    /// The first value of `key`, when not blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key` and `key[]`, with comma-separated values split.
    pub fn all(&self, key: &str) -> Vec<&str> {
        let bracketed = format!("{key}[]");
        self.0
            .iter()
            .filter(|(k, _)| *k == key || *k == bracketed)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// `limit` and `offset`.
    pub fn page(&self) -> Result<Page, ApiError> {
        Ok(Page::parse(self.get("limit"), self.get("offset"))?)
    }

    /// A whole-number parameter.
    pub fn number(&self, key: &'static str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .map(|raw| {
                raw.trim()
                    .parse()
                    .map_err(|_| Invalid::bad_value(key, format!("{key} must be a number")).into())
            })
            .transpose()
    }

    /// `filters[name]=value` (compared with `plain`) or `filters[name][op]=value`.
    pub fn text_filter(&self, name: &str, plain: TextOp) -> Result<Option<TextFilter>, ApiError> {
        let key = format!("filters[{name}]");
        for (k, value) in &self.0 {
            if *k == key {
                return Ok(Some(TextFilter {
                    op: plain,
                    value: value.clone(),
                }));
            }
            if let Some(op) = k
                .strip_prefix(&key)
                .and_then(|rest| rest.strip_prefix('['))
                .and_then(|rest| rest.strip_suffix(']'))
            {
                let op = TextOp::parse(op).ok_or_else(|| {
                    Invalid::bad_value("filters", format!("unknown filter operator '{op}'"))
                })?;
                return Ok(Some(TextFilter {
                    op,
                    value: value.clone(),
                }));
            }
        }
        Ok(None)
    }

    /// `orders[name]=ASC|DESC`.
    pub fn order(&self, name: &str) -> Option<Direction> {
        self.get(&format!("orders[{name}]"))
            .and_then(Direction::parse)
    }

    /// Every `orders[key]=direction`, in the query's order.
    pub fn orders(&self) -> Vec<(&str, Direction)> {
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("orders[")?.strip_suffix(']')?;
                Some((key, Direction::parse(v)?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracklane_core::invalid::Code;

    fn query(raw: &str) -> ApiQuery {
        ApiQuery::parse(raw).unwrap()
    }

    #[test]
    fn parameters_past_the_bounds_are_refused() {
        let long = "a".repeat(QUERY_VALUE_MAX_CHARS + 1);
        assert!(ApiQuery::parse(&format!("search={}", &long[1..])).is_ok());
        let refused = ApiQuery::parse(&format!("limit=5&search={long}")).unwrap_err();
        assert!(
            matches!(&refused, ApiError::QueryTooLarge { parameter, .. } if parameter == "search")
        );
        assert!(ApiQuery::parse(&format!("filters[{long}]=x")).is_err());
        assert!(ApiQuery::parse(&"x=1&".repeat(QUERY_PARAMS_MAX + 1)).is_err());
    }

    #[test]
    fn reads_filters_orders_and_arrays() {
        let q = query(
            "filters%5Bname%5D%5Bstarts_with%5D=We&orders[name]=desc&ids[]=1&ids[]=2,3&limit=5",
        );
        let filter = q.text_filter("name", TextOp::Contains).unwrap().unwrap();
        assert_eq!(filter.op, TextOp::StartsWith);
        assert_eq!(filter.value, "We");
        assert_eq!(q.order("name"), Some(Direction::Desc));
        assert_eq!(q.all("ids"), vec!["1", "2", "3"]);
        assert_eq!(q.page().unwrap().limit, 5);
        assert!(query("filters[name][like]=x")
            .text_filter("name", TextOp::Eq)
            .is_err());
    }

    #[test]
    fn ids_come_as_numbers_or_strings() {
        assert_eq!(LooseId::Number(4).id("contact"), Ok(4));
        assert_eq!(LooseId::Text(" 4 ".into()).id("contact"), Ok(4));
        assert!(LooseId::Text("four".into()).id("contact").is_err());
        assert_eq!(required_id(None, "tag").unwrap_err().code, Code::Missing);
    }
}
