//! API tokens of a user (`pveum user token ...` over HTTPS):
//!
//! * `GET /access/users/{userid}/token`: the user's tokens (`tokenid`, `expire`, `privsep`,
//!   `comment`);
//! * `GET /access/users/{userid}/token/{tokenid}`: one token's settings;
//! * `POST /access/users/{userid}/token/{tokenid}` (`comment`, `expire`, `privsep`, default 1):
//!   creates it and answers `{"full-tokenid", "info", "value"}` — the secret is shown only
//!   here;
//! * `DELETE /access/users/{userid}/token/{tokenid}`.
//!
//! Allowed for root and for the user themself (logged in with a ticket: a token cannot
//! manage tokens). Changes are made under the cluster lock of `user.cfg`, as PVE does.

use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::auth::tokens::{self, TokenInfo};
use crate::auth::{users, AuthUser};
use crate::cfs_lock;
use crate::error::{ApiError, ApiResult};
use crate::params::{Kind, Param, Params};
use crate::response::ApiData;
use crate::state::AppState;

const CREATE_SCHEMA: &[Param] = &[
    Param::optional(
        "comment",
        Kind::Text {
            max_len: Some(4096),
        },
    ),
    Param::optional(
        "expire",
        Kind::Integer {
            min: Some(0),
            max: None,
        },
    ),
    Param::optional("privsep", Kind::Boolean),
];

/// What `user.cfg` holds for root when it does not list root yet.
const ROOT_USER_LINE: &str = "user:root@pam:1:0:::root@localhost::";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/access/users/{userid}/token", get(list))
        .route(
            "/access/users/{userid}/token/{tokenid}",
            get(read).post(create).delete(remove),
        )
}

fn may_manage(user: &AuthUser, userid: &str) -> ApiResult<()> {
    if users::split_userid(userid).is_none() {
        return Err(ApiError::param(
            "userid",
            "invalid format - value does not look like a valid user ID",
        ));
    }
    if user.is_root() || (user.token.is_none() && user.userid == userid) {
        return Ok(());
    }
    Err(ApiError::forbidden("Permission check failed"))
}

fn full_id(userid: &str, tokenid: &str) -> ApiResult<String> {
    if !tokens::valid_tokenid(tokenid) {
        return Err(ApiError::param(
            "tokenid",
            "invalid format - value does not look like a valid token ID",
        ));
    }
    Ok(format!("{userid}!{tokenid}"))
}

/// The common start of the per-token calls: parameters, permission, the full token id.
fn token_call(
    user: &AuthUser,
    params: &Params,
    schema: &[Param],
    userid: &str,
    tokenid: &str,
) -> ApiResult<String> {
    params.check(schema)?;
    may_manage(user, userid)?;
    full_id(userid, tokenid)
}

fn find(state: &AppState, full_id: &str) -> Option<TokenInfo> {
    tokens::tokens_in(&tokens::read(&tokens::user_cfg_path(&state.pve)))
        .into_iter()
        .find(|t| t.full_id == full_id)
}

async fn list(
    user: AuthUser,
    State(state): State<AppState>,
    UrlPath(userid): UrlPath<String>,
    params: Params,
) -> ApiResult<ApiData<Vec<Value>>> {
    params.check(&[])?;
    may_manage(&user, &userid)?;
    let prefix = format!("{userid}!");
    let text = tokens::read(&tokens::user_cfg_path(&state.pve));
    let list = tokens::tokens_in(&text)
        .into_iter()
        .filter(|t| t.full_id.starts_with(&prefix))
        .map(|t| {
            let mut v = t.to_json();
            v["tokenid"] = t.tokenid().into();
            v
        })
        .collect();
    Ok(ApiData(list))
}

/// PVE's error for a token the user does not have.
fn no_such_token(userid: &str, tokenid: &str) -> ApiError {
    ApiError::internal(format!("no such token '{tokenid}' for user '{userid}'"))
}

async fn read(
    user: AuthUser,
    State(state): State<AppState>,
    UrlPath((userid, tokenid)): UrlPath<(String, String)>,
    params: Params,
) -> ApiResult<ApiData<Value>> {
    let id = token_call(&user, &params, &[], &userid, &tokenid)?;
    let token = find(&state, &id).ok_or_else(|| no_such_token(&userid, &tokenid))?;
    Ok(ApiData(token.to_json()))
}

