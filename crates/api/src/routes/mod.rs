//! The URL tree.
//!
//! `/api2/json/<path>` (REST answers) and `/api2/extjs/<path>` (the web UI's form answers,
//! see [`crate::response`]) serve the same tree, built by [`api_tree`] from one router per
//! area:
//!
//! | module | paths |
//! |---|---|
//! | [`access`] | `POST /access/ticket` |
//! | [`access_tokens`] | `GET /access/users/{userid}/token`, `GET`/`POST`/`DELETE .../token/{tokenid}` |
//! | [`version`] | `GET /version` |
//! | [`cluster_status`] | `GET /cluster/status` |
//! | [`cluster_config`] | `GET /cluster/config`, `.../apiversion`, `.../nodes`, `.../totem`, `.../join` |
//! | [`tasks`] | `GET /nodes/{node}/tasks`, `.../tasks/{upid}`, `.../status`, `.../log` |
//! | [`cluster_config_write`] | `POST /cluster/config` (create), `POST /cluster/config/join` (join), `POST`/`DELETE /cluster/config/nodes/{node}` (addnode, delnode) |
//!
//! **Adding the write endpoints** (create `POST /cluster/config`, addnode `POST
//! /cluster/config/nodes/{node}`, delnode `DELETE /cluster/config/nodes/{node}`, join `POST
//! /cluster/config/join`): write `routes/cluster_config_write.rs` with a `pub fn router() ->
//! Router<AppState>` holding those routes, declare the module here and merge its router in
//! [`api_tree`] (marked there). Paths may repeat a read path with another method: axum merges
//! the method routers. Each handler takes [`crate::auth::AuthUser`] (which enforces the
//! ticket and, for these methods, the CSRF token) and calls `require_root()` first, checks
//! its parameters with [`crate::params::Params::check`], does its blocking work through
//! [`crate::blocking`], and answers [`crate::response::ApiData`] or an
//! [`crate::error::ApiError`]. List new `/cluster/config` children in
//! [`cluster_config::CHILDREN`].
//!
//! Unknown paths and methods answer `501 Method '<METHOD> <path>' not implemented`.

pub mod access;
pub mod access_tokens;
pub mod cluster_config;
pub mod cluster_config_write;
pub mod cluster_status;
pub mod tasks;
pub mod version;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::error::ApiError;
use crate::response::{extjs_layer, server_header};
use crate::state::AppState;

/// The tree below `/api2/<format>`.
pub fn api_tree() -> Router<AppState> {
    Router::new()
        .merge(access::router())
        .merge(access_tokens::router())
        .merge(version::router())
        .merge(cluster_status::router())
        .merge(cluster_config::router())
        .merge(cluster_config_write::router())
        .merge(tasks::router())
}

async fn not_implemented(req: Request) -> Response {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!(
            "Method '{} {}' not implemented",
            req.method(),
            req.uri().path()
        ),
    )
    .into_response()
}

/// The whole application: [`api_tree`] plus `extra` (more routes below `/api2/<format>`,
/// e.g. for tests) under both formats.
pub fn app_with(state: AppState, extra: Router<AppState>) -> Router {
    let tree = api_tree()
        .merge(extra)
        .fallback(not_implemented)
        .method_not_allowed_fallback(not_implemented);
    Router::new()
        .nest("/api2/json", tree.clone())
        .nest("/api2/extjs", tree.layer(from_fn(extjs_layer)))
        .fallback(not_implemented)
        .layer(from_fn(server_header))
        .with_state(state)
}

/// The application as the daemon serves it.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}
