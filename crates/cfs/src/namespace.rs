//! The `/etc/pve` namespace over the memdb: the synthetic root entries (node symlinks and
//! virtual status files), private paths, and the path-based permission rules.

/// A synthetic entry of the root directory; it shadows a memdb entry of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synthetic {
    /// A symlink to `nodes/<nodename>` + suffix.
    Link(&'static str, &'static str),
    /// A read-only virtual status file.
    Status(StatusFile),
    /// `.debug`: read and toggle debug logging.
    Debug,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFile {
    Version,
    Members,
    Vmlist,
    Rrd,
    Clusterlog,
}

/// The root's synthetic entries, in listing order.
pub const SYNTHETIC: [(&str, Synthetic); 10] = [
    ("local", Synthetic::Link("local", "")),
    (
        "qemu-server",
        Synthetic::Link("qemu-server", "/qemu-server"),
    ),
    ("openvz", Synthetic::Link("openvz", "/openvz")),
    ("lxc", Synthetic::Link("lxc", "/lxc")),
    (".version", Synthetic::Status(StatusFile::Version)),
    (".members", Synthetic::Status(StatusFile::Members)),
    (".vmlist", Synthetic::Status(StatusFile::Vmlist)),
    (".rrd", Synthetic::Status(StatusFile::Rrd)),
    (".clusterlog", Synthetic::Status(StatusFile::Clusterlog)),
    (".debug", Synthetic::Debug),
];

/// The synthetic root entry called `name`, if any.
pub fn synthetic(name: &str) -> Option<(usize, Synthetic)> {
    SYNTHETIC
        .iter()
        .position(|(n, _)| *n == name)
        .map(|i| (i, SYNTHETIC[i].1))
}

/// Target of a synthetic symlink (relative, as the original).
pub fn link_target(nodename: &str, suffix: &str) -> String {
    format!("nodes/{nodename}{suffix}")
}

/// Whether `path` (relative to the root, no leading `/`) is private: `priv`, `priv/…`,
/// `nodes/<X>/priv`, `nodes/<X>/priv/…`.
pub fn is_private(path: &str) -> bool {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    matches!(comps.as_slice(), ["priv", ..] | ["nodes", _, "priv", ..])
}

/// OpenVZ action scripts keep their executable bit (`<vmid>.mount`, `vps.start`, …).
fn is_openvz_script(path: &str) -> bool {
    const ACTIONS: [&str; 6] = ["mount", "umount", "start", "stop", "premount", "postumount"];
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    ACTIONS.contains(&ext)
        && (stem == "vps" || (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit())))
}

/// Permission bits of a memdb directory at `path`.
pub fn dir_mode(path: &str, quorate: bool) -> u16 {
    let base = if quorate { 0o777 } else { 0o555 };
    base & if is_private(path) { 0o700 } else { 0o755 }
}

/// Permission bits of a memdb file at `path`.
pub fn file_mode(path: &str, quorate: bool) -> u16 {
    let mut base = if quorate { 0o666 } else { 0o444 };
    if is_openvz_script(path) {
        base |= 0o100;
    }
    base & if is_private(path) { 0o700 } else { 0o750 }
}

/// Permission bits of a synthetic symlink (0755 quorate / 0555 not: the quorum indicator).
pub fn link_mode(quorate: bool) -> u16 {
    if quorate {
        0o755
    } else {
        0o555
    }
}

/// Permission bits of a virtual file.
pub fn virtual_mode(entry: Synthetic) -> u16 {
    match entry {
        Synthetic::Debug => 0o640,
        _ => 0o440,
    }
}

/// `chmod` is accepted (as a no-op) only when it asks for the mode the path already has.
pub fn chmod_allowed(path: &str, mode: u32) -> bool {
    let wanted = if is_private(path) { 0o600 } else { 0o640 };
    mode & 0o7777 == wanted
}

/// `chown` is accepted (as a no-op) only for root and group www-data (or "unchanged").
pub fn chown_allowed(uid: Option<u32>, gid: Option<u32>, www_data: u32) -> bool {
    uid.is_none_or(|u| u == 0 || u == u32::MAX)
        && gid.is_none_or(|g| g == www_data || g == u32::MAX)
}

/// The path of `name` inside directory `dir` (both relative to the root).
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_paths() {
        for p in [
            "priv",
            "priv/authkey.key",
            "priv/lock/x",
            "nodes/pve1/priv",
            "nodes/a/priv/x",
        ] {
            assert!(is_private(p), "{p}");
        }
        for p in [
            "",
            "nodes",
            "nodes/pve1",
            "nodes/pve1/pve-ssl.key",
            "private",
            "x/priv",
        ] {
            assert!(!is_private(p), "{p}");
        }
    }

    #[test]
    fn modes_follow_quorum_and_privacy() {
        assert_eq!(dir_mode("nodes", true), 0o755);
        assert_eq!(dir_mode("nodes", false), 0o555);
        assert_eq!(dir_mode("priv", true), 0o700);
        assert_eq!(dir_mode("priv/lock", false), 0o500);
        assert_eq!(file_mode("storage.cfg", true), 0o640);
        assert_eq!(file_mode("storage.cfg", false), 0o440);
        assert_eq!(file_mode("priv/authkey.key", true), 0o600);
        assert_eq!(file_mode("nodes/n1/priv/x", false), 0o400);
        assert_eq!(file_mode("nodes/n1/openvz/101.mount", true), 0o740);
        assert_eq!(file_mode("nodes/n1/openvz/vps.start", true), 0o740);
        assert_eq!(file_mode("nodes/n1/openvz/101.conf", true), 0o640);
        assert_eq!(link_mode(true), 0o755);
        assert_eq!(link_mode(false), 0o555);
    }

    #[test]
    fn chmod_and_chown_accept_only_the_fixed_ownership() {
        assert!(chmod_allowed("storage.cfg", 0o100640));
        assert!(!chmod_allowed("storage.cfg", 0o644));
        assert!(chmod_allowed("priv/x", 0o600));
        assert!(!chmod_allowed("priv/x", 0o640));
        assert!(chown_allowed(Some(0), Some(33), 33));
        assert!(chown_allowed(None, Some(u32::MAX), 33));
        assert!(!chown_allowed(Some(1000), None, 33));
        assert!(!chown_allowed(None, Some(0), 33));
    }

    #[test]
    fn synthetic_entries_and_links() {
        assert_eq!(synthetic("local").unwrap().1, Synthetic::Link("local", ""));
        assert_eq!(
            synthetic(".members").unwrap().1,
            Synthetic::Status(StatusFile::Members)
        );
        assert!(synthetic("nodes").is_none());
        assert_eq!(
            link_target("pve1", "/qemu-server"),
            "nodes/pve1/qemu-server"
        );
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a/b", "c"), "a/b/c");
    }
}
