//! `pvecm`: the Proxmox VE cluster manager. Parses the command line and calls `cluster`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use cluster::status::{self, StatusSnapshot};

mod add;
mod create;
mod link_args;
mod nodes;

/// The API version this `pvecm` speaks for cluster joins.
const JOIN_API_VERSION: u32 = 1;
const PVE_DIR: &str = "/etc/pve";

#[derive(Parser)]
#[command(name = "pvecm", about = "Proxmox VE cluster manager (Quorate)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Text,
    Json,
    #[value(name = "json-pretty")]
    JsonPretty,
}

#[derive(Subcommand)]
enum Command {
    /// Return the version of the cluster join API available on this node.
    Apiver,
    /// Generate a new cryptographic key for corosync.
    Keygen { filename: PathBuf },
    /// Display the local view of the cluster status.
    Status {
        #[arg(long = "output-format", value_enum, default_value = "text")]
        output_format: OutputFormat,
    },
    /// Display the local view of the cluster nodes.
    Nodes {
        #[arg(long = "output-format", value_enum, default_value = "text")]
        output_format: OutputFormat,
    },
    /// Tell corosync a new value of expected votes.
    Expected {
        #[arg(value_parser = clap::value_parser!(u32).range(1..))]
        expected: u32,
    },
    /// Generate new cluster configuration.
    Create(Box<create::CreateArgs>),
    /// Adds the current node to an existing cluster.
    Add(Box<add::AddArgs>),
    /// Update node certificates (and generate all needed files/directories).
    Updatecerts(create::UpdatecertsArgs),
    /// Adds a node to the cluster configuration (run on a cluster member).
    Addnode(Box<nodes::AddnodeArgs>),
    /// Removes a node from the cluster configuration.
    Delnode {
        /// The cluster node name (or its link 0/1 address).
        node: String,
    },
    /// Print this node's Join Information (the web UI's blob) and certificate fingerprint.
    #[command(name = "join-info")]
    JoinInfo {
        #[arg(long = "output-format", value_enum, default_value = "text")]
        output_format: OutputFormat,
    },
}

fn main() -> ExitCode {
    // Like a C tool, end quietly when the reader of our output goes away (`pvecm status | head`).
    // SAFETY: restoring the default disposition of SIGPIPE before any output.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::from(255)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    check_pmxcfs_mounted()?;
    match cli.command {
        Command::Apiver => println!("{JOIN_API_VERSION}"),
        Command::Keygen { filename } => keygen(&filename)?,
        Command::Status { output_format } => {
            let snapshot = snapshot()?;
            match output_format {
                OutputFormat::Text => print!("{}", status::render_pvecm_status(&snapshot)),
                _ => print_json(&snapshot, output_format)?,
            }
            return Ok(ExitCode::from(snapshot.exit_code() as u8));
        }
        Command::Nodes { output_format } => {
            let snapshot = snapshot()?;
            match output_format {
                OutputFormat::Text => print!("{}", status::render_pvecm_nodes(&snapshot)),
                _ => print_json(&snapshot, output_format)?,
            }
        }
        Command::Create(args) => create::create(*args)?,
        Command::Add(args) => add::add(*args)?,
        Command::Updatecerts(args) => create::updatecerts(args)?,
        Command::Addnode(args) => nodes::addnode(*args)?,
        Command::Delnode { node } => nodes::delnode(&node)?,
        Command::JoinInfo { output_format } => nodes::join_info(output_format)?,
        Command::Expected { expected } => {
            if let Err(e) = corosync_client::set_expected(expected) {
                if e.is_not_running() {
                    bail!("{e}");
                }
                eprintln!("Unable to set expected votes: {}", e.code_name());
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every command needs the cluster file system, as in the original.
fn check_pmxcfs_mounted() -> Result<()> {
    let local = Path::new(PVE_DIR).join("local");
    match std::fs::symlink_metadata(&local) {
        Ok(meta) if meta.file_type().is_symlink() => Ok(()),
        _ => bail!("pve configuration filesystem (pmxcfs) not mounted"),
    }
}

fn snapshot() -> Result<StatusSnapshot> {
    let conf = std::fs::read_to_string(Path::new(PVE_DIR).join("corosync.conf")).ok();
    status::collect(conf.as_deref()).map_err(|e| {
        if e.is_not_running() {
            anyhow::anyhow!("Cannot initialize CMAP service: {e}")
        } else {
            anyhow::anyhow!("{e}")
        }
    })
}

fn print_json(snapshot: &StatusSnapshot, format: OutputFormat) -> Result<()> {
    let text = status::json::render_json(snapshot);
    if format == OutputFormat::JsonPretty {
        let value: serde_json::Value = serde_json::from_str(&text)?;
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{}", text.trim_end());
    }
    Ok(())
}

/// Prints `value` as compact or pretty JSON.
pub(crate) fn print_value(value: &serde_json::Value, format: OutputFormat) -> Result<()> {
    if format == OutputFormat::JsonPretty {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{value}");
    }
    Ok(())
}

fn keygen(filename: &Path) -> Result<()> {
    if !cluster::is_root() {
        bail!("Error: Authorization key must be generated as root user.");
    }
    if filename.exists() {
        bail!("key file '{}' already exists", filename.display());
    }
    if let Some(dir) = filename.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    cluster::corosync_authkey::write_new(filename)
        .with_context(|| format!("cannot write {}", filename.display()))
}
