//! The requests a test sends to its [`TestApp`]: with the account's API key (or another), to a
//! tracking route, or raw bytes; each answers an [`Answer`].

use serde_json::Value;

use crate::TestApp;

/// A response: its status and its body parsed as JSON (`Value::Null` when it is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The `Retry-After` header.
    pub retry_after: Option<String>,
    /// Every header of the response.
    pub headers: reqwest::header::HeaderMap,
    /// The body, parsed.
    pub body: Value,
    /// The body as text.
    pub text: String,
}

impl TestApp {
    /// Sends a request with the account's API key.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let body = body.map(|b| b.to_string().into_bytes());
        self.send(method, path, Some(&self.api_key), body).await
    }

    /// `GET` with the API key.
    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }

    /// `POST` of a JSON value with the API key.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call("POST", path, Some(body)).await
    }

    /// `POST`s `body`, a resource wrapped in its one key (`{"list": {...}}`), and answers the
    /// created resource's id; fails the test unless it was created (200 or 201).
    pub async fn create(&self, path: &str, body: Value) -> String {
        self.create_as(&self.api_key, path, body).await
    }

    /// [`TestApp::create`] with the API key `api_key` (another account's, say).
    pub async fn create_as(&self, api_key: &str, path: &str, body: Value) -> String {
        let key = body
            .as_object()
            .and_then(|wrapper| wrapper.keys().next())
            .expect("a wrapped resource")
            .clone();
        let bytes = body.to_string().into_bytes();
        let answer = self.send("POST", path, Some(api_key), Some(bytes)).await;
        assert!(
            matches!(answer.status, 200 | 201),
            "creating at {path}: {}",
            answer.text
        );
        answer.body[key.as_str()]["id"]
            .as_str()
            .expect("the created resource's id")
            .to_owned()
    }

    /// `PUT` of a JSON value with the API key.
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call("PUT", path, Some(body)).await
    }

    /// `PUT`s `body` and answers the response's body; fails the test unless it answered 200.
    pub async fn update(&self, path: &str, body: Value) -> Value {
        let answer = self.put(path, body).await;
        assert_eq!(answer.status, 200, "updating {path}: {}", answer.text);
        answer.body
    }

    /// `DELETE` with the API key.
    pub async fn delete(&self, path: &str) -> Answer {
        self.call("DELETE", path, None).await
    }

    /// Sends `body` to a tracking route (no API key) with extra headers.
    pub async fn track(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address))
            .body(body.into());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.send().await.expect("the server answers")).await
    }

    /// Sends raw bytes as the body, with the key given (or none).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(key) = key {
            request = request.header("Api-Token", key);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        answer(request.send().await.expect("the server answers")).await
    }
}

/// The response read whole into an [`Answer`].
async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = response_header(&headers, "content-type").unwrap_or_default();
    let text = response.text().await.expect("a readable body");
    let retry_after = response_header(&headers, "retry-after");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        content_type,
        retry_after,
        headers,
        body,
        text,
    }
}

/// A header's value, when it is text.
fn response_header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
