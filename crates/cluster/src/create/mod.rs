//! `pvecm create`: turn a stand-alone node (pmxcfs in local mode) into a one-node cluster.
//!
//! Sequence (as the original's create API): refuse if `/etc/pve/corosync.conf` exists; under
//! the local pvecm lock prepare SSH (sshd root login, root's key, the cluster-wide
//! `authorized_keys`); make the corosync authkey if missing; write `corosync.conf` (atomic
//! `.new` + rename, `config_version` 1); merge SSH keys, create the node's files (CA, node
//! certificate, ticket keys) and the merged known_hosts; restart pmxcfs (which then finds
//! corosync.conf and enters cluster mode) and corosync; then wait for quorum.
//!
//! Anything that fails after the first write is rolled back (see [`rollback`]): the authkey and
//! corosync.conf files this run wrote are removed, services it started are stopped, and pmxcfs
//! is restarted back into local mode.

mod rollback;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use corosync_conf::{ClusterSpec, Config, LinkSpec, NodeSpec};
use service_control::{Action, Service};

use crate::certs::{search_domain, NodeCertRequest};
use crate::links::{check_cluster_name, check_node_name, Links};
use crate::lockfile::LockFile;
use crate::services::Services;
use crate::ssh::{files as ssh, SshPaths};
use crate::{cfs, corosync_authkey, fsutil, setup, Error, Result};

use rollback::Undo;

/// Default `token_coefficient` of the create API.
pub const DEFAULT_TOKEN_COEFFICIENT: u32 = 125;

/// The parameters of `pvecm create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateParams {
    pub cluster_name: String,
    /// `--link0`…`--link7`; empty means "link 0 = the node's IP".
    pub links: Links,
    pub nodeid: u32,
    pub votes: u32,
    pub token_coefficient: Option<u32>,
}

impl CreateParams {
    /// The API defaults: node id 1, one vote, token coefficient 125, no explicit links.
    pub fn new(cluster_name: impl Into<String>) -> Self {
        CreateParams {
            cluster_name: cluster_name.into(),
            links: Links::new(),
            nodeid: 1,
            votes: 1,
            token_coefficient: Some(DEFAULT_TOKEN_COEFFICIENT),
        }
    }

    /// Checks what can be checked without touching the system.
    pub fn validate(&self) -> Result<()> {
        check_cluster_name(&self.cluster_name).map_err(|e| Error::Invalid(e.0))?;
        if self.nodeid == 0 {
            return Err(Error::Invalid("nodeid: value must be at least 1".into()));
        }
        if self.votes == 0 {
            return Err(Error::Invalid("votes: value must be at least 1".into()));
        }
        Ok(())
    }
}

/// The corosync.conf `create` writes for `node` with address `ip` (used for link 0 when no
/// link is given), `config_version` already bumped to 1.
pub fn build_config(node: &str, ip: IpAddr, params: &CreateParams) -> Result<Config> {
    params.validate()?;
    check_node_name(node).map_err(|e| Error::Invalid(e.0))?;
    let mut addrs: Vec<(u8, String, Option<u8>)> = params
        .links
        .iter()
        .map(|(n, l)| (*n, l.address.clone(), l.priority))
        .collect();
    if addrs.is_empty() {
        addrs.push((0, ip.to_string(), None));
    }
    let spec = ClusterSpec {
        cluster_name: params.cluster_name.clone(),
        links: addrs
            .iter()
            .map(|(number, _, priority)| LinkSpec {
                number: *number,
                priority: *priority,
            })
            .collect(),
        token_coefficient: params.token_coefficient,
    };
    let mut conf = Config::create(&spec);
    conf.add_node(&NodeSpec {
        name: node.to_string(),
        nodeid: params.nodeid,
        quorum_votes: params.votes,
        addrs: addrs.into_iter().map(|(n, a, _)| (n, a)).collect(),
    })
    .map_err(|e| Error::Invalid(e.to_string()))?;
    conf.bump_config_version()
        .map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(conf)
}

/// Where `create` reads and writes.
#[derive(Debug, Clone)]
pub struct CreateEnv {
    /// SSH files and `/etc/pve`.
    pub ssh: SshPaths,
    /// `/etc/corosync`.
    pub corosync_dir: PathBuf,
    /// The local pvecm lock file.
    pub lock: PathBuf,
    /// `/etc/resolv.conf` (search domain of the node certificate).
    pub resolv_conf: PathBuf,
    /// How long to wait for quorum after the services are up.
    pub quorum_timeout: Duration,
}

impl CreateEnv {
    /// The real paths.
    pub fn system() -> Self {
        CreateEnv {
            ssh: SshPaths::system(),
            corosync_dir: PathBuf::from("/etc/corosync"),
            lock: PathBuf::from(crate::lockfile::PVECM_LOCK),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            quorum_timeout: Duration::from_secs(60),
        }
    }

