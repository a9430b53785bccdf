//! Path handling: splitting, name validation and the path-based classifications
//! (guest configs, lock directories).
//!
//! Paths are relative to the file-system root; leading, trailing and duplicate slashes are
//! tolerated. A path whose only component is `.` denotes the root, like `""` and `"/"`.
//! Other `.`/`..` components are looked up literally (and never exist, because such names
//! cannot be created), exactly like the original.

use crate::Errno;

/// Longest path accepted (bytes). Not checked by the original; we refuse longer paths with
/// `ENAMETOOLONG` so untrusted input stays bounded.
pub const MAX_PATH: usize = 4096;
/// Longest name component accepted (bytes), the kernel's `NAME_MAX`. Not checked by the
/// original; longer components give `ENAMETOOLONG`.
pub const MAX_NAME: usize = 255;

/// Syntactic checks applied to every path an operation receives (beyond the original):
/// over-long paths or components → `ENAMETOOLONG`, an embedded NUL → `EACCES`.
pub fn validate(path: &str) -> Result<(), Errno> {
    if path.len() > MAX_PATH {
        return Err(Errno::Enametoolong);
    }
    if path.contains('\0') {
        return Err(Errno::Eacces);
    }
    if components(path).iter().any(|c| c.len() > MAX_NAME) {
        return Err(Errno::Enametoolong);
    }
    Ok(())
}

/// The non-empty components of `path`; a lone `.` means the root (no components).
pub fn components(path: &str) -> Vec<&str> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    if comps == ["."] {
        Vec::new()
    } else {
        comps
    }
}

/// Splits `path` (trailing slashes stripped) into parent components and base name.
/// The base name may be empty (root) or `.`/`..`; [`check_name`] rejects those.
pub fn split_parent(path: &str) -> (Vec<&str>, &str) {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(i) => (components(&trimmed[..i]), &trimmed[i + 1..]),
        None => (Vec::new(), trimmed),
    }
}

/// `""`, `.` and `..` cannot be created → `EACCES` (as the original). A `/` or NUL cannot
/// appear in a base name produced by [`split_parent`] from a validated path.
pub fn check_name(name: &str) -> Result<(), Errno> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(Errno::Eacces);
    }
    if name.len() > MAX_NAME {
        return Err(Errno::Enametoolong);
    }
    Ok(())
}

/// True if the components name a directory directly below `priv/lock`.
pub fn is_lock_path(comps: &[&str]) -> bool {
    comps.len() == 3 && comps[0] == "priv" && comps[1] == "lock"
}

/// The normalized form of a path: its components joined by single slashes.
pub fn normalize(path: &str) -> String {
    components(path).join("/")
}

/// Guest type of a guest config directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VmType {
    /// `qemu-server` (type 1)
    Qemu,
    /// `openvz` (type 2, legacy)
    Openvz,
    /// `lxc` (type 3)
    Lxc,
}

impl VmType {
    /// Numeric type as in the original (1 qemu, 2 openvz, 3 lxc).
    pub fn code(self) -> u8 {
        match self {
            VmType::Qemu => 1,
            VmType::Openvz => 2,
            VmType::Lxc => 3,
        }
    }

    /// Name used in `.vmlist`.
    pub fn name(self) -> &'static str {
        match self {
            VmType::Qemu => "qemu",
            VmType::Openvz => "openvz",
            VmType::Lxc => "lxc",
        }
    }

    /// The directory below `nodes/<node>/` holding configs of this type.
    pub fn dir(self) -> &'static str {
        match self {
            VmType::Qemu => "qemu-server",
            VmType::Openvz => "openvz",
            VmType::Lxc => "lxc",
        }
    }

    /// Inverse of [`VmType::dir`].
    pub fn from_dir(dir: &str) -> Option<VmType> {
        match dir {
            "qemu-server" => Some(VmType::Qemu),
            "openvz" => Some(VmType::Openvz),
            "lxc" => Some(VmType::Lxc),
            _ => None,
        }
    }
}

