//! Success answers (`{"data": ...}`), the headers every answer carries, and the `extjs`
//! format.
//!
//! Formats: `/api2/json/...` is the REST form (HTTP status = outcome). `/api2/extjs/...`,
//! which the web UI uses for form submits, always answers HTTP 200 with
//! `{"success": 1, "data": ...}` or `{"success": 0, "message": "...", "data": null[, "errors":
//! {...}]}`; it is built from the `json` answer by [`extjs_layer`].

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, EXPIRES, PRAGMA, SERVER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{json_content_type, ApiError};

/// The `Server` header PVE's API daemons send; some clients look at it.
pub const SERVER_NAME: &str = "pve-api-daemon/3.0";

/// A successful answer: `{"data": <T>}` with status 200.
#[derive(Debug, Clone)]
pub struct ApiData<T>(pub T);

impl<T: Serialize> IntoResponse for ApiData<T> {
    fn into_response(self) -> Response {
        match serde_json::to_value(&self.0) {
            Ok(data) => json_response(StatusCode::OK, &json!({ "data": data })),
            Err(e) => ApiError::internal(format!("cannot encode answer: {e}")).into_response(),
        }
    }
}

/// A JSON response with PVE's content type and no-cache headers.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, json_content_type());
    h.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        EXPIRES,
        HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
    );
    resp
}

/// Middleware for all answers: the `Server` header.
pub async fn server_header(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    resp
}

/// Middleware of the `/api2/extjs` tree: re-renders the `json` answer as ExtJS expects it.
pub async fn extjs_layer(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let error = resp.extensions().get::<ApiError>().cloned();
    let (parts, body) = resp.into_parts();
    let body = match error {
        Some(e) => {
            let mut b =
                json!({ "success": 0, "data": null, "message": format!("{}\n", e.message) });
            if let Some(errors) = &e.errors {
                b["errors"] = json!(errors);
            }
            b
        }
        None => {
            let bytes = to_bytes(body, 16 << 20).await.unwrap_or_default();
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let data = value.get("data").cloned().unwrap_or(Value::Null);
            let success = u8::from(parts.status.is_success());
            json!({ "success": success, "data": data })
        }
    };
    let mut parts = parts;
    parts.status = StatusCode::OK;
    parts.extensions.remove::<hyper::ext::ReasonPhrase>();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(CONTENT_TYPE, json_content_type());
    Response::from_parts(parts, Body::from(body.to_string()))
}
