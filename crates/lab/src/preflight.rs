//! Checks made before the lab touches the system: who runs it and what is installed.

use anyhow::{bail, Result};

use crate::sys;

/// Programs the lab always needs, with the Debian package providing each.
pub const BASE_TOOLS: [(&str, &str); 5] = [
    ("ip", "iproute2"),
    ("nsenter", "util-linux"),
    ("unshare", "util-linux"),
    ("nft", "nftables"),
    ("mount", "mount"),
];
pub const COROSYNC_TOOLS: [(&str, &str); 1] = [("corosync", "corosync")];
pub const QNETD_TOOLS: [(&str, &str); 2] = [
    ("corosync-qnetd", "corosync-qnetd"),
    ("setpriv", "util-linux"),
];

pub fn require_root() -> Result<()> {
    if !sys::is_root() {
        bail!("quorate-lab must run as root (it creates namespaces and mounts): run it with sudo or as root");
    }
    Ok(())
}

/// Fails with one line naming every missing program and the `apt-get` command that adds them.
pub fn require_tools<'a>(tools: impl IntoIterator<Item = &'a (&'a str, &'a str)>) -> Result<()> {
    let missing: Vec<_> = tools
        .into_iter()
        .filter(|(program, _)| sys::which(program).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let programs: Vec<_> = missing.iter().map(|(p, _)| *p).collect();
    let mut packages: Vec<_> = missing.iter().map(|(_, pkg)| *pkg).collect();
    packages.dedup();
    bail!(
        "missing program(s): {}; install them with: apt-get install {}",
        programs.join(", "),
        packages.join(" ")
    )
}
