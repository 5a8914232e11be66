//! `GET /t.js`: the site tracking snippet (`assets/t.js`, served as it is), and the HTML a site
//! pastes to load it.

use axum::http::header;
use axum::response::IntoResponse;

/// The snippet's source.
pub const SCRIPT: &str = include_str!("../../../../assets/t.js");

/// `GET /t.js`.
pub async fn script() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
}

/// The HTML to paste into a site, for `account`, loading the snippet from `public_url`.
pub fn embed_code(public_url: &str, account: i64) -> String {
    format!(
        "<script type=\"text/javascript\">\n\
         (function(e,t,o,n,p,r,i){{e.visitorGlobalObjectAlias=n;e[e.visitorGlobalObjectAlias]=e[e.visitorGlobalObjectAlias]||function(){{(e[e.visitorGlobalObjectAlias].q=e[e.visitorGlobalObjectAlias].q||[]).push(arguments)}};e[e.visitorGlobalObjectAlias].l=(new Date).getTime();r=t.createElement(\"script\");r.src=o;r.async=true;i=t.getElementsByTagName(\"script\")[0];i.parentNode.insertBefore(r,i)}})(window,document,\"{public_url}/t.js\",\"vgo\");\n\
         vgo('setAccount', '{account}');\n\
         vgo('setTrackByDefault', true);\n\
         vgo('process');\n\
         </script>"
    )
}
