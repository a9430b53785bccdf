//! Our daemons on every node without a cluster (`up --daemons`): root's password, pmxcfs in
//! local mode, the node files (`pvecm updatecerts`), and the API.

use std::fs;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use service_control::Service;

use crate::layout::Lab;
use crate::{hosts, supervisor, sys};

/// The root password of lab nodes unless `--root-password` says otherwise.
pub const DEFAULT_ROOT_PASSWORD: &str = "quorate";

/// `shadow` text with root's password hash replaced by `hash`.
pub fn with_root_hash(shadow: &str, hash: &str) -> String {
    let mut out: Vec<String> = shadow
        .lines()
        .map(|line| match line.split_once(':') {
            Some(("root", rest)) => {
                let after_hash = rest.split_once(':').map_or("", |(_, after)| after);
                format!("root:{hash}:{after_hash}")
            }
            _ => line.to_string(),
        })
        .collect();
    if !out.iter().any(|l| l.starts_with("root:")) {
        out.insert(0, format!("root:{hash}:19000:0:99999:7:::"));
    }
    out.join("\n") + "\n"
}

/// Sets root's password in a node's private /etc/shadow (a bind-mounted copy, which tools
/// like chpasswd cannot replace).
pub fn set_root_password(lab: &Lab, host: &str, password: &str) -> Result<()> {
    let hash = sys::run_with_input("openssl", &["passwd", "-6", "-stdin"], Some(password))
        .context("cannot hash the root password (openssl passwd)")?;
    let path = lab.host_dir(host).join("fs/shadow");
    let shadow = fs::read_to_string(&path).unwrap_or_default();
    fs::write(&path, with_root_hash(&shadow, hash.trim()))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Starts pmxcfs, creates the node files and starts the API on every node.
pub fn start(lab: &Lab, ctl: &Path, password: &str) -> Result<()> {
    let pvecm = ctl.with_file_name("pvecm");
    for node in lab.node_names() {
        set_root_password(lab, &node, password)?;
        // Each node has its own SSH host keys (in its private /etc/ssh).
        run_in(lab, &node, Path::new("ssh-keygen"), &["-A"])?;
        supervisor::start(lab, &node, Service::Pmxcfs, ctl)?;
        wait_mounted(lab, &node)?;
        run_in(lab, &node, &pvecm, &["updatecerts", "--silent"])?;
        supervisor::start(lab, &node, Service::Api, ctl)?;
    }
    Ok(())
}

fn run_in(lab: &Lab, node: &str, program: &Path, args: &[&str]) -> Result<()> {
    let out = hosts::command_in(lab, node, program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !out.status.success() {
        bail!(
            "`{} {}` failed on {node}: {}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn wait_mounted(lab: &Lab, node: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let mounted = hosts::command_in(lab, node, Path::new("test"))
            .args(["-L", "/etc/pve/local"])
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            return Ok(());
        }
        sleep(Duration::from_millis(100));
    }
    bail!("/etc/pve did not appear on {node}; see `quorate-lab logs {node} pmxcfs`")
}

#[cfg(test)]
mod tests {
    use super::with_root_hash;

    #[test]
    fn only_roots_hash_changes() {
        let shadow = "root:$6$old:19000:0:99999:7:::\nwww-data:*:19000:0:99999:7:::\n";
        assert_eq!(
            with_root_hash(shadow, "$6$new"),
            "root:$6$new:19000:0:99999:7:::\nwww-data:*:19000:0:99999:7:::\n"
        );
        assert_eq!(with_root_hash("", "!"), "root:!:19000:0:99999:7:::\n");
    }
}