    fn pve_conf(&self) -> PathBuf {
        self.ssh.pve.corosync_conf()
    }
}

/// The message when the node already has a cluster configuration.
pub fn already_exists_message(env: &CreateEnv) -> String {
    format!(
        "cluster config '{}' already exists",
        env.pve_conf().display()
    )
}

/// Runs `create` for `node` (IP `ip`); progress lines go to `out`, warnings to `warn`.
pub fn create(
    env: &CreateEnv,
    services: &dyn Services,
    node: &str,
    ip: IpAddr,
    params: &CreateParams,
    out: &mut dyn FnMut(&str),
) -> Result<()> {
    let conf = build_config(node, ip, params)?;
    if env.pve_conf().exists() {
        return Err(Error::Invalid(already_exists_message(env)));
    }
    if !cfs::is_mounted(&env.ssh.pve) {
        return Err(Error::Invalid(
            "pve configuration filesystem (pmxcfs) not mounted".into(),
        ));
    }
    let _lock = LockFile::acquire(&env.lock, Duration::from_secs(10))?;
    // re-check under the lock: another create may have finished meanwhile
    if env.pve_conf().exists() {
        return Err(Error::Invalid(already_exists_message(env)));
    }
    let mut undo = Undo::new(&env.corosync_dir.join("corosync.conf"))?;
    match steps(env, services, node, ip, &conf, &mut undo, out) {
        Ok(()) => Ok(()),
        Err(e) => {
            out(&format!("cluster create failed: {e}"));
            let report = undo.run(env, services);
            for line in &report.lines {
                out(line);
            }
            let summary = if report.complete {
                "rolled back to the previous state".to_string()
            } else {
                "rollback incomplete - see the messages above and clean up by hand".to_string()
            };
            Err(Error::Invalid(format!("{e} ({summary})")))
        }
    }
}

fn steps(
    env: &CreateEnv,
    services: &dyn Services,
    node: &str,
    ip: IpAddr,
    conf: &Config,
    undo: &mut Undo,
    out: &mut dyn FnMut(&str),
) -> Result<()> {
    if ssh::setup_sshd_config(&env.ssh)? {
        if let Err(e) = services.run(Action::Restart, Service::Sshd) {
            out(&format!(
                "warning: cannot restart sshd after enabling root login: {e}"
            ));
        }
    }
    ssh::setup_root_ssh_config(&env.ssh)?;
    for warning in ssh::setup_ssh_keys(&env.ssh)? {
        out(&warning);
    }

    let authkey = env.corosync_dir.join("authkey");
    if !authkey.exists() {
        out("Corosync Cluster Engine Authentication key generator.");
        out("Gathering 2048 bits for key from /dev/urandom.");
        out(&format!("Writing corosync key to {}.", authkey.display()));
        fsutil::ensure_dir(&env.corosync_dir)?;
        corosync_authkey::write_new(&authkey)?;
        undo.created(authkey);
    }

    let text = conf.to_text();
    out(&format!(
        "Writing corosync config to {}",
        env.pve_conf().display()
    ));
    let new = env.ssh.pve.root().join("corosync.conf.new");
    undo.created(env.pve_conf());
    fsutil::write_atomic(&new, text.as_bytes(), 0o640)?;
    std::fs::rename(&new, env.pve_conf()).map_err(|e| {
        let _ = std::fs::remove_file(&new);
        Error::Invalid(format!("activating corosync.conf.new failed - {e}"))
    })?;
    undo.wrote_local_conf();
    fsutil::write_atomic(
        &env.corosync_dir.join("corosync.conf"),
        text.as_bytes(),
        0o644,
    )?;

    ssh::ssh_merge_keys(&env.ssh)?;
    let resolv = std::fs::read_to_string(&env.resolv_conf).unwrap_or_default();
    let req = NodeCertRequest {
        node: node.to_string(),
        ip,
        domain: search_domain(&resolv),
    };
    setup::gen_pve_node_files(&env.ssh.pve, &req, false)?;
    ssh::ssh_merge_known_hosts(&env.ssh, node, &ip.to_string(), true)?;

    out("Restart corosync and cluster filesystem");
    undo.touched(Service::Pmxcfs);
    services.run(Action::Restart, Service::Pmxcfs)?;
    undo.touched(Service::Corosync);
    services.run(Action::Restart, Service::Corosync)?;

    let deadline = Instant::now() + env.quorum_timeout;
    let quorate = cfs::poll_until(
        deadline,
        || services.quorate(),
        |n| {
            if n == 20 {
                out("waiting for quorum...");
            }
        },
    );
    if !quorate {
        return Err(Error::Invalid(format!(
            "the new cluster did not become quorate within {} s - check 'journalctl -u \
             corosync' and the link addresses",
            env.quorum_timeout.as_secs()
        )));
    }
    Ok(())
}
