//! API errors and how they travel: an HTTP status whose reason phrase is the message, and a
//! JSON body in the PVE envelope.
//!
//! * Parameter errors: `400 Parameter verification failed.` with
//!   `{"data": null, "errors": {"<param>": "<message>"}}` (what PVE 7/8 send).
//! * Every other error: `<status> <message>` with `{"data": null, "message": "<message>\n"}`
//!   (PVE 8 adds the `message` member; older clients only look at the status line).
//!
//! The reason phrase carries the first line of the message (PVE's API client prints it, e.g.
//! in "An error occurred on the cluster node: <msg>"), cut to printable ASCII.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// Message of parameter errors (status 400).
pub const PARAM_ERROR_MESSAGE: &str = "Parameter verification failed.";

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Human readable text (without trailing newline).
    pub message: String,
    /// Per-parameter messages (parameter errors only).
    pub errors: Option<BTreeMap<String, String>>,
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let message: String = message.into();
        ApiError {
            status,
            message: message.trim_end_matches('\n').to_string(),
            errors: None,
        }
    }

    /// 400 with one message per offending parameter.
    pub fn params(errors: BTreeMap<String, String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: PARAM_ERROR_MESSAGE.into(),
            errors: Some(errors),
        }
    }

    /// 400 for a single parameter.
    pub fn param(name: &str, message: impl Into<String>) -> Self {
        Self::params(BTreeMap::from([(name.to_string(), message.into())]))
    }

    /// 401, e.g. "No ticket" or "authentication failure".
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403 "Permission check failed (...)".
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 500: a failure of the operation itself (what PVE answers for `die`).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The JSON body of this error (format `json`).
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("data".into(), Value::Null);
        match &self.errors {
            Some(errors) => {
                body.insert("errors".into(), json!(errors));
            }
            None => {
                body.insert(
                    "message".into(),
                    Value::String(format!("{}\n", self.message)),
                );
            }
        }
        Value::Object(body)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<cluster::Error> for ApiError {
    fn from(e: cluster::Error) -> Self {
        ApiError::internal(e.to_string())
    }
}

/// The reason phrase for `message`: its first line, printable ASCII only, at most 200 bytes.
pub fn reason_phrase(message: &str) -> String {
    let first = message.lines().next().unwrap_or("");
    let mut out: String = first
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect();
    out.truncate(200);
    out
}

/// Sets a non-standard reason phrase on a response (HTTP/1 only; hyper writes it verbatim).
pub fn set_reason(resp: &mut Response, message: &str) {
    let phrase = reason_phrase(message);
    if phrase.is_empty() {
        return;
    }
    if let Ok(r) = hyper::ext::ReasonPhrase::try_from(phrase.into_bytes()) {
        resp.extensions_mut().insert(r);
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = crate::response::json_response(self.status, &self.body());
        set_reason(&mut resp, &self.message);
        resp.extensions_mut().insert(self);
        resp
    }
}

/// Marks a response body as JSON in PVE's spelling.
pub(crate) fn json_content_type() -> HeaderValue {
    HeaderValue::from_static("application/json;charset=UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_the_pve_envelope() {
        let e = ApiError::param("username", "property is missing and it is not optional");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            e.body(),
            json!({"data": null, "errors": {"username": "property is missing and it is not optional"}})
        );
        let e = ApiError::unauthorized("authentication failure\n");
        assert_eq!(e.message, "authentication failure");
        assert_eq!(
            e.body(),
            json!({"data": null, "message": "authentication failure\n"})
        );
    }

    #[test]
    fn reason_phrases_are_one_clean_line() {
        assert_eq!(reason_phrase("a\nb"), "a");
        assert_eq!(reason_phrase("node 'ü' x"), "node '?' x");
        assert_eq!(reason_phrase(&"x".repeat(300)).len(), 200);
    }
}
