//! Request parameters as PVE clients send them, and their checking against a schema.
//!
//! [`Params`] merges the query string with the body: `application/x-www-form-urlencoded`
//! (the PVE API client, proxmoxer, curl `-d`) or `application/json` (an object whose scalar
//! members become text: `true`/`false` → `1`/`0`). A later occurrence of a name wins (body
//! over query string). Other body types are refused with 415. ExtJS's cache buster `_dc` is
//! dropped.
//!
//! [`Params::check`] applies an endpoint's [`Param`] list the way PVE's schema validation
//! does: every parameter not in the list, every missing required one and every value of the
//! wrong type or format is reported at once as `400 Parameter verification failed.` with one
//! message per parameter (PVE's wording).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// Largest accepted request body.
pub const MAX_BODY: usize = 1 << 20;

/// Type and format of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any text, optionally limited in length (characters).
    Text { max_len: Option<usize> },
    /// An integer within optional bounds.
    Integer { min: Option<i64>, max: Option<i64> },
    /// `1|0|true|false|yes|no|on|off` (any case).
    Boolean,
    /// A node name (`pve-node`: one LDH label).
    NodeName,
    /// A realm id (`pve-realm`).
    Realm,
}

/// One parameter of an endpoint's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub optional: bool,
}

impl Param {
    pub const fn required(name: &'static str, kind: Kind) -> Self {
        Param {
            name,
            kind,
            optional: false,
        }
    }

    pub const fn optional(name: &'static str, kind: Kind) -> Self {
        Param {
            name,
            kind,
            optional: true,
        }
    }
}

/// Any text.
pub const TEXT: Kind = Kind::Text { max_len: None };

/// The merged parameters of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub BTreeMap<String, String>);

fn parse_form(bytes: &[u8], into: &mut BTreeMap<String, String>) -> ApiResult<()> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("cannot decode parameters: {e}"),
        )
    })?;
    into.extend(pairs);
    Ok(())
}

