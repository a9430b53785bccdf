//! Cluster management logic shared by the `pvecm` CLI and the API daemon.
//!
//! * [`certs`]: the cluster CA and the node TLS certificates under `/etc/pve` (RSA, as Proxmox
//!   VE makes them), the serial file, SHA-256 fingerprints in the `AA:BB:…` form.
//! * [`authkey`]: the ticket signing key pair and the CSRF secret, PVE login tickets
//!   (`PVE:<user>:<hex time>::<signature>`), CSRF prevention tokens, key rotation rules.
//! * [`ssh`]: root's SSH key, the cluster-wide `authorized_keys` and `known_hosts` files, the
//!   symlinks from `/root/.ssh` and `/etc/ssh`; pure merge functions plus thin file wrappers.
//! * [`links`]: the `--link0`…`--link7` property strings and the node/cluster name rules.
//! * [`status`]: `pvecm status` / `pvecm nodes` rendered exactly like `corosync-quorumtool`
//!   (plus Proxmox's "Cluster information" block) from plain snapshot structs, and as JSON.
//! * [`join_info`]: the web UI's base64 "Join Information" blob, the join API versions and the
//!   encoding of the corosync authkey in the addnode answer.
//!   [`join_info::join_api_answer`] builds the `GET /cluster/config/join` answer.
//! * [`members`], [`corosync_json`]: what pmxcfs publishes (`.members`, node addresses) and
//!   corosync.conf in the JSON shape of PVE's API.
//! * [`setup`]: the per-node directories and files (`gen_pve_node_files`).
//! * [`corosync_authkey`]: the corosync authentication key.
//! * [`create`], [`updatecerts`]: `pvecm create` and `pvecm updatecerts`, with [`cfs`]
//!   (mount/quorum of /etc/pve), [`node_ip`], [`lockfile`] and [`services`] as helpers.
//! * [`status::collect`]: reads a status snapshot from the running corosync.
//! * [`addnode`] (a member adds a joining node to corosync.conf) and [`join`] (`pvecm add` on
//!   the joining node: checks, the member's API via [`join::client`] with the fingerprint
//!   pinned by [`tls`], finish_join with rollback).
//!
//! Every function that touches files takes its base directory ([`PveDir`] for `/etc/pve`,
//! [`ssh::SshPaths`] for the SSH files), so tests run against temporary directories.
//! Secret files are created with mode 0600 and existing keys are never replaced unless the
//! caller asks for it (`force`).
//!
//! Not for: argument parsing (the `pvecm` crate), HTTP (the `api` crate), talking to corosync
//! (`corosync-client`; this crate only formats its data), or taking cluster locks (callers hold
//! them, e.g. the `authkey` lock while creating the ticket key pair).

pub mod addnode;
pub mod authkey;
pub mod certs;
pub mod cfs;
pub mod cfs_lock;
pub mod config_change;
pub mod corosync_authkey;
pub mod corosync_json;
pub mod create;
mod crypto;
pub mod delnode;
mod fsutil;
pub mod join;
pub mod join_info;
pub mod links;
pub mod lockfile;
pub mod members;
pub mod node_ip;
mod paths;
pub mod services;
pub mod setup;
pub mod ssh;
pub mod status;
pub mod tls;
pub mod updatecerts;

pub use paths::PveDir;

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

use std::path::PathBuf;

/// Errors of the file and crypto operations in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{action} '{path}': {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// OpenSSL refused an operation (key generation, signing, parsing).
    #[error("{context}: {source}")]
    Ssl {
        context: String,
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// An external program (`ssh-keygen`) failed.
    #[error("command '{command}' failed: {detail}")]
    Command { command: String, detail: String },
    /// Anything else, with a message that names the problem and what to do.
    #[error("{0}")]
    Invalid(String),
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn ssl(
        context: impl Into<String>,
    ) -> impl FnOnce(openssl::error::ErrorStack) -> Self {
        let context = context.into();
        move |source| Error::Ssl { context, source }
    }
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
