//! [`HttpRequest`] and [`HttpResponse`]: what a `#[route]` handler receives and answers.

use cosmictron_types::{Identity, RouteRequest, RouteResponse, percent_decode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A request to one of the module's routes.
///
/// ```
/// # use cosmictron_sdk::HttpRequest;
/// let req = HttpRequest::for_test("GET", "/machines/7?status=online&q=a%20b")
///     .with_param("id", "7")
///     .with_header("Authorization", "Bearer csu_x");
/// assert_eq!(req.param("id"), Some("7"));
/// assert_eq!(req.query_param("q").as_deref(), Some("a b"));
/// assert_eq!(req.bearer_token(), Some("csu_x"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRequest {
    inner: RouteRequest,
}

impl HttpRequest {
    pub(crate) fn new(inner: RouteRequest) -> HttpRequest {
        HttpRequest { inner }
    }

    /// A request built by hand, for unit tests of handler logic: `path` may carry a query.
    pub fn for_test(method: &str, path: &str) -> HttpRequest {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        HttpRequest {
            inner: RouteRequest {
                method: method.to_owned(),
                path: path.to_owned(),
                query: query.to_owned(),
                ..RouteRequest::default()
            },
        }
    }

    /// Adds a path parameter (tests).
    pub fn with_param(mut self, name: &str, value: &str) -> HttpRequest {
        self.inner.params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a header (tests); the name is stored in lower case, as the host sends it.
    pub fn with_header(mut self, name: &str, value: &str) -> HttpRequest {
        self.inner
            .headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sets the body (tests).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.inner.body = body.into();
        self
    }

    /// `GET`, `POST`, …
    pub fn method(&self) -> &str {
        &self.inner.method
    }

    /// The path within the module, as sent (percent-encoded).
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// A path parameter of the route's pattern (`:id`), percent-decoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner
            .params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The raw query string, without `?`.
    pub fn query(&self) -> &str {
        &self.inner.query
    }

    /// The first value of a query parameter, decoded (`+` is a space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.inner
            .query
            .split('&')
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let decode = |s: &str| percent_decode(&s.replace('+', " "));
                Some((decode(k)?, decode(v)?))
            })
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A header's first value; `name` is matched without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, names in lower case.
    pub fn headers(&self) -> &[(String, String)] {
        &self.inner.headers
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }

    pub fn body(&self) -> &[u8] {
        &self.inner.body
    }

    /// The body parsed as JSON into `T`; a 400 `invalid_body` error naming the problem
    /// otherwise (an empty body reads as `{}`, so optional fields may all be absent).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let body: &[u8] = if self.inner.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.inner.body
        };
        serde_json::from_slice(body)
            .map_err(|e| Error::new("invalid_body", format!("the request body: {e}")))
    }

    /// The caller's Cosmictron identity, when the request carried a valid Cosmictron token
    /// (then `ctx.sender` is the same identity; otherwise `ctx.sender` is the module).
    pub fn identity(&self) -> Option<Identity> {
        self.inner.identity
    }

    /// The client's address, when the server knows it.
    pub fn remote_addr(&self) -> Option<&str> {
        self.inner.remote_addr.as_deref()
    }
}

/// A handler's answer. A response with a status of 400 or more rolls the handler's writes
/// back unless it says [`HttpResponse::keep_writes`].
///
/// ```
/// # use cosmictron_sdk::HttpResponse;
/// let ok = HttpResponse::json(201, &serde_json::json!({"id": 7})).with_header("Location", "/m/7");
/// assert_eq!(ok.status(), 201);
/// assert_eq!(ok.body(), br#"{"id":7}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    inner: RouteResponse,
    keep_writes: bool,
}

impl HttpResponse {
    /// An empty response.
    pub fn new(status: u16) -> HttpResponse {
        HttpResponse {
            inner: RouteResponse {
                status,
                headers: Vec::new(),
                body: Vec::new(),
            },
            keep_writes: false,
        }
    }

    /// `value` as JSON, with `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> HttpResponse {
        match serde_json::to_vec(value) {
            Ok(body) => HttpResponse::new(status)
                .with_header("content-type", "application/json")
                .with_body(body),
            Err(e) => HttpResponse::json(
                500,
                &serde_json::json!({"code": "invalid_result", "message": e.to_string()}),
            ),
        }
    }

    /// Plain text, with `Content-Type: text/plain; charset=utf-8`.
    pub fn text(status: u16, text: &str) -> HttpResponse {
        HttpResponse::new(status)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(text.as_bytes().to_vec())
    }

    /// Adds a header (a handler may not set the framing headers `content-length`,
    /// `transfer-encoding`, `connection`, `upgrade`).
    pub fn with_header(mut self, name: &str, value: &str) -> HttpResponse {
        self.inner.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn with_body(mut self, body: Vec<u8>) -> HttpResponse {
        self.inner.body = body;
        self
    }

    /// Commits the handler's writes even though the status is 400 or more — for answers that
    /// must record something, such as a wrong one-time code costing an attempt.
    pub fn keep_writes(mut self) -> HttpResponse {
        self.keep_writes = true;
        self
    }

    pub fn status(&self) -> u16 {
        self.inner.status
    }

    pub fn body(&self) -> &[u8] {
        &self.inner.body
    }

    pub fn headers(&self) -> &[(String, String)] {
        &self.inner.headers
    }

    /// Whether the handler's writes commit with this response.
    pub fn commits(&self) -> bool {
        self.inner.status < 400 || self.keep_writes
    }

    pub(crate) fn into_inner(self) -> RouteResponse {
        self.inner
    }
}
