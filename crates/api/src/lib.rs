//! `quorate-api`: the PVE-compatible HTTPS API daemon (join/create/status) of Quorate.
//!
//! It answers on port 8006 like Proxmox VE's `pveproxy`/`pvedaemon` pair, for the calls a
//! cluster needs: logging in (`POST /access/ticket`, PAM passwords, tickets signed with the
//! cluster key so every node accepts them, CSRF tokens), `GET /version`,
//! `GET /cluster/status`, and the read side of `/cluster/config` (nodes, totem, join
//! information). Answers use PVE's envelope (`{"data": ...}`) and error format
//! ([`error`]); parameters come as form fields, JSON or query string ([`params`]).
//!
//! Modules:
//! * [`server`]: the TLS listener (rustls, the node certificate from `/etc/pve`);
//! * [`routes`]: the URL tree, one module per area — **how to add the write endpoints is
//!   described there**;
//! * [`auth`]: tickets, CSRF, PAM, users and privileges;
//! * [`params`], [`response`], [`error`]: request parameters, answers and errors;
//! * [`pmxcfs`], [`cfs_lock`]: reading `/etc/pve` (quorum, corosync.conf) and cluster-wide
//!   locks (`.members` and corosync.conf in PVE's shape: `cluster::members`,
//!   `cluster::corosync_json`);
//! * [`tls`]: server TLS configuration and a fingerprint-pinning client verifier;
//! * [`tasks`]: worker tasks (create, join) with their UPIDs and logs;
//! * [`state`]: settings shared by the handlers.
//!
//! Not for: cluster logic (the `cluster` crate: certificates, keys, tickets, corosync.conf
//! edits), the web page, or talking to corosync directly (`corosync-client`).

pub mod auth;
pub mod cfs_lock;
pub mod error;
pub mod params;
pub mod pmxcfs;
pub mod response;
pub mod routes;
pub mod server;
pub mod state;
pub mod tasks;
pub mod tls;

pub use error::{ApiError, ApiResult};
pub use state::{AppState, Settings};

/// Runs blocking work (file reads, PAM, DNS, corosync calls) off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("internal error: {e}")))?
}
