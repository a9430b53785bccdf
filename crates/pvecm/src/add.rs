//! `pvecm add HOSTNAME`: join this node to the cluster of HOSTNAME (the work is in
//! `cluster::join`). The root password is prompted for on a terminal; without one it is the
//! first line of standard input and `--fingerprint` is required.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use cluster::join::{JoinEnv, JoinParams, SystemNode};
use cluster::links::parse_links;
use cluster::node_ip;
use cluster::services::SystemServices;
use cluster::PveDir;

use crate::create::pve_bool;

#[derive(Args)]
pub struct AddArgs {
    /// Hostname (or IP) of an existing cluster member.
    hostname: String,
    /// Certificate SHA-256 fingerprint of the member (AA:BB:...).
    #[arg(long)]
    fingerprint: Option<String>,
    /// Node id for this node.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    nodeid: Option<u32>,
    /// Number of votes for this node.
    #[arg(long, value_parser = clap::value_parser!(u32))]
    votes: Option<u32>,
    /// Do not throw an error if the node already exists / checks fail.
    #[arg(long, num_args = 0..=1, default_missing_value = "1", value_parser = pve_bool, default_value = "0")]
    force: bool,
    #[command(flatten)]
    links: crate::link_args::LinkArgs,
}

/// Reads a line from the terminal with echo off.
fn read_hidden(prompt: &str) -> Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    // SAFETY: termios is plain data, filled by tcgetattr on stdin.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd 0 and a valid termios pointer.
    let have = unsafe { libc::tcgetattr(0, &mut old) } == 0;
    if have {
        let mut quiet = old;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: as above.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let r = std::io::stdin().lock().read_line(&mut line);
    if have {
        // SAFETY: restores the saved settings.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &old) };
    }
    eprintln!();
    r?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn ask_yes_no(host: &str, fp: &str) -> bool {
    print!(
        "The authenticity of host '{host}' can't be established.\nX509 SHA256 key fingerprint \
         is {fp}.\nAre you sure you want to continue connecting (yes/no)? "
    );
    std::io::stdout().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim() == "yes"
}

pub fn add(args: AddArgs) -> Result<()> {
    let cwd = std::env::current_dir().unwrap_or_default();
    if cwd.starts_with(Path::new("/etc/pve")) {
        bail!("Navigate out of /etc/pve before running 'pvecm add', for example by running 'cd'.");
    }
    let links = parse_links(args.links.given())?;
    if let Some(fp) = &args.fingerprint {
        cluster::certs::normalize_fingerprint(fp).map_err(|e| anyhow!("fingerprint: {e}"))?;
    }
    let terminal = std::io::stdin().is_terminal();
    let password = if terminal {
        read_hidden(&format!(
            "Please enter superuser (root) password for '{}': ",
            args.hostname
        ))?
    } else {
        if args.fingerprint.is_none() {
            bail!(
                "no terminal: the password is read from standard input, and then the member's \
                 certificate fingerprint must be given with --fingerprint (see the cluster's \
                 Join Information, or 'pvenode cert info' on the member)"
            );
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    if password.is_empty() {
        bail!("no password given");
    }

    let me = SystemNode::detect(node_ip::short_hostname()?)?;
    let params = JoinParams {
        host: args.hostname.clone(),
        fingerprint: args.fingerprint.clone(),
        password,
        nodeid: args.nodeid,
        votes: args.votes,
        force: args.force,
        links,
    };
    let services = SystemServices::detect(PveDir::system())?;
    let host = args.hostname.clone();
    me.join(
        &JoinEnv::system(),
        &services,
        &params,
        &mut |fp| terminal && ask_yes_no(&host, fp),
        &mut |line| println!("{line}"),
    )
    .map_err(|e| anyhow!("{e}"))
}
