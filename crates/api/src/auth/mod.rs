//! Authentication and permissions.
//!
//! A handler that needs a logged-in user takes an [`AuthUser`] argument; extracting it
//! checks, in PVE's order and with PVE's messages:
//!
//! 1. a ticket is present: cookie `PVEAuthCookie=<ticket>` (percent-decoded, as browsers
//!    store it) or header `Authorization: PVEAuthCookie=<ticket>` — else `401 No ticket`;
//! 2. the ticket verifies with the cluster key and is not expired, and its user may still log
//!    in ([`users::check_user_enabled`]) — else `401 permission denied - invalid PVE ticket`;
//! 3. for every method but GET/HEAD: header `CSRFPreventionToken` holds a valid token for
//!    that user — else `401 Permission denied - invalid csrf token`.
//!
//! Then the handler states its permission: [`AuthUser::require_root`] (PVE's methods without
//! a permission block) or [`AuthUser::require_privilege`] (e.g. `Sys.Audit` on `/`), which
//! answer `403 Permission check failed (...)`.
//!
//! An API token (`Authorization: PVEAPIToken=<userid>!<tokenid>=<secret>`, see [`tokens`])
//! replaces steps 1–3: the token must exist, be unexpired and match its secret, and its user
//! must be enabled (else `401 permission denied - invalid API token`); no CSRF token is
//! needed.

pub mod pam;
pub mod privs;
pub mod tickets;
pub mod tokens;
pub mod users;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Name of the ticket cookie.
pub const COOKIE_NAME: &str = "PVEAuthCookie";
/// Header carrying the CSRF prevention token.
pub const CSRF_HEADER: &str = "CSRFPreventionToken";

/// An authenticated user (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub userid: String,
    /// The API token the request came with, if any.
    pub token: Option<tokens::TokenInfo>,
}

impl AuthUser {
    /// Whether the request has its user's rights: a ticket, or a token without privilege
    /// separation (a separated token has only its own ACLs, and there are none yet).
    pub fn has_user_rights(&self) -> bool {
        self.token.as_ref().map_or(true, |t| !t.privsep)
    }

    pub fn is_root(&self) -> bool {
        self.userid == users::ROOT && self.has_user_rights()
    }

    /// Who acts, as PVE names it in task ids and logs: the user id, or `<userid>!<tokenid>`.
    pub fn authid(&self) -> String {
        match &self.token {
            Some(t) => t.full_id.clone(),
            None => self.userid.clone(),
        }
    }

    /// Only `root@pam` may go on.
    pub fn require_root(&self) -> ApiResult<()> {
        if self.is_root() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "Permission check failed (user != root@pam)",
            ))
        }
    }

    /// The user must hold `privilege` on ACL path `path`.
    pub fn require_privilege(&self, path: &str, privilege: &str) -> ApiResult<()> {
        if self.has_user_rights() && privs::has_privilege(&self.userid, path, privilege) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "Permission check failed ({path}, {privilege})"
            )))
        }
    }
}

/// Decodes `%XX` sequences (cookie values set by the web UI are escaped).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `name=value` from a `;`-separated list (cookie header or `Authorization` value).
fn find_pair(list: &str, name: &str) -> Option<String> {
    list.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k.trim() == name).then(|| percent_decode(v.trim()))
    })
}

/// The ticket a request carries: cookie first, then the `Authorization` header.
pub fn ticket_from_headers(headers: &HeaderMap) -> Option<String> {
    let from_cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| find_pair(c, COOKIE_NAME));
    from_cookie.or_else(|| {
        let auth = headers.get(AUTHORIZATION)?.to_str().ok()?;
        find_pair(auth, COOKIE_NAME)
    })
}

/// `(full token id, secret)` when the request authenticates with an API token.
fn api_token(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let auth = headers.get(AUTHORIZATION)?.to_str().ok()?;
    if !auth.trim_start().starts_with("PVEAPIToken") {
        return None;
    }
    Some(tokens::parse_header(auth).ok_or(()))
}

fn authenticate_token(
    state: &AppState,
    token: Result<(String, String), ()>,
    now: i64,
) -> ApiResult<AuthUser> {
    let invalid = || ApiError::unauthorized("permission denied - invalid API token");
    let (full_id, secret) = token.map_err(|()| invalid())?;
    let info = tokens::verify(&state.pve, &full_id, &secret, now).map_err(|why| {
        tracing::info!("API token refused: {why}");
        invalid()
    })?;
    let userid = full_id.split_once('!').map_or("", |(u, _)| u).to_string();
    if let Err(why) = users::check_user_enabled(&state.pve, &userid, now) {
        tracing::info!("API token '{full_id}' refused: {why}");
        return Err(invalid());
    }
    Ok(AuthUser {
        userid,
        token: Some(info),
    })
}

/// Checks the headers of a request (steps 1–3 of the module documentation) at time `now`.
/// Blocking (reads the keys).
pub fn authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    now: i64,
) -> ApiResult<AuthUser> {
    if let Some(token) = api_token(headers) {
        return authenticate_token(state, token, now);
    }
    let Some(ticket) = ticket_from_headers(headers) else {
        return Err(ApiError::unauthorized("No ticket"));
    };
    let invalid = || ApiError::unauthorized("permission denied - invalid PVE ticket");
    let userid = tickets::verify_ticket(&state.pve, &ticket, now).map_err(|e| {
        tracing::debug!("ticket refused: {e}");
        invalid()
    })?;
    if let Err(why) = users::check_user_enabled(&state.pve, &userid, now) {
        tracing::info!("ticket of '{userid}' refused: {why}");
        return Err(invalid());
    }
    if method != Method::GET && method != Method::HEAD {
        let token = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !tickets::verify_csrf(&state.pve, &userid, token, now) {
            return Err(ApiError::unauthorized(
                "Permission denied - invalid csrf token",
            ));
        }
    }
    Ok(AuthUser {
        userid,
        token: None,
    })
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (state, method, headers) = (state.clone(), parts.method.clone(), parts.headers.clone());
        crate::blocking(move || authenticate(&state, &method, &headers, cluster::unix_now())).await
    }
}

/// The client's address, when the server recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tickets_come_from_cookie_or_authorization() {
        let mut h = HeaderMap::new();
        assert_eq!(ticket_from_headers(&h), None);
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("PVEAuthCookie=PVE:b@pam:1::s"),
        );
        assert_eq!(ticket_from_headers(&h).as_deref(), Some("PVE:b@pam:1::s"));
        h.insert(
            COOKIE,
            HeaderValue::from_static(
                "x=1; PVEAuthCookie=PVE%3Aroot%40pam%3A6A18A500%3A%3Aab%2B%3D; y=2",
            ),
        );
        assert_eq!(
            ticket_from_headers(&h).as_deref(),
            Some("PVE:root@pam:6A18A500::ab+=")
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
