//! `quorate-lab`: real multi-node Corosync clusters on one machine.
//!
//! Each lab host is its own network + mount + UTS namespace with a private `/etc/corosync`,
//! `/etc/pve`, `/run`, … and an address in 10.99.0.0/16 on bridges that live in a namespace the
//! lab made. Every command acts on the lab named by `QUORATE_LAB` (default `default`).
//!
//! Not for: anything outside the lab's own namespaces. The lab stops only processes it started,
//! by pid.

mod cluster;
mod corosync;
mod daemons;
mod firewall;
mod hosts;
mod lab;
mod layout;
mod net;
mod nodefs;
mod pmxcfs;
mod preflight;
mod services;
mod supervisor;
mod sys;

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use service_control::Service;

#[derive(Parser)]
#[command(
    name = "quorate-lab",
    about = "Real multi-node Corosync clusters on one machine (lab chosen by QUORATE_LAB)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create nodes node1..nodeN (and a qnetd host), optionally with a running Corosync cluster.
    Up {
        #[arg(long)]
        nodes: u8,
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
        links: u8,
        /// Add a host `qnetd` at 10.99.0.250.
        #[arg(long)]
        qnetd: bool,
        /// Write corosync.conf + authkey on every node, start corosync and wait for quorum.
        #[arg(long)]
        corosync: bool,
        /// Also start pmxcfs on every node and wait until /etc/pve is in sync everywhere.
        #[arg(long)]
        pmxcfs: bool,
        /// Run our daemons on every node without forming a cluster: pmxcfs (local mode), the
        /// node certificates, and the API on port 8006.
        #[arg(long)]
        daemons: bool,
        /// Root's password in every node (with --daemons; default `quorate`).
        #[arg(long)]
        root_password: Option<String>,
        /// Run the daemons, then `pvecm create NAME` on node1 and `pvecm add` on the others.
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// Run corosync at normal priority (`system { sched_rr: no  priority: 0 }`). The nodes
        /// share this machine's cores, so each node's realtime corosync would also preempt the
        /// other nodes' daemons, which separate machines never do (used by the benchmarks).
        #[arg(long)]
        corosync_normal_priority: bool,
    },
    /// Remove the lab (services, namespaces, mounts, state); safe to run twice.
    Down {
        /// Remove every lab on this machine.
        #[arg(long)]
        all: bool,
    },
    /// Run a command inside a node, passing stdio and the exit status through.
    Exec {
        node: String,
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<OsString>,
    },
    /// Start a service in a node.
    Start { node: String, service: Service },
    /// Stop a service cleanly (SIGTERM, SIGKILL after a grace period).
    Stop { node: String, service: Service },
    /// Stop and start a service.
    Restart { node: String, service: Service },
    /// Kill a service with SIGKILL; it stays down until started again.
    Kill { node: String, service: Service },
    /// Exit 0 if the service runs, 3 if not (like `systemctl is-active`).
    Status { node: String, service: Service },
    /// Print a service's log.
    Logs { node: String, service: Service },
    /// Drop all traffic between NODE and the other nodes.
    Cut {
        node: String,
        /// Only on this link.
        #[arg(long)]
        link: Option<u8>,
        /// Also cut NODE from the qnetd host.
        #[arg(long)]
        from_qnetd: bool,
    },
    /// Remove the cuts of NODE (or of every node).
    Heal { node: Option<String> },
    /// List hosts, addresses and running services.
    Ls {
        #[arg(long)]
        json: bool,
    },
    #[command(name = "__supervise", hide = true)]
    Supervise { node: String, service: Service },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("quorate-lab: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn lab_name() -> Result<String> {
    let name = std::env::var("QUORATE_LAB").unwrap_or_else(|_| "default".into());
    layout::validate_lab_name(&name)?;
    Ok(name)
}