/// A parsed guest config path `nodes/<node>/<dir>/<vmid>.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestConfig {
    /// VMID (decimal, no leading zero, fits u32).
    pub vmid: u32,
    /// Node directory name (LDH).
    pub node: String,
    /// Guest type from the directory.
    pub kind: VmType,
}

/// LDH rule of node names: letters, digits and `-`, not starting or ending with `-`.
pub fn is_ldh(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Parses a VMID file name `<vmid>.conf`.
pub fn parse_vmid_conf(name: &str) -> Option<u32> {
    let digits = name.strip_suffix(".conf")?;
    if !digits.starts_with(|c: char| ('1'..='9').contains(&c))
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse::<u32>().ok()
}

/// Classifies a path (any slash layout) as a guest config.
pub fn guest_config(path: &str) -> Option<GuestConfig> {
    guest_config_comps(&components(path))
}

/// Like [`guest_config`] for already split components.
pub fn guest_config_comps(comps: &[&str]) -> Option<GuestConfig> {
    match comps {
        ["nodes", node, dir, file] if is_ldh(node) => Some(GuestConfig {
            vmid: parse_vmid_conf(file)?,
            node: (*node).to_string(),
            kind: VmType::from_dir(dir)?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        assert_eq!(components("/a//b/"), ["a", "b"]);
        assert!(components("").is_empty());
        assert!(components("/").is_empty());
        assert!(components(".").is_empty());
        assert!(components("/./").is_empty());
        assert_eq!(components("a/./b"), ["a", ".", "b"]);
        assert_eq!(split_parent("/a/b//"), (vec!["a"], "b"));
        assert_eq!(split_parent("b"), (vec![], "b"));
        assert_eq!(split_parent("./b"), (vec![], "b"));
        assert_eq!(split_parent("/"), (vec![], ""));
        assert_eq!(split_parent("a/.."), (vec!["a"], ".."));
    }

    #[test]
    fn names_and_limits() {
        for bad in ["", ".", ".."] {
            assert_eq!(check_name(bad), Err(Errno::Eacces));
        }
        assert_eq!(check_name("..."), Ok(()));
        assert_eq!(validate("a\0b"), Err(Errno::Eacces));
        assert_eq!(validate(&"x".repeat(256)), Err(Errno::Enametoolong));
        assert_eq!(validate(&"x".repeat(255)), Ok(()));
        let long = vec!["d"; 2049].join("/");
        assert_eq!(validate(&long), Err(Errno::Enametoolong));
        assert_eq!(validate(&long[..4095]), Ok(()));
    }

    #[test]
    fn guest_configs() {
        let g = guest_config("nodes/pve1/qemu-server/100.conf").unwrap();
        assert_eq!(
            (g.vmid, g.node.as_str(), g.kind),
            (100, "pve1", VmType::Qemu)
        );
        assert_eq!(
            guest_config("/nodes/a/lxc/4294967295.conf").unwrap().vmid,
            u32::MAX
        );
        assert_eq!(
            guest_config("nodes/a/openvz/7.conf").unwrap().kind,
            VmType::Openvz
        );
        for bad in [
            "nodes/a/lxc/4294967296.conf",
            "nodes/a/lxc/0100.conf",
            "nodes/a/lxc/0.conf",
            "nodes/a/lxc/100.conf.tmp",
            "nodes/a/lxc/100.cfg",
            "nodes/a/lxc/1a.conf",
            "nodes/-a/lxc/100.conf",
            "nodes/a-/lxc/100.conf",
            "nodes/a_b/lxc/100.conf",
            "nodes/a/qemu/100.conf",
            "nodes/a/lxc/x/100.conf",
            "node/a/lxc/100.conf",
        ] {
            assert_eq!(guest_config(bad), None, "{bad}");
        }
        assert!(is_lock_path(&components("priv/lock/file-x")));
        assert!(!is_lock_path(&components("priv/lock")));
    }
}
