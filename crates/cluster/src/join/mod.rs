//! `pvecm add`: the joining node's side of a cluster join (the original's `join`).
//!
//! Order: local lock; the local joinability checks ([`checks`]); the member's certificate
//! fingerprint (compared with the given one, or confirmed by the caller); login to the
//! member's API as root@pam; join API version; name/nodeid clashes from the member's join
//! information; all problems printed together (fatal unless `force`); SSH files; the addnode
//! request; [`finish`] (files, database, services, quorum, certificates).
//!
//! Nothing local changes before the addnode request. A failure after it rolls the local node
//! back; the member's corosync.conf then still lists this node, which the error says.

mod backups;
mod checks;
pub mod client;
mod finish;
#[cfg(test)]
mod finish_tests;

pub use checks::{local_errors, remote_errors, render, LocalState};

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use service_control::{Action, Service};

use crate::join_info::{self, JOIN_API_VERSION};
use crate::links::Links;
use crate::lockfile::LockFile;
use crate::services::Services;
use crate::ssh::{files as ssh, SshPaths};
use crate::{certs, Error, Result};

use client::{ApiClient, CallError};

/// Where the join reads and writes.
#[derive(Debug, Clone)]
pub struct JoinEnv {
    pub ssh: SshPaths,
    pub corosync_dir: PathBuf,
    /// pmxcfs's database.
    pub db: PathBuf,
    pub lock: PathBuf,
    pub quorum_timeout: Duration,
}

impl JoinEnv {
    pub fn system() -> Self {
        JoinEnv {
            ssh: SshPaths::system(),
            corosync_dir: PathBuf::from("/etc/corosync"),
            db: PathBuf::from("/var/lib/pve-cluster/config.db"),
            lock: PathBuf::from(crate::lockfile::PVECM_LOCK),
            quorum_timeout: Duration::from_secs(120),
        }
    }
}

/// The parameters of `pvecm add`.
#[derive(Debug, Clone)]
pub struct JoinParams {
    /// A cluster member (IP or host name).
    pub host: String,
    /// The member's expected certificate fingerprint.
    pub fingerprint: Option<String>,
    pub password: String,
    pub nodeid: Option<u32>,
    pub votes: Option<u32>,
    pub force: bool,
    pub links: Links,
}

/// What the join needs to know about this machine.
pub struct LocalNode<'a> {
    pub name: &'a str,
    pub ip: IpAddr,
    pub addresses: &'a [IpAddr],
    pub resolve: &'a dyn Fn(&str) -> std::result::Result<IpAddr, String>,
}

/// This machine's name, main address and interface addresses, read from the system.
pub struct SystemNode {
    pub name: String,
    pub ip: IpAddr,
    pub addresses: Vec<IpAddr>,
}

impl SystemNode {
    /// Resolves `name` (the short host name) and lists the interface addresses.
    pub fn detect(name: String) -> Result<Self> {
        let ip = crate::node_ip::resolve_node_ip(&name)?;
        let addresses = crate::node_ip::local_addresses()?;
        Ok(SystemNode {
            name,
            ip,
            addresses,
        })
    }

