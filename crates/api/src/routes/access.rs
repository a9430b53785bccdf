//! `POST /access/ticket`: log in, get a ticket and a CSRF token.
//!
//! Parameters (form or JSON): `username` (`root@pam`, or `root` plus `realm=pam`), `password`
//! (the PAM password, or a still valid ticket of the same user: the web UI renews its ticket
//! that way), optional `realm`, `otp`, `new-format`, `tfa-challenge`. No ticket is needed.
//!
//! Answer: `{"username", "ticket", "CSRFPreventionToken", "cap"[, "clustername"]}`
//! (`clustername` only on a clustered node). Every failure — unknown realm, user not enabled
//! in `user.cfg`, wrong password, PAM account problem, two-factor challenge (no TFA support) —
//! is logged with its reason and answered `401 authentication failure` after
//! [`crate::state::Settings::login_failure_delay`].
//!
//! Only the `pam` realm is supported for now.

use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::auth::{pam, privs, tickets, users, ClientAddr};
use crate::error::{ApiError, ApiResult};
use crate::params::{Kind, Param, Params, TEXT};
use crate::response::ApiData;
use crate::state::AppState;

/// Parameters of the login.
pub const LOGIN_SCHEMA: &[Param] = &[
    Param::required("username", Kind::Text { max_len: Some(64) }),
    Param::required("password", TEXT),
    Param::optional("realm", Kind::Realm),
    Param::optional("otp", TEXT),
    Param::optional("new-format", Kind::Boolean),
    Param::optional("tfa-challenge", TEXT),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/access/ticket", post(create_ticket))
}

/// The user id a login names: `username`, with `@<realm>` appended when it has none.
pub fn login_userid(username: &str, realm: Option<&str>) -> String {
    match realm {
        Some(r) if !username.contains('@') => format!("{username}@{r}"),
        _ => username.to_string(),
    }
}

/// Checks the credentials; the error is the reason (for the log only).
fn check_credentials(
    state: &AppState,
    userid: &str,
    password: &str,
    rhost: Option<&str>,
    now: i64,
) -> Result<(), String> {
    let (name, realm) =
        users::split_userid(userid).ok_or_else(|| format!("invalid user name '{userid}'"))?;
    users::check_user_enabled(&state.pve, userid, now)?;
    if password.starts_with("PVE:") {
        // renewal with a ticket of the same user
        if let Ok(owner) = tickets::verify_ticket(&state.pve, password, now) {
            if owner == userid {
                return Ok(());
            }
        }
    }
    if realm != "pam" {
        return Err(format!("realm '{realm}' is not supported (only 'pam')"));
    }
    pam::authenticate(&state.pam_service, name, password, rhost)
}

fn cluster_name(state: &AppState) -> Option<String> {
    if let Some(c) = crate::pmxcfs::read_members(&state.pve).and_then(|m| m.cluster) {
        return Some(c.name);
    }
    let bytes = crate::pmxcfs::read_corosync_conf(&state.pve).ok()??;
    let conf = cluster::corosync_json::parse(&bytes).ok()?;
    conf.totem()?
        .get("cluster_name")?
        .as_str()
        .map(str::to_string)
}

fn login_answer(state: &AppState, userid: &str, now: i64) -> ApiResult<Value> {
    let ticket = tickets::issue_ticket(&state.pve, userid, now)?;
    let csrf = tickets::csrf_token(&state.pve, userid, now)?;
    let mut answer = json!({
        "username": userid,
        "ticket": ticket,
        "CSRFPreventionToken": csrf,
        "cap": privs::capabilities(userid),
    });
    if let Some(name) = cluster_name(state) {
        answer["clustername"] = Value::String(name);
    }
    Ok(answer)
}

async fn create_ticket(
    axum::extract::State(state): axum::extract::State<AppState>,
    ClientAddr(client): ClientAddr,
    params: Params,
) -> ApiResult<ApiData<Value>> {
    params.check(LOGIN_SCHEMA)?;
    let userid = login_userid(params.get("username").unwrap_or(""), params.get("realm"));
    let password = params.get("password").unwrap_or("").to_string();
    let tfa = params.get("tfa-challenge").is_some();
    let rhost = client.map(|ip| ip.to_string());
    let st = state.clone();
    let uid = userid.clone();
    let host = rhost.clone();
    let outcome = crate::blocking(move || {
        let now = cluster::unix_now();
        let checked = if tfa {
            Err("two-factor authentication is not supported".to_string())
        } else {
            check_credentials(&st, &uid, &password, host.as_deref(), now)
        };
        Ok(match checked {
            Ok(()) => Ok(login_answer(&st, &uid, now)?),
            Err(reason) => Err(reason),
        })
    })
    .await?;
    match outcome {
        Ok(answer) => {
            tracing::info!(
                "successful auth for user '{userid}' from {}",
                rhost.as_deref().unwrap_or("?")
            );
            Ok(ApiData(answer))
        }
        Err(reason) => {
            tracing::warn!(
                "authentication failure; rhost={} user={userid} msg={reason}",
                rhost.as_deref().unwrap_or("?")
            );
            tokio::time::sleep(state.login_failure_delay).await;
            Err(ApiError::unauthorized("authentication failure"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userid_from_username_and_realm() {
        assert_eq!(login_userid("root@pam", None), "root@pam");
        assert_eq!(login_userid("root", Some("pam")), "root@pam");
        assert_eq!(login_userid("root@pam", Some("pve")), "root@pam");
        assert_eq!(login_userid("root", None), "root");
    }
}
