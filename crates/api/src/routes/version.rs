//! `GET /version` (any logged-in user).
//!
//! Values: `version` and `release` name the Proxmox VE release whose API Quorate follows
//! ([`PVE_VERSION`], [`PVE_RELEASE`]: clients compare them to decide which calls exist);
//! `repoid` names this implementation: `quorate-<crate version>`.

use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::params::Params;
use crate::response::ApiData;
use crate::state::AppState;

/// The Proxmox VE version whose API this daemon follows.
pub const PVE_VERSION: &str = "8.4.0";
/// Its major.minor release.
pub const PVE_RELEASE: &str = "8.4";

pub fn router() -> Router<AppState> {
    Router::new().route("/version", get(version))
}

/// The `repoid` value.
pub fn repoid() -> String {
    format!("quorate-{}", env!("CARGO_PKG_VERSION"))
}

async fn version(_user: AuthUser, params: Params) -> ApiResult<ApiData<Value>> {
    params.check(&[])?;
    Ok(ApiData(json!({
        "version": PVE_VERSION,
        "release": PVE_RELEASE,
        "repoid": repoid(),
    })))
}
