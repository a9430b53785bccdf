//! `pvecm updatecerts`: make sure the node's files exist (local SSH config, CA, certificate,
//! keys), merge the SSH keys into the cluster files, and create the base directories of the
//! observed configuration files. Waits up to 80 s for a quorate pmxcfs first.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::certs::{search_domain, NodeCertRequest};
use crate::ssh::{files as ssh, SshPaths};
use crate::{cfs, fsutil, setup, Error, Result};

/// The whole run's time budget (the original runs it in a child with this alarm).
pub const TIMEOUT: Duration = Duration::from_secs(80);

/// Base directories (below `/etc/pve`) of the observed files that live in subdirectories.
pub const OBSERVED_BASE_DIRS: [&str; 7] = [
    "priv",
    "priv/acme",
    "ha",
    "sdn",
    "virtual-guest",
    "firewall",
    "mapping",
];

/// The timeout message (fatal, or a warning with `--silent`).
pub const TIMEOUT_MESSAGE: &str = "got timeout when trying to ensure cluster certificates and \
base file hierarchy is set up - no quorum (yet) or hung pmxcfs?";

/// The options of `pvecm updatecerts`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    pub force: bool,
    pub silent: bool,
    pub unmerge_known_hosts: bool,
}

/// Where updatecerts works.
#[derive(Debug, Clone)]
pub struct Env {
    pub ssh: SshPaths,
    pub cron_link: PathBuf,
    pub cron_backup: PathBuf,
    pub resolv_conf: PathBuf,
    pub timeout: Duration,
}

impl Env {
    pub fn system() -> Self {
        Env {
            ssh: SshPaths::system(),
            cron_link: PathBuf::from("/etc/cron.d/vzdump"),
            cron_backup: PathBuf::from("/root/etc_cron_vzdump.org"),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            timeout: TIMEOUT,
        }
    }
}

/// The node's cluster IP: its address in corosync.conf if that is an IP, else resolved.
pub fn node_ip(env: &Env, node: &str) -> Result<IpAddr> {
    let conf = std::fs::read_to_string(env.ssh.pve.corosync_conf()).unwrap_or_default();
    if let Ok(parsed) = corosync_conf::Config::parse(&conf) {
        let root = parsed.root();
        let from_conf = root
            .sections_named("nodelist")
            .flat_map(|nl| nl.sections_named("node"))
            .find(|n| n.get("name") == Some(node))
            .and_then(|n| n.get("ring0_addr").or_else(|| n.get("link0_addr")))
            .and_then(|a| a.parse::<IpAddr>().ok());
        if let Some(ip) = from_conf {
            return Ok(ip);
        }
    }
    crate::node_ip::resolve_node_ip(node)
}

/// Runs updatecerts for `node`. `out` gets progress lines, `warn` warnings.
pub fn updatecerts(
    env: &Env,
    node: &str,
    opts: Options,
    out: &mut dyn FnMut(&str),
    warn: &mut dyn FnMut(&str),
) -> Result<()> {
    let deadline = Instant::now() + env.timeout;
    // generate_local_files
    ssh::setup_root_ssh_config(&env.ssh)?;
    setup::vzdump_cron_symlink(&env.ssh.pve, &env.cron_link, &env.cron_backup)?;

    let quorate = cfs::poll_until(
        deadline,
        || cfs::is_quorate(&env.ssh.pve),
        |n| {
            if n % 50 == 0 && !opts.silent {
                out("waiting for pmxcfs mount to appear and get quorate...");
            }
        },
    );
    if !quorate {
        if opts.silent {
            warn(TIMEOUT_MESSAGE);
            return Ok(());
        }
        return Err(Error::Invalid(TIMEOUT_MESSAGE.into()));
    }

    update_files(env, node, opts, out)?;

    for dir in OBSERVED_BASE_DIRS {
        let path = env.ssh.pve.root().join(dir);
        if !path.is_dir() {
            out(&format!(
                "creating directory '{}' for observed files",
                path.display()
            ));
            fsutil::ensure_dir(&path)?;
        }
    }
    Ok(())
}

/// `updatecerts_and_ssh`: node files, certificate, SSH keys and known hosts.
fn update_files(env: &Env, node: &str, opts: Options, out: &mut dyn FnMut(&str)) -> Result<()> {
    if !cfs::is_quorate(&env.ssh.pve) {
        return if opts.silent {
            Ok(())
        } else {
            Err(Error::Invalid("no quorum - unable to update files".into()))
        };
    }
    let mut say = |line: &str| {
        if !opts.silent {
            out(line)
        }
    };
    ssh::setup_ssh_keys(&env.ssh)?;
    say("(re)generate node files");
    if opts.force {
        say("generate new node certificate");
    }
    let resolv = std::fs::read_to_string(&env.resolv_conf).unwrap_or_default();
    let req = NodeCertRequest {
        node: node.to_string(),
        ip: node_ip(env, node)?,
        domain: search_domain(&resolv),
    };
    setup::gen_pve_node_files(&env.ssh.pve, &req, opts.force)?;
    say("merge authorized SSH keys");
    ssh::ssh_merge_keys(&env.ssh)?;
    if opts.unmerge_known_hosts {
        say("unmerge SSH known hosts");
        ssh::ssh_unmerge_known_hosts(&env.ssh)?;
    }
    ssh::ssh_create_node_known_hosts(&env.ssh, node)?;
    setup::gen_vzdump_cron(&env.ssh.pve)?;
    setup::vzdump_cron_symlink(&env.ssh.pve, &env.cron_link, &env.cron_backup)?;
    Ok(())
}
