//! Lab hosts as namespaces: creating one, and running a program inside one.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use service_control::{LabMarker, LAB_MARKER};

use crate::layout::Lab;
use crate::{net, nodefs, sys};

/// Creates `host`: its network namespace, its persistent mount + UTS namespaces (kept alive by
/// bind mounts of their handles, no holder process) and its private file system view.
pub fn create(lab: &Lab, host: &str, ctl: &Path) -> Result<()> {
    net::create_host(lab, host)?;
    let marker = serde_json::to_string(&LabMarker {
        lab: lab.name.clone(),
        node: host.to_string(),
        ctl: ctl.to_path_buf(),
    })?;
    let fs_dir = nodefs::prepare_backing(lab, host, &marker)?;
    let (mnt, uts) = (lab.mnt_ns(host), lab.uts_ns(host));
    fs::write(&mnt, "")?;
    fs::write(&uts, "")?;
    let script = nodefs::setup_script(host, &fs_dir, &lab.host_dir(host).join("marker.json"));
    sys::run(
        "unshare",
        &[
            &format!("--mount={}", mnt.display()),
            &format!("--uts={}", uts.display()),
            "--propagation",
            "private",
            "nsenter",
            &format!("--net=/run/netns/{}", lab.netns(host)),
            "--",
            "sh",
            "-c",
            &script,
        ],
    )
    .with_context(|| format!("cannot set up the namespaces of {host}"))?;
    Ok(())
}

/// A command that runs `program` inside `host` (network, mount and UTS namespaces).
///
/// When the caller already is inside that host (our tools calling back into the lab from a
/// node), the program runs directly.
/// The PATH it runs with starts with the directory of our own binaries (`pvecm`, `pmxcfs`,
/// ...), so commands typed into a node find them as on a Proxmox host.
pub fn command_in(lab: &Lab, host: &str, program: &Path) -> Command {
    let mut cmd = if inside(lab, host) {
        Command::new(program)
    } else {
        nsenter(lab, host, program)
    };
    if let Some(path) = path_with_own_binaries() {
        cmd.env("PATH", path);
    }
    cmd
}

fn nsenter(lab: &Lab, host: &str, program: &Path) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net=/run/netns/{}", lab.netns(host)))
        .arg(format!("--mount={}", lab.mnt_ns(host).display()))
        .arg(format!("--uts={}", lab.uts_ns(host).display()))
        .arg("--")
        .arg(program);
    cmd
}

/// PATH with the directory of `quorate-lab` (symlinks resolved) in front.
fn path_with_own_binaries() -> Option<std::ffi::OsString> {
    let own_dir = std::env::current_exe()
        .ok()?
        .canonicalize()
        .ok()?
        .parent()?
        .to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![own_dir];
    dirs.extend(std::env::split_paths(&rest));
    std::env::join_paths(dirs).ok()
}

/// Whether this process runs inside `host` of `lab` (its marker says so).
pub fn inside(lab: &Lab, host: &str) -> bool {
    let Ok(bytes) = fs::read(LAB_MARKER) else {
        return false;
    };
    serde_json::from_slice::<LabMarker>(&bytes)
        .map(|m| m.lab == lab.name && m.node == host)
        .unwrap_or(false)
}
