//! corosync.conf propagation: `/etc/pve/corosync.conf` → `/etc/corosync/corosync.conf`.
//!
//! The copy is written only when it differs and its `config_version` is not lower than the
//! local file's; it is written atomically (temporary file + rename, mode 0644). Only the
//! node whose write carried the change asks corosync to reload, and only if a local file
//! existed before (a node that is just joining starts corosync itself).

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// What to do with a new cluster copy of corosync.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing: the files are identical.
    Unchanged,
    /// The cluster copy has no usable `config_version`.
    NoVersion,
    /// The local file has a higher `config_version`; it is kept.
    LocalIsNewer { local: u64, cluster: u64 },
    /// Write the cluster copy; `had_local` tells whether a local version existed before.
    Write { version: u64, had_local: bool },
}

/// The first `config_version\s*:\s*(\d+)` in `text` (how the original reads it), if non-zero.
pub fn config_version(text: &str) -> Option<u64> {
    const KEY: &str = "config_version";
    let mut rest = text;
    while let Some(pos) = rest.find(KEY) {
        let after = rest[pos + KEY.len()..].trim_start();
        if let Some(value) = after.strip_prefix(':') {
            let value = value.trim_start();
            let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                return digits.parse().ok().filter(|v| *v != 0);
            }
        }
        rest = &rest[pos + KEY.len()..];
    }
    None
}

/// Decides whether `cluster` (the /etc/pve copy) replaces `local` (/etc/corosync).
pub fn decide(cluster: &str, local: Option<&str>) -> Decision {
    if local == Some(cluster) {
        return Decision::Unchanged;
    }
    let Some(version) = config_version(cluster) else {
        return Decision::NoVersion;
    };
    let local_version = local
        .filter(|text| !text.is_empty())
        .and_then(config_version)
        .unwrap_or(0);
    if version < local_version {
        return Decision::LocalIsNewer {
            local: local_version,
            cluster: version,
        };
    }
    Decision::Write {
        version,
        had_local: local_version != 0,
    }
}

/// Replaces `target` with `content` atomically (a temporary file in the same directory,
/// mode 0644, renamed over the target).
pub fn write_atomically(target: &Path, content: &str) -> std::io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(content.as_bytes())?;
        file.sync_all()?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644))?;
        fs::rename(&tmp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Applies the cluster copy to `local_path`; returns the decision taken. The caller logs it
/// and, for `Write { had_local: true }` on the originating node, asks corosync to reload.
pub fn propagate(cluster: &str, local_path: &Path) -> std::io::Result<Decision> {
    let local = match fs::read_to_string(local_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let decision = decide(cluster, local.as_deref());
    if let Decision::Write { .. } = decision {
        write_atomically(local_path, cluster)?;
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V3: &str = "totem {\n  cluster_name: lab\n  config_version: 3\n}\n";
    const V4: &str = "totem {\n  cluster_name: lab\n  config_version: 4\n}\n";

    #[test]
    fn version_is_read_like_the_original() {
        assert_eq!(config_version(V3), Some(3));
        assert_eq!(config_version("config_version:7"), Some(7));
        assert_eq!(config_version("x config_version :\t 12 y"), Some(12));
        assert_eq!(config_version("config_version: 0"), None);
        assert_eq!(
            config_version("config_version: x\nconfig_version: 5"),
            Some(5)
        );
        assert_eq!(config_version("no version here"), None);
    }

    #[test]
    fn decisions() {
        assert_eq!(decide(V3, Some(V3)), Decision::Unchanged);
        assert_eq!(
            decide(V4, Some(V3)),
            Decision::Write {
                version: 4,
                had_local: true
            }
        );
        assert_eq!(
            decide(V3, None),
            Decision::Write {
                version: 3,
                had_local: false
            }
        );
        assert_eq!(
            decide(V3, Some("")),
            Decision::Write {
                version: 3,
                had_local: false
            }
        );
        assert_eq!(
            decide(V3, Some(V4)),
            Decision::LocalIsNewer {
                local: 4,
                cluster: 3
            }
        );
        assert_eq!(decide("totem {}\n", Some(V3)), Decision::NoVersion);
        // Same version, different text (e.g. an edit that forgot the bump): written.
        let same = V3.replace("lab", "lab2");
        assert_eq!(
            decide(&same, Some(V3)),
            Decision::Write {
                version: 3,
                had_local: true
            }
        );
    }

    #[test]
    fn propagate_writes_atomically_and_keeps_newer_local_files() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("corosync.conf");
        assert_eq!(
            propagate(V3, &local).unwrap(),
            Decision::Write {
                version: 3,
                had_local: false
            }
        );
        assert_eq!(fs::read_to_string(&local).unwrap(), V3);
        let mode = fs::metadata(&local).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        fs::write(&local, V4).unwrap();
        assert!(matches!(
            propagate(V3, &local).unwrap(),
            Decision::LocalIsNewer { .. }
        ));
        assert_eq!(fs::read_to_string(&local).unwrap(), V4);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left");
    }
}