fn run(cli: Cli) -> Result<ExitCode> {
    preflight::require_root()?;
    let name = lab_name()?;
    match cli.command {
        Command::Up {
            nodes,
            links,
            qnetd,
            corosync,
            pmxcfs,
            daemons,
            root_password,
            cluster,
            corosync_normal_priority,
        } => {
            std::fs::create_dir_all(layout::STATE_ROOT)?;
            let _lock = sys::lock(&lock_path(&name))?;
            let opts = lab::UpOptions {
                nodes,
                links,
                qnetd,
                corosync,
                pmxcfs,
                daemons: (daemons || cluster.is_some()).then(|| {
                    root_password
                        .clone()
                        .unwrap_or_else(|| daemons::DEFAULT_ROOT_PASSWORD.into())
                }),
                cluster: cluster.clone(),
                corosync_normal_priority,
            };
            let lab = lab::up(&name, &opts, &tools()?)?;
            println!(
                "lab '{name}' is up: {}{}",
                lab.hosts().join(", "),
                match (corosync, pmxcfs, cluster.is_some()) {
                    (_, _, true) => " (cluster formed with pvecm, quorate)",
                    (_, true, _) => " (corosync quorate, /etc/pve in sync)",
                    (true, false, _) => " (corosync quorate)",
                    _ => "",
                }
            );
        }
        Command::Down { all } => {
            let labs = if all { lab::all_labs() } else { vec![name] };
            for name in labs {
                let _lock = std::fs::create_dir_all(layout::STATE_ROOT)
                    .ok()
                    .and_then(|_| sys::lock(&lock_path(&name)).ok());
                lab::down(&name)?;
                let _ = std::fs::remove_file(lock_path(&name));
            }
        }
        Command::Exec { node, command } => {
            let lab = lab::load(&name)?;
            lab.check_host(&node)?;
            let mut cmd = hosts::command_in(&lab, &node, &PathBuf::from(&command[0]));
            cmd.args(&command[1..]);
            let err = cmd.exec();
            bail!("cannot run {:?} in {node}: {err}", command[0]);
        }
        Command::Start { node, service } => {
            let lab = loaded_host(&name, &node)?;
            supervisor::start(&lab, &node, service, &tools()?.ctl)?;
        }
        Command::Stop { node, service } => {
            let lab = loaded_host(&name, &node)?;
            supervisor::stop(&lab, &node, service, libc::SIGTERM)?;
        }
        Command::Restart { node, service } => {
            let lab = loaded_host(&name, &node)?;
            supervisor::stop(&lab, &node, service, libc::SIGTERM)?;
            supervisor::start(&lab, &node, service, &tools()?.ctl)?;
        }
        Command::Kill { node, service } => {
            let lab = loaded_host(&name, &node)?;
            if supervisor::running(&lab, &node, service).is_none() {
                bail!("{service} is not running on {node}");
            }
            supervisor::stop(&lab, &node, service, libc::SIGKILL)?;
        }
        Command::Status { node, service } => {
            let lab = loaded_host(&name, &node)?;
            return Ok(match supervisor::running(&lab, &node, service) {
                Some(r) => {
                    println!("{service} on {node}: running (pid {})", r.pid);
                    ExitCode::SUCCESS
                }
                None => {
                    println!("{service} on {node}: stopped");
                    ExitCode::from(3)
                }
            });
        }
        Command::Logs { node, service } => {
            let lab = loaded_host(&name, &node)?;
            let path = lab.log_file(&node, service.name());
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("{service} has no log on {node} yet ({})", path.display())
            })?;
            print!("{text}");
        }
        Command::Cut {
            node,
            link,
            from_qnetd,
        } => lab::cut(&lab::load(&name)?, &node, link, from_qnetd)?,
        Command::Heal { node } => lab::heal(&lab::load(&name)?, node.as_deref())?,
        Command::Ls { json } => print_ls(&lab::load(&name)?, json)?,
        Command::Supervise { node, service } => {
            let lab = loaded_host(&name, &node)?;
            supervisor::supervise(&lab, &node, service)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn loaded_host(name: &str, host: &str) -> Result<layout::Lab> {
    let lab = lab::load(name)?;
    lab.check_host(host)?;
    Ok(lab)
}

fn lock_path(name: &str) -> PathBuf {
    PathBuf::from(layout::STATE_ROOT).join(format!(".{name}.lock"))
}

fn tools() -> Result<lab::Tools> {
    let ctl = std::env::current_exe().context("cannot locate quorate-lab")?;
    let probe = ctl.with_file_name("quorate-probe");
    if !probe.exists() {
        bail!(
            "quorate-probe is missing next to {} : run `cargo build --workspace`",
            ctl.display()
        );
    }
    Ok(lab::Tools { ctl, probe })
}

fn print_ls(lab: &layout::Lab, json: bool) -> Result<()> {
    let hosts = lab::describe(lab);
    if json {
        let doc = serde_json::json!({
            "lab": lab.name,
            "nodes": lab.nodes,
            "links": lab.links,
            "qnetd": lab.qnetd,
            "root_password": lab.root_password,
            "hosts": hosts,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "lab '{}': {} node(s), {} link(s){}",
        lab.name,
        lab.nodes,
        lab.links,
        if lab.qnetd { ", qnetd host" } else { "" }
    );
    if let Some(password) = &lab.root_password {
        println!("root password: {password}");
    }
    println!("{:<8} {:<24} SERVICES", "HOST", "ADDRESSES");
    for host in hosts {
        let services: Vec<_> = host
            .services
            .iter()
            .map(|s| format!("{} (pid {})", s.name, s.pid))
            .collect();
        println!(
            "{:<8} {:<24} {}",
            host.name,
            host.addresses.join(","),
            if services.is_empty() {
                "-".to_string()
            } else {
                services.join(", ")
            }
        );
    }
    Ok(())
}
