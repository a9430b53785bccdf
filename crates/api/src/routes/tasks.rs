//! The task calls PVE clients poll after a call that answered a UPID (cluster create, join):
//!
//! * `GET /nodes/{node}/tasks`: this node's tasks, newest first (`start`, `limit`, `errors`,
//!   `typefilter`, `userfilter`, `source` = `archive` (finished, the default), `active` or
//!   `all`);
//! * `GET /nodes/{node}/tasks/{upid}`: the index (`log`, `status`);
//! * `GET /nodes/{node}/tasks/{upid}/status`: `running` or `stopped` with `exitstatus`;
//! * `GET /nodes/{node}/tasks/{upid}/log`: lines `[{n, t}]` (`start`, `limit`) plus `total`.
//!
//! A user sees their own tasks (and those of their API tokens); root sees all. Tasks of another node are served by that
//! node's API (PVE's daemons would proxy the call there; quorate-api says where to ask).

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::params::{Kind, Param, Params, TEXT};
use crate::response::{json_response, ApiData};
use crate::state::AppState;
use crate::tasks::{TaskState, Upid};

const PAGE: &[Param] = &[
    Param::optional(
        "start",
        Kind::Integer {
            min: Some(0),
            max: None,
        },
    ),
    Param::optional(
        "limit",
        Kind::Integer {
            min: Some(0),
            max: None,
        },
    ),
];

const LIST_EXTRA: &[Param] = &[
    Param::optional("errors", Kind::Boolean),
    Param::optional("typefilter", TEXT),
    Param::optional("userfilter", TEXT),
    Param::optional("source", TEXT),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/nodes/{node}/tasks", get(list))
        .route("/nodes/{node}/tasks/{upid}", get(index))
        .route("/nodes/{node}/tasks/{upid}/status", get(status))
        .route("/nodes/{node}/tasks/{upid}/log", get(log))
}

fn check_local(state: &AppState, node: &str) -> ApiResult<()> {
    if node == state.nodename {
        return Ok(());
    }
    Err(ApiError::internal(format!(
        "the tasks of node '{node}' are served by that node: ask https://{node}:8006/api2/json/nodes/{node}/tasks"
    )))
}

/// The task `upid` of `node`, if `user` may see it.
fn visible_task(state: &AppState, user: &AuthUser, node: &str, upid: &str) -> ApiResult<Upid> {
    check_local(state, node)?;
    let task = Upid::parse(upid)
        .filter(|u| u.node == node)
        .ok_or_else(|| ApiError::param("upid", "unable to parse worker upid"))?;
    if !may_see(user, &task) {
        return Err(ApiError::forbidden("Permission check failed"));
    }
    if state.tasks.state(&task).is_none() {
        return Err(ApiError::internal(format!("no such task '{upid}'")));
    }
    Ok(task)
}

/// Root sees every task; others their own, and a user logged in with a ticket also those of
/// their tokens.
fn may_see(user: &AuthUser, task: &Upid) -> bool {
    let task_user = task.user.split('!').next().unwrap_or_default();
    user.is_root()
        || task.user == user.authid()
        || (user.token.is_none() && task_user == user.userid)
}

fn page(params: &Params, default_limit: usize) -> (usize, usize) {
    let get = |name: &str, default: usize| {
        params
            .integer(name)
            .and_then(|v| usize::try_from(v).ok())
            .unwrap_or(default)
    };
    (get("start", 0), get("limit", default_limit))
}

/// The fields of a task id as PVE lists them.
fn upid_fields(upid: &Upid) -> Map<String, Value> {
    let value = json!({
        "upid": upid.to_string(),
        "node": upid.node,
        "pid": upid.pid,
        "pstart": upid.pstart,
        "starttime": upid.starttime,
        "type": upid.kind,
        "id": upid.id,
        "user": upid.user,
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!("a json object literal"),
    }
}

async fn index(
    user: AuthUser,
    State(state): State<AppState>,
    UrlPath((node, upid)): UrlPath<(String, String)>,
    params: Params,
) -> ApiResult<ApiData<Value>> {
    params.check(&[])?;
    visible_task(&state, &user, &node, &upid)?;
    Ok(ApiData(json!([{ "name": "log" }, { "name": "status" }])))
}

async fn status(
    user: AuthUser,
    State(state): State<AppState>,
    UrlPath((node, upid)): UrlPath<(String, String)>,
    params: Params,
) -> ApiResult<ApiData<Value>> {
    params.check(&[])?;
    let task = visible_task(&state, &user, &node, &upid)?;
    let mut fields = upid_fields(&task);
    match state.tasks.state(&task) {
        Some(TaskState::Running) => {
            fields.insert("status".into(), "running".into());
        }
        Some(TaskState::Stopped { exit_status, .. }) => {
            fields.insert("status".into(), "stopped".into());
            fields.insert("exitstatus".into(), exit_status.into());
        }
        None => return Err(ApiError::internal(format!("no such task '{upid}'"))),
    }
    Ok(ApiData(Value::Object(fields)))
}

async fn log(
    user: AuthUser,
    State(state): State<AppState>,
    UrlPath((node, upid)): UrlPath<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    params.check(PAGE)?;
    let task = visible_task(&state, &user, &node, &upid)?;
    let (start, limit) = page(&params, 50);
    let (lines, total) = state
        .tasks
        .log(&task, start, limit)
        .map_err(|e| ApiError::internal(format!("cannot read the task log: {e}")))?;
    let data: Vec<Value> = lines
        .into_iter()
        .map(|(n, t)| json!({ "n": n, "t": t }))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "data": data, "total": total }),
    ))
}

async fn list(
    user: AuthUser,
    State(state): State<AppState>,
    UrlPath(node): UrlPath<String>,
    params: Params,
) -> ApiResult<Response> {
    let schema: Vec<Param> = PAGE.iter().chain(LIST_EXTRA).copied().collect();
    params.check(&schema)?;
    check_local(&state, &node)?;
    let source = params.get("source").unwrap_or("archive");
    if !matches!(source, "archive" | "active" | "all") {
        return Err(ApiError::param(
            "source",
            "value 'archive', 'active' or 'all' required",
        ));
    }
    let only_errors = params.boolean("errors").unwrap_or(false);
    let (start, limit) = page(&params, 50);
    let mut rows = Vec::new();
    for task in state.tasks.list(&node) {
        let visible = may_see(&user, &task);
        let type_ok = params.get("typefilter").map_or(true, |t| task.kind == t);
        let user_ok = params
            .get("userfilter")
            .map_or(true, |u| task.user.contains(u));
        if !(visible && type_ok && user_ok) {
            continue;
        }
        let mut fields = upid_fields(&task);
        match state.tasks.state(&task) {
            Some(TaskState::Running) if source != "archive" && !only_errors => {}
            Some(TaskState::Stopped {
                exit_status,
                end_time,
            }) if source != "active" && (!only_errors || exit_status != "OK") => {
                fields.insert("status".into(), exit_status.into());
                fields.insert("endtime".into(), end_time.into());
            }
            _ => continue,
        }
        rows.push(Value::Object(fields));
    }
    let total = rows.len();
    let data: Vec<Value> = rows.into_iter().skip(start).take(limit).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "data": data, "total": total }),
    ))
}
