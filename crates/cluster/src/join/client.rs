//! The joining node's client of a member's API (`https://<host>:8006/api2/json`): reading the
//! member's certificate fingerprint, logging in as root@pam, GET and POST with the ticket
//! cookie and the CSRF token. TLS trusts exactly the pinned fingerprint.

use std::collections::BTreeMap;
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use serde_json::Value;

use crate::tls::PinnedFingerprint;
use crate::{certs, Error, Result};

/// The API port of PVE.
pub const API_PORT: u16 = 8006;

fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}

/// `host` as it goes into a URL (IPv6 in brackets).
pub fn url_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => host.to_string(),
    }
}

/// The SHA-256 fingerprint of the certificate `host:port` presents (nothing else is sent).
pub fn peer_fingerprint(host: &str, port: u16) -> Result<String> {
    let fail = |e: String| invalid(format!("unable to connect to '{host}:{port}': {e}"));
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| fail(e.to_string()))?
        .next()
        .ok_or_else(|| fail("no address".into()))?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| fail(e.to_string()))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut builder = SslConnector::builder(SslMethod::tls()).map_err(|e| fail(e.to_string()))?;
    builder.set_verify(SslVerifyMode::NONE);
    let connector = builder.build();
    let mut config = connector.configure().map_err(|e| fail(e.to_string()))?;
    config.set_verify_hostname(false);
    let stream = config.connect(host, tcp).map_err(|e| fail(e.to_string()))?;
    let cert = stream
        .ssl()
        .peer_certificate()
        .ok_or_else(|| fail("the server sent no certificate".into()))?;
    certs::fingerprint(&cert)
}

/// An error answer of the remote API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    pub status: u16,
    pub message: String,
    pub errors: BTreeMap<String, String>,
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)?;
        for (k, v) in &self.errors {
            write!(f, "\n{k}: {v}")?;
        }
        Ok(())
    }
}

/// What a request can fail with.
#[derive(Debug)]
pub enum CallError {
    /// No answer (connection, TLS, timeout).
    Transport(String),
    /// The API answered with an error.
    Remote(RemoteError),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Transport(e) => f.write_str(e),
            CallError::Remote(e) => e.fmt(f),
        }
    }
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Self {
        Error::Invalid(e.to_string())
    }
}

/// A logged-in session with a member's API.
pub struct ApiClient {
    base: String,
    http: reqwest::blocking::Client,
    auth: Option<(String, String)>,
}

impl ApiClient {
    /// A client for `host` that accepts only the certificate with `fingerprint`.
    pub fn new(host: &str, fingerprint: &str) -> Result<Self> {
        let tls = PinnedFingerprint::new(fingerprint)?.client_config();
        let http = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| invalid(format!("cannot create the HTTP client: {e}")))?;
        Ok(ApiClient {
            base: format!("https://{}:{API_PORT}/api2/json", url_host(host)),
            http,
            auth: None,
        })
    }

    /// `POST /access/ticket`; keeps the ticket and CSRF token.
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), CallError> {
        let form = [("username", user), ("password", password)];
        let req = self
            .http
            .post(format!("{}/access/ticket", self.base))
            .form(&form);
        let data = answer(req)?;
        let field = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
        match (field("ticket"), field("CSRFPreventionToken")) {
            (Some(t), Some(c)) => {
                self.auth = Some((t, c));
                Ok(())
            }
            _ => Err(CallError::Transport("login answer without ticket".into())),
        }
    }

    fn with_auth(
        &self,
        req: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match &self.auth {
            Some((ticket, csrf)) => {
                let cookie = format!(
                    "PVEAuthCookie={}",
                    percent_encoding::utf8_percent_encode(
                        ticket,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                req.header("Cookie", cookie)
                    .header("CSRFPreventionToken", csrf)
            }
            None => req,
        }
    }

    /// `GET <path>` → `data`.
    pub fn get(&self, path: &str) -> Result<Value, CallError> {
        answer(self.with_auth(self.http.get(format!("{}{path}", self.base))))
    }

    /// `POST <path>` with form parameters → `data`.
    pub fn post(&self, path: &str, form: &[(String, String)]) -> Result<Value, CallError> {
        answer(self.with_auth(self.http.post(format!("{}{path}", self.base)).form(form)))
    }
}

fn answer(req: reqwest::blocking::RequestBuilder) -> Result<Value, CallError> {
    let resp = req
        .send()
        .map_err(|e| CallError::Transport(error_chain(&e)))?;
    let status = resp.status();
    let body: Value = resp.json().unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body.get("data").cloned().unwrap_or(Value::Null));
    }
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map(|m| m.trim_end().to_string())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let errors = body
        .get("errors")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Err(CallError::Remote(RemoteError {
        status: status.as_u16(),
        message,
        errors,
    }))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_hosts_get_brackets() {
        assert_eq!(url_host("10.0.0.1"), "10.0.0.1");
        assert_eq!(url_host("fd00::1"), "[fd00::1]");
        assert_eq!(url_host("pve1"), "pve1");
    }
}