fn parse_json(bytes: &[u8], into: &mut BTreeMap<String, String>) -> ApiResult<()> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let bad = |e: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("cannot decode JSON body: {e}"),
        )
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(bad("expected an object".into()));
    };
    let mut errors = BTreeMap::new();
    for (k, v) in map {
        match v {
            Value::String(s) => {
                into.insert(k, s);
            }
            Value::Number(n) => {
                into.insert(k, n.to_string());
            }
            Value::Bool(b) => {
                into.insert(k, if b { "1" } else { "0" }.into());
            }
            Value::Null => {}
            Value::Array(_) | Value::Object(_) => {
                errors.insert(
                    k,
                    "type check failed - got a list or an object, expected a scalar".into(),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::params(errors))
    }
}

impl Params {
    /// Parses a query string and a body of the given content type.
    pub fn parse(query: Option<&str>, content_type: Option<&str>, body: &[u8]) -> ApiResult<Self> {
        let mut map = BTreeMap::new();
        if let Some(q) = query {
            parse_form(q.as_bytes(), &mut map)?;
        }
        let mime = content_type
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        match mime.as_str() {
            "application/x-www-form-urlencoded" => parse_form(body, &mut map)?,
            "application/json" => parse_json(body, &mut map)?,
            _ if body.is_empty() => {}
            other => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "unsupported content type '{other}': send parameters as \
                         application/x-www-form-urlencoded or application/json"
                    ),
                ))
            }
        }
        // ExtJS's cache buster, ignored by PVE as well
        map.remove("_dc");
        Ok(Params(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// An integer parameter (after [`Params::check`] it is known to parse).
    pub fn integer(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    /// A boolean parameter (after [`Params::check`] it is known to parse).
    pub fn boolean(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(parse_boolean)
    }

    /// Checks the parameters against `schema` (see the module documentation).
    pub fn check(&self, schema: &[Param]) -> ApiResult<()> {
        let mut errors = BTreeMap::new();
        for name in self.0.keys() {
            if !schema.iter().any(|p| p.name == name) {
                errors.insert(
                    name.clone(),
                    "property is not defined in schema and the schema does not allow \
                     additional properties"
                        .to_string(),
                );
            }
        }
        for p in schema {
            match self.get(p.name) {
                None if !p.optional => {
                    errors.insert(
                        p.name.to_string(),
                        "property is missing and it is not optional".into(),
                    );
                }
                None => {}
                Some(v) => {
                    if let Err(msg) = check_value(p.kind, v) {
                        errors.insert(p.name.to_string(), msg);
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::params(errors))
        }
    }
}

/// PVE's boolean spellings.
pub fn parse_boolean(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The `pve-realm` format: a letter, then letters, digits, `.`, `_` or `-` (2–32 chars).
fn is_realm(v: &str) -> bool {
    let b = v.as_bytes();
    (2..=32).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

fn check_value(kind: Kind, v: &str) -> Result<(), String> {
    match kind {
        Kind::Text { max_len } => match max_len {
            Some(n) if v.chars().count() > n => {
                Err(format!("value may only be {n} characters long"))
            }
            _ => Ok(()),
        },
        Kind::Integer { min, max } => {
            let n: i64 = v
                .trim()
                .parse()
                .map_err(|_| format!("type check ('integer') failed - got '{v}'"))?;
            if let Some(m) = min.filter(|m| n < *m) {
                return Err(format!("value must have a minimum value of {m}"));
            }
            if let Some(m) = max.filter(|m| n > *m) {
                return Err(format!("value must have a maximum value of {m}"));
            }
            Ok(())
        }
        Kind::Boolean => parse_boolean(v)
            .map(|_| ())
            .ok_or_else(|| format!("type check ('boolean') failed - got '{v}'")),
        Kind::NodeName => corosync_conf::names::is_valid_node_name(v)
            .then_some(())
            .ok_or_else(|| "invalid format - value does not look like a valid node name".into()),
        Kind::Realm => is_realm(v)
            .then_some(())
            .ok_or_else(|| "invalid format - value does not look like a valid realm".into()),
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().map(str::to_string);
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("cannot read request body: {e}"),
            )
        })?;
        Params::parse(query.as_deref(), content_type.as_deref(), &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &[Param] = &[
        Param::required("username", Kind::Text { max_len: Some(8) }),
        Param::optional(
            "nodeid",
            Kind::Integer {
                min: Some(1),
                max: None,
            },
        ),
        Param::optional("force", Kind::Boolean),
        Param::optional("node", Kind::NodeName),
        Param::optional("realm", Kind::Realm),
    ];

    #[test]
    fn merges_query_form_and_json() {
        let p = Params::parse(
            Some("a=1&b=x%20y"),
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            b"b=2&c=%3A",
        )
        .unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(p.get("c"), Some(":"));
        let p = Params::parse(
            None,
            Some("application/json"),
            br#"{"s":"t","n":5,"t":true,"f":false,"z":null}"#,
        )
        .unwrap();
        assert_eq!(p.get("s"), Some("t"));
        assert_eq!(p.integer("n"), Some(5));
        assert_eq!(p.boolean("t"), Some(true));
        assert_eq!(p.boolean("f"), Some(false));
        assert_eq!(p.get("z"), None);
        let e = Params::parse(None, Some("application/json"), br#"{"l":[1]}"#).unwrap_err();
        assert!(e.errors.unwrap().contains_key("l"));
        let e = Params::parse(None, Some("text/plain"), b"x").unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(Params::parse(None, None, b"").unwrap(), Params::default());
    }

    #[test]
    fn schema_errors_use_pve_wording() {
        let p = Params(BTreeMap::from([
            ("nodeid".to_string(), "0".to_string()),
            ("force".to_string(), "maybe".to_string()),
            ("node".to_string(), "a.b".to_string()),
            ("realm".to_string(), "1x".to_string()),
            ("extra".to_string(), "1".to_string()),
        ]));
        let errors = p.check(SCHEMA).unwrap_err().errors.unwrap();
        assert_eq!(
            errors["username"],
            "property is missing and it is not optional"
        );
        assert_eq!(errors["nodeid"], "value must have a minimum value of 1");
        assert_eq!(
            errors["force"],
            "type check ('boolean') failed - got 'maybe'"
        );
        assert!(errors["node"].contains("valid node name"));
        assert!(errors["realm"].contains("valid realm"));
        assert!(errors["extra"].starts_with("property is not defined in schema"));

        let p = Params(BTreeMap::from([
            ("username".to_string(), "longer-than-8".to_string()),
            ("nodeid".to_string(), "x".to_string()),
        ]));
        let errors = p.check(SCHEMA).unwrap_err().errors.unwrap();
        assert_eq!(errors["username"], "value may only be 8 characters long");
        assert_eq!(errors["nodeid"], "type check ('integer') failed - got 'x'");

        let p = Params(BTreeMap::from([
            ("username".to_string(), "root".to_string()),
            ("force".to_string(), "Yes".to_string()),
            ("realm".to_string(), "pam".to_string()),
        ]));
        p.check(SCHEMA).unwrap();
        assert_eq!(p.boolean("force"), Some(true));
    }
}
