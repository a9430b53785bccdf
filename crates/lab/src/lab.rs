//! Whole-lab operations: up, down, listing, cuts and heals.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use service_control::Service;

use crate::layout::{lab_root, Lab, STATE_ROOT};
use crate::{corosync, firewall, hosts, net, nodefs, preflight, supervisor, sys};

/// What `up` should create.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub nodes: u8,
    pub links: u8,
    pub qnetd: bool,
    pub corosync: bool,
    /// Also start pmxcfs on every node (needs `corosync`).
    pub pmxcfs: bool,
    /// Run our daemons (pmxcfs, API) on every node with this root password.
    pub daemons: Option<String>,
    /// Then form a cluster of this name with pvecm (needs `daemons`).
    pub cluster: Option<String>,
    /// Corosync without realtime scheduling.
    pub corosync_normal_priority: bool,
}

/// The programs `up` relies on: `quorate-lab` itself (put into each node's marker) and the probe.
pub struct Tools {
    pub ctl: PathBuf,
    pub probe: PathBuf,
}

const CREATED_MOUNT_POINTS: &str = "created-mount-points";

/// Reads the saved shape of lab `name`.
pub fn load(name: &str) -> Result<Lab> {
    let path = lab_root(name).join("lab.json");
    let bytes = fs::read(&path).map_err(|_| {
        anyhow::anyhow!("lab '{name}' does not exist: create it with `quorate-lab up --nodes N` (QUORATE_LAB={name})")
    })?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is corrupt", path.display()))
}

/// Creates lab `name`; on any failure removes everything it made.
pub fn up(name: &str, opts: &UpOptions, tools: &Tools) -> Result<Lab> {
    if opts.pmxcfs && !opts.corosync {
        bail!("--pmxcfs replicates over corosync: add --corosync");
    }
    if opts.cluster.is_some() && opts.corosync {
        bail!("--cluster sets up corosync with pvecm: leave out --corosync");
    }
    if opts.daemons.is_some() && opts.pmxcfs {
        bail!("--daemons starts pmxcfs itself: use either --daemons or --pmxcfs");
    }
    if opts.nodes == 0 || opts.nodes > crate::layout::MAX_NODES {
        bail!("--nodes must be between 1 and {}", crate::layout::MAX_NODES);
    }
    preflight::require_tools(preflight::BASE_TOOLS.iter())?;
    if opts.corosync {
        preflight::require_tools(preflight::COROSYNC_TOOLS.iter())?;
    }
    if opts.qnetd {
        preflight::require_tools(preflight::QNETD_TOOLS.iter())?;
    }
    let root = lab_root(name);
    if root.exists() || !net::lab_namespaces(Some(name)).is_empty() {
        bail!("lab '{name}' already exists: remove it first with `quorate-lab down` (QUORATE_LAB={name})");
    }
    let lab = Lab {
        name: name.to_string(),
        nodes: opts.nodes,
        links: opts.links,
        qnetd: opts.qnetd,
        root_password: opts.daemons.clone(),
        corosync_normal_priority: opts.corosync_normal_priority,
    };
    if let Err(err) = build(&lab, opts, tools) {
        let note = match down(name) {
            Ok(()) => "everything it made was removed".to_string(),
            Err(e) => format!("cleaning up failed too: {e:#}"),
        };
        return Err(err.context(format!("creating lab '{name}' failed ({note})")));
    }
    Ok(lab)
}

fn build(lab: &Lab, opts: &UpOptions, tools: &Tools) -> Result<()> {
    fs::create_dir_all(lab.ns_dir())?;
    fs::write(lab.root().join("lab.json"), serde_json::to_vec_pretty(lab)?)?;
    sys::make_private_mount(&lab.ns_dir())?;
    ensure_mount_points()?;
    net::create_hub(lab)?;
    for host in lab.hosts() {
        hosts::create(lab, &host, &tools.ctl)?;
    }
    if opts.corosync {
        corosync::install_config(lab)?;
        for node in lab.node_names() {
            supervisor::start(lab, &node, Service::Corosync, &tools.ctl)?;
        }
        corosync::wait_quorate(lab, &tools.probe, Duration::from_secs(90))?;
    }
    if opts.pmxcfs {
        crate::pmxcfs::start_and_wait(lab, &tools.ctl, Duration::from_secs(90))?;
    }
    if let Some(password) = &opts.daemons {
        crate::daemons::start(lab, &tools.ctl, password)?;
        if let Some(name) = &opts.cluster {
            crate::cluster::form(lab, &tools.ctl, name, password)?;
            corosync::wait_quorate(lab, &tools.probe, Duration::from_secs(90))?;
        }
    }
    Ok(())
}

/// Makes sure every private path exists on the host as a mount point, remembering which ones
/// the lab created so that the last `down` removes them again.
fn ensure_mount_points() -> Result<()> {
    let record = Path::new(STATE_ROOT).join(CREATED_MOUNT_POINTS);
    let mut created = fs::read_to_string(&record).unwrap_or_default();
    for target in nodefs::mount_points() {
        if !Path::new(target).exists() {
            fs::create_dir_all(target).with_context(|| format!("cannot create {target}"))?;
            created.push_str(target);
            created.push('\n');
        }
    }
    fs::write(record, created)?;
    Ok(())
}

