//! What the API reads from the cluster file system: quorum and `corosync.conf` here;
//! `.members` and node addresses come from [`cluster::members`].

use std::os::unix::fs::PermissionsExt;

pub use cluster::members::{read_members, remote_node_ip, Members};
use cluster::PveDir;

use crate::error::ApiResult;

/// Whether the cluster file system is quorate: `/etc/pve/local` is writable for its owner
/// (pmxcfs drops the write bits while it has no quorum). False when it does not exist.
pub fn is_quorate(pve: &PveDir) -> bool {
    std::fs::symlink_metadata(pve.root().join("local"))
        .map(|m| m.permissions().mode() & 0o200 != 0)
        .unwrap_or(false)
}

/// Reads `corosync.conf` from the cluster file system; `None` when there is none.
pub fn read_corosync_conf(pve: &PveDir) -> ApiResult<Option<Vec<u8>>> {
    Ok(cluster::members::read_corosync_conf(pve)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_follows_the_local_link_mode() {
        let dir = tempfile::tempdir().unwrap();
        let pve = PveDir::new(dir.path());
        assert!(!is_quorate(&pve));
        std::fs::create_dir(dir.path().join("local")).unwrap();
        let set = |mode| {
            std::fs::set_permissions(
                dir.path().join("local"),
                std::fs::Permissions::from_mode(mode),
            )
            .unwrap()
        };
        set(0o755);
        assert!(is_quorate(&pve));
        set(0o555);
        assert!(!is_quorate(&pve));
    }
}
