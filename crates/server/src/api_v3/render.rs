//! Pieces every resource's JSON shares: links to sub-resources and `meta`.

use serde_json::{json, Map, Value};

/// `{"name": "<base>/api/3/<path>/<name>", ...}` for each name.
pub fn links(base: &str, path: &str, names: &[&str]) -> Value {
    let links: Map<String, Value> = names
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                Value::String(format!("{base}/api/3/{path}/{name}")),
            )
        })
        .collect();
    Value::Object(links)
}

/// `{"total": "<n>"}`: AC writes the total as a string.
pub fn meta(total: impl std::fmt::Display) -> Value {
    json!({ "total": total.to_string() })
}

/// Text of a JSON value given where AC takes text (a field value may come as a number).
pub fn loose_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(if *flag { "1" } else { "0" }.to_owned()),
        Value::Null => Some(String::new()),
        Value::Array(_) | Value::Object(_) => None,
    }
}