    /// Runs [`join`] for this machine, resolving other names through the system resolver.
    pub fn join(
        &self,
        env: &JoinEnv,
        services: &dyn Services,
        p: &JoinParams,
        confirm: &mut dyn FnMut(&str) -> bool,
        out: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let resolve = |host: &str| crate::node_ip::resolve_node_ip(host).map_err(|e| e.to_string());
        let me = LocalNode {
            name: &self.name,
            ip: self.ip,
            addresses: &self.addresses,
            resolve: &resolve,
        };
        join(env, services, &me, p, confirm, out)
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}

/// Compares the member's fingerprint with the expected one, or asks `confirm` when none was
/// given. Returns the fingerprint to pin.
fn check_fingerprint(
    p: &JoinParams,
    seen: &str,
    confirm: &mut dyn FnMut(&str) -> bool,
) -> Result<String> {
    match &p.fingerprint {
        Some(given) => {
            let given = certs::normalize_fingerprint(given)?;
            if given != seen {
                return Err(invalid(format!(
                    "fingerprint mismatch: host '{}' presents a certificate with SHA-256 \
                     fingerprint {seen}, but {given} was given - check the fingerprint (the \
                     cluster's Join Information) and the host address",
                    p.host
                )));
            }
            Ok(given)
        }
        None if confirm(seen) => Ok(seen.to_string()),
        None => Err(invalid("Aborting: the host's certificate was not accepted")),
    }
}

/// The addnode request parameters.
fn addnode_args(
    p: &JoinParams,
    me: &LocalNode<'_>,
    out: &mut dyn FnMut(&str),
) -> Vec<(String, String)> {
    let mut args = Vec::new();
    if p.force {
        args.push(("force".into(), "1".into()));
    }
    if let Some(id) = p.nodeid {
        args.push(("nodeid".into(), id.to_string()));
    }
    if let Some(v) = p.votes {
        args.push(("votes".into(), v.to_string()));
    }
    for (n, link) in &p.links {
        args.push((format!("link{n}"), link.address.clone()));
    }
    if p.links.is_empty() {
        out(&format!(
            "No cluster network links passed explicitly, fallback to local node IP '{}'",
            me.ip
        ));
        args.push(("new_node_ip".into(), me.ip.to_string()));
    }
    args.push(("apiversion".into(), JOIN_API_VERSION.to_string()));
    args
}

fn remote_failure(e: CallError) -> Error {
    match e {
        CallError::Remote(r) if r.status == 501 => invalid(
            "Remote side is not able to use API for Cluster join!\nPass the 'use_ssh' switch or \
             update the remote side.",
        ),
        CallError::Remote(r) => {
            let mut msg = format!("An error occurred on the cluster node: {}", r.message);
            for (k, v) in &r.errors {
                let mark = if k.starts_with("warning") { '*' } else { '!' };
                msg.push_str(&format!("\n{mark} {k}: {v}"));
            }
            msg.push_str("\nCluster join aborted!");
            invalid(msg)
        }
        CallError::Transport(t) => invalid(format!(
            "An error occurred on the cluster node: {t}\nCluster join aborted!"
        )),
    }
}

/// Runs the join. `confirm` is asked to accept the member's fingerprint when none was given.
pub fn join(
    env: &JoinEnv,
    services: &dyn Services,
    me: &LocalNode<'_>,
    p: &JoinParams,
    confirm: &mut dyn FnMut(&str) -> bool,
    out: &mut dyn FnMut(&str),
) -> Result<()> {
    let _lock = LockFile::acquire(&env.lock, Duration::from_secs(10))?;
    let running = corosync_client::quorum_state().is_ok();
    let state = LocalState {
        pve: &env.ssh.pve,
        corosync_dir: &env.corosync_dir,
        node: me.name,
        corosync_running: running,
        local_addresses: me.addresses,
    };
    let mut errors = local_errors(&state, me.ip, &p.links, me.resolve);

    out(&format!(
        "Establishing API connection with host '{}'",
        p.host
    ));
    let seen = client::peer_fingerprint(&p.host, client::API_PORT)?;
    let pinned = check_fingerprint(p, &seen, confirm)?;
    let mut api = ApiClient::new(&p.host, &pinned)?;
    api.login("root@pam", &p.password).map_err(|e| match e {
        CallError::Remote(r) if r.status == 401 => invalid(format!(
            "login to '{}' as root@pam failed: {} - check the password",
            p.host, r.message
        )),
        e => invalid(format!("login to '{}' failed: {e}", p.host)),
    })?;
    out("Login succeeded.");

    out("check cluster join API version");
    let remote = api
        .get("/cluster/config/apiversion")
        .ok()
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    join_info::check_cluster_version(remote).map_err(|e| invalid(e.to_string()))?;
    match api.get("/cluster/config/join") {
        Ok(info) => errors.extend(remote_errors(&info, me.name, p.nodeid)),
        Err(e) => out(&format!(
            "warning: cannot read the cluster's join information: {e}"
        )),
    }
    if !errors.is_empty() {
        out(&render(&errors));
        if !p.force {
            return Err(invalid("Check if node may join a cluster failed!"));
        }
    }

    if ssh::setup_sshd_config(&env.ssh)? {
        if let Err(e) = services.run(Action::Restart, Service::Sshd) {
            out(&format!("warning: cannot restart sshd: {e}"));
        }
    }
    ssh::setup_root_ssh_config(&env.ssh)?;
    for w in ssh::setup_ssh_keys(&env.ssh)? {
        out(&w);
    }
    ssh::ssh_unmerge_known_hosts(&env.ssh)?;

    let args = addnode_args(p, me, out);
    out("Request addition of this node");
    let answer: Value = api
        .post(&format!("/cluster/config/nodes/{}", me.name), &args)
        .map_err(remote_failure)?;
    let conf = answer
        .get("corosync_conf")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the cluster node's answer has no corosync_conf"))?;
    let key_text = answer
        .get("corosync_authkey")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the cluster node's answer has no corosync_authkey"))?;
    let key = join_info::authkey_from_text(key_text).map_err(|e| invalid(e.to_string()))?;
    for w in answer
        .get("warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out(&format!("cluster: {}", w.as_str().unwrap_or_default()));
    }
    out("Join request OK, finishing setup locally");

    let mut undo = finish::Undo::default();
    match finish::finish_join(env, services, me.name, conf, &key, &mut undo, out) {
        Ok(()) => {
            out(&format!(
                "successfully added node '{}' to cluster.",
                me.name
            ));
            Ok(())
        }
        Err(e) => {
            out(&format!("cluster join failed: {e}"));
            let complete = undo.run(services, out);
            let state = if complete {
                "this node was rolled back to its previous state"
            } else {
                "rollback incomplete - see the messages above"
            };
            Err(invalid(format!(
                "{e} ({state}; the cluster's corosync.conf still lists '{name}': remove it with \
                 'pvecm delnode {name}' on a cluster node before trying again)",
                name = me.name
            )))
        }
    }
}
