//! Segment's `context`, as a server relaying its visitors' pages and events sends it: the
//! device from `context.userAgent`, and the page from `context.page` (`url`, `referrer`,
//! `title`). Without them, a relaying server would record its own agent and no page.

use axum::http::HeaderMap;
use serde_json::Value;
use tracklane_core::device::Device;

use crate::track::collector::device_of;

/// A message's `context`.
pub struct Context<'a>(Option<&'a Value>);

impl<'a> Context<'a> {
    /// The context of a message (`None` when it has none).
    pub fn of(context: Option<&'a Value>) -> Self {
        Self(context)
    }

    /// `context.userAgent`, when given.
    fn user_agent(&self) -> Option<&'a str> {
        self.0?
            .get("userAgent")?
            .as_str()
            .filter(|ua| !ua.trim().is_empty())
    }

    /// The device of `context.userAgent`, when given.
    pub fn device(&self) -> Option<Device> {
        self.user_agent().map(Device::of_user_agent)
    }

    /// The device of `context.userAgent`, or else of the request's `User-Agent`.
    pub fn device_or_request(&self, headers: &HeaderMap) -> Device {
        self.device().unwrap_or_else(|| device_of(headers))
    }

    /// `context.page.<key>` (`url`, `referrer`, `title`), when given as text.
    pub fn page(&self, key: &str) -> Option<&'a str> {
        self.0?.get("page")?.get(key)?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_context_gives_the_device_and_the_page() {
        let value = json!({"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
            "page": {"url": "https://shop.example/p", "title": 5}});
        let context = Context::of(Some(&value));
        assert_eq!(context.device(), Some(Device::Mobile));
        assert_eq!(context.page("url"), Some("https://shop.example/p"));
        assert_eq!(context.page("title"), None, "not text");
        let none = Context::of(None);
        assert_eq!(none.device(), None);
        assert_eq!(none.page("url"), None);
    }
}