/// Removes lab `name`: stops its services by pid, deletes its namespaces, mounts and state.
/// Safe to run on a lab that is half made, or already gone.
pub fn down(name: &str) -> Result<()> {
    let root = lab_root(name);
    if let Ok(lab) = load(name) {
        stop_all_services(&lab);
    }
    for mount in sys::mounts_below(&root) {
        sys::unmount(&mount);
    }
    let mut failures = Vec::new();
    for ns in net::lab_namespaces(Some(name)) {
        if let Err(e) = net::delete_namespace(&ns) {
            failures.push(format!("{e:#}"));
        }
    }
    if root.exists() {
        if let Err(e) = fs::remove_dir_all(&root) {
            failures.push(format!("cannot remove {}: {e}", root.display()));
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("; "));
    }
    remove_created_mount_points_if_last();
    Ok(())
}

fn stop_all_services(lab: &Lab) {
    std::thread::scope(|scope| {
        for host in lab.hosts() {
            for (service, _) in supervisor::running_services(lab, &host) {
                let host = host.clone();
                scope.spawn(move || {
                    if let Err(e) = supervisor::stop(lab, &host, service, libc::SIGTERM) {
                        eprintln!("quorate-lab: {e:#}");
                    }
                });
            }
        }
    });
}

/// Every lab on this machine: state directories plus namespaces whose state was lost.
pub fn all_labs() -> Vec<String> {
    let mut labs: Vec<String> = fs::read_dir(STATE_ROOT)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    for ns in net::lab_namespaces(None) {
        if let Some(lab) = crate::layout::lab_of_netns(&ns) {
            labs.push(lab.to_string());
        }
    }
    labs.sort();
    labs.dedup();
    labs
}

fn remove_created_mount_points_if_last() {
    if !all_labs().is_empty() {
        return;
    }
    let record = Path::new(STATE_ROOT).join(CREATED_MOUNT_POINTS);
    if let Ok(created) = fs::read_to_string(&record) {
        for target in created.lines() {
            let _ = fs::remove_dir(target);
        }
    }
    let _ = fs::remove_file(record);
}

/// Drops traffic between `host` and the other nodes (on `link` only, if given); the qnetd host
/// stays reachable unless `from_qnetd`.
pub fn cut(lab: &Lab, host: &str, link: Option<u8>, from_qnetd: bool) -> Result<()> {
    lab.check_host(host)?;
    if let Some(l) = link {
        if l >= lab.links {
            bail!(
                "link {l} does not exist in lab '{}' (it has {} link(s))",
                lab.name,
                lab.links
            );
        }
    }
    let peers: Vec<_> = lab
        .hosts()
        .into_iter()
        .filter(|h| h != host && (from_qnetd || h != crate::layout::QNETD_HOST))
        .flat_map(|h| lab.addresses(&h))
        .filter(|(l, _)| link.is_none_or(|wanted| *l == wanted))
        .map(|(_, addr)| addr)
        .collect();
    nft(lab, host, &firewall::cut_script(&peers))
}

/// Removes every cut of `host` (or of all hosts).
pub fn heal(lab: &Lab, host: Option<&str>) -> Result<()> {
    let targets = match host {
        Some(h) => {
            lab.check_host(h)?;
            vec![h.to_string()]
        }
        None => lab.hosts(),
    };
    for h in targets {
        let script = format!(
            "add table inet {t}\ndelete table inet {t}\n",
            t = firewall::TABLE
        );
        nft(lab, &h, &script)?;
    }
    Ok(())
}

fn nft(lab: &Lab, host: &str, script: &str) -> Result<()> {
    let netns = format!("--net=/run/netns/{}", lab.netns(host));
    sys::run_with_input("nsenter", &[&netns, "--", "nft", "-f", "-"], Some(script))
        .with_context(|| format!("cannot change the firewall of {host}"))?;
    Ok(())
}

/// One host in `quorate-lab ls`.
#[derive(Debug, Serialize)]
pub struct HostInfo {
    pub name: String,
    pub addresses: Vec<String>,
    pub services: Vec<ServiceInfo>,
}

#[derive(Debug, Serialize)]
pub struct ServiceInfo {
    pub name: String,
    pub pid: u32,
}

pub fn describe(lab: &Lab) -> Vec<HostInfo> {
    lab.hosts()
        .into_iter()
        .map(|host| HostInfo {
            addresses: lab
                .addresses(&host)
                .into_iter()
                .map(|(_, a)| a.to_string())
                .collect(),
            services: supervisor::running_services(lab, &host)
                .into_iter()
                .map(|(svc, r)| ServiceInfo {
                    name: svc.name().into(),
                    pid: r.pid,
                })
                .collect(),
            name: host,
        })
        .collect()
}