async fn create(
    user: AuthUser,
    State(state): State<AppState>,
    UrlPath((userid, tokenid)): UrlPath<(String, String)>,
    params: Params,
) -> ApiResult<ApiData<Value>> {
    let id = token_call(&user, &params, CREATE_SCHEMA, &userid, &tokenid)?;
    let comment = params.get("comment").unwrap_or_default();
    if comment.contains([':', '\n', '\r']) {
        return Err(ApiError::param(
            "comment",
            "must not contain ':' or line breaks",
        ));
    }
    let info = TokenInfo {
        full_id: id.clone(),
        expire: params.integer("expire").unwrap_or(0),
        privsep: params.boolean("privsep").unwrap_or(true),
        comment: comment.to_string(),
    };
    let answer_info = info.to_json();
    let secret = crate::blocking(move || {
        let secret = tokens::new_secret().map_err(ApiError::internal)?;
        let new_token = info;
        let value = secret.clone();
        under_user_cfg_lock(&state, move |pve| {
            let user_cfg = tokens::read(&tokens::user_cfg_path(pve));
            let mut user_cfg = user_cfg_with_user(&user_cfg, &userid)?;
            if tokens::tokens_in(&user_cfg)
                .iter()
                .any(|t| t.full_id == new_token.full_id)
            {
                return Err(ApiError::internal("Token already exists."));
            }
            let token_cfg = tokens::read(&tokens::token_cfg_path(pve));
            write_file(
                &tokens::token_cfg_path(pve),
                &tokens::with_secret(&token_cfg, &new_token.full_id, Some(&value)),
            )?;
            user_cfg = tokens::with_token(&user_cfg, &new_token);
            write_file(&tokens::user_cfg_path(pve), &user_cfg)
        })?;
        Ok(secret)
    })
    .await?;
    Ok(ApiData(
        json!({ "full-tokenid": id, "info": answer_info, "value": secret }),
    ))
}

async fn remove(
    user: AuthUser,
    State(state): State<AppState>,
    UrlPath((userid, tokenid)): UrlPath<(String, String)>,
    params: Params,
) -> ApiResult<ApiData<Value>> {
    let id = token_call(&user, &params, &[], &userid, &tokenid)?;
    crate::blocking(move || {
        under_user_cfg_lock(&state, move |pve| {
            let user_cfg = tokens::read(&tokens::user_cfg_path(pve));
            if !tokens::tokens_in(&user_cfg).iter().any(|t| t.full_id == id) {
                return Err(no_such_token(&userid, &tokenid));
            }
            write_file(
                &tokens::user_cfg_path(pve),
                &tokens::without_token(&user_cfg, &id),
            )?;
            let token_cfg = tokens::read(&tokens::token_cfg_path(pve));
            write_file(
                &tokens::token_cfg_path(pve),
                &tokens::with_secret(&token_cfg, &id, None),
            )
        })
    })
    .await?;
    Ok(ApiData(Value::Null))
}

/// `user.cfg` that lists `userid` (root is added when missing; anyone else must be there).
fn user_cfg_with_user(user_cfg: &str, userid: &str) -> ApiResult<String> {
    let listed = user_cfg.lines().any(|l| {
        l.trim()
            .strip_prefix("user:")
            .and_then(|r| r.split(':').next())
            == Some(userid)
    });
    match (listed, userid == users::ROOT) {
        (true, _) => Ok(user_cfg.to_string()),
        (false, true) => Ok(format!("{ROOT_USER_LINE}\n{user_cfg}")),
        (false, false) => Err(ApiError::internal(format!("no such user ('{userid}')"))),
    }
}

fn under_user_cfg_lock(
    state: &AppState,
    f: impl FnOnce(&cluster::PveDir) -> ApiResult<()>,
) -> ApiResult<()> {
    let pve = state.pve.clone();
    cfs_lock::with_lock(
        &state.pve,
        "file-user_cfg",
        cfs_lock::DEFAULT_TIMEOUT,
        || f(&pve),
    )
    .map_err(|e| ApiError::internal(e.to_string()))?
}

/// Replaces `path` by `text` at once (a temporary file renamed over it).
fn write_file(path: &std::path::Path, text: &str) -> ApiResult<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ApiError::internal(format!("cannot write '{}': {e}", path.display()))
        })
}
