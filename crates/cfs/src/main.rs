//! `pmxcfs`: the /etc/pve cluster configuration file system daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(name = "pmxcfs", about = "Proxmox cluster file system (Quorate)")]
struct Cli {
    /// Turn on debug messages.
    #[arg(short, long)]
    debug: bool,
    /// Do not daemonize.
    #[arg(short, long)]
    foreground: bool,
    /// Force local mode (ignore corosync.conf, force quorum).
    #[arg(short, long)]
    local: bool,
    /// Where to mount the file system.
    #[arg(long, default_value = "/etc/pve")]
    mountpoint: PathBuf,
    /// The configuration database.
    #[arg(long, default_value = "/var/lib/pve-cluster/config.db")]
    db: PathBuf,
    /// The pid file.
    #[arg(long, default_value = "/run/pve-cluster.pid")]
    pidfile: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = cfs::daemon::Options {
        foreground: cli.foreground,
        local: cli.local,
        debug: cli.debug,
        mountpoint: cli.mountpoint,
        db: cli.db,
        pidfile: cli.pidfile,
    };
    match cfs::daemon::run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            cfs::daemon::log("main", "crit", &format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}
