//! The per-node directories and files in `/etc/pve` (the original's `gen_local_dirs`,
//! `gen_pve_node_files`, vzdump cron files).

use std::os::unix::fs::symlink;
use std::path::Path;

use crate::certs::{gen_ca, gen_node_cert, gen_node_key, NodeCertRequest};
use crate::{authkey, fsutil, Error, PveDir, Result};

/// Subdirectories of `nodes/<node>/`.
pub const NODE_SUBDIRS: [&str; 4] = ["lxc", "qemu-server", "openvz", "priv"];

/// Content of a new `vzdump.cron`.
pub const VZDUMP_CRON_DUMMY: &str = "# cluster wide vzdump cron schedule\n\
# Automatically generated file - do not edit\n\
\n\
PATH=\"/usr/sbin:/usr/bin:/sbin:/bin\"\n\
\n";

/// Creates `priv/`, `nodes/`, `nodes/<node>/` and its subdirectories if missing.
pub fn gen_local_dirs(pve: &PveDir, node: &str) -> Result<()> {
    crate::links::check_node_name(node).map_err(|e| Error::Invalid(e.0))?;
    fsutil::ensure_dir(&pve.priv_dir())?;
    for sub in NODE_SUBDIRS {
        fsutil::ensure_dir(&pve.node_dir(node).join(sub))?;
    }
    Ok(())
}

/// Which files [`gen_pve_node_files`] created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeFiles {
    pub auth_key: bool,
    pub www_key: bool,
    pub node_key: bool,
    pub ca: bool,
    pub node_cert: bool,
}

/// Makes sure a node has everything: directories, the ticket key pair (the caller holds the
/// cluster lock `authkey`), the CSRF key, its TLS key, the CA, and its certificate — renewed
/// when `force` is set or the CA is new.
pub fn gen_pve_node_files(pve: &PveDir, req: &NodeCertRequest, force: bool) -> Result<NodeFiles> {
    gen_local_dirs(pve, &req.node)?;
    let auth_key = authkey::gen_auth_key(pve, false)?;
    let www_key = authkey::gen_www_key(pve, false)?;
    let node_key = gen_node_key(pve, &req.node, false)?;
    let ca = gen_ca(pve, false)?;
    let node_cert = gen_node_cert(pve, req, force || ca)?;
    Ok(NodeFiles {
        auth_key,
        www_key,
        node_key,
        ca,
        node_cert,
    })
}

/// Writes `vzdump.cron` with [`VZDUMP_CRON_DUMMY`] if it is missing. Returns whether it did.
pub fn gen_vzdump_cron(pve: &PveDir) -> Result<bool> {
    let path = pve.root().join("vzdump.cron");
    if path.exists() {
        return Ok(false);
    }
    fsutil::write_atomic(&path, VZDUMP_CRON_DUMMY.as_bytes(), 0o640)?;
    Ok(true)
}

/// If `vzdump.cron` exists and `link` (`/etc/cron.d/vzdump`) is not a symlink: moves an old
/// file at `link` to `backup` (`/root/etc_cron_vzdump.org`) and links `link` to it. Returns
/// whether it changed anything.
pub fn vzdump_cron_symlink(pve: &PveDir, link: &Path, backup: &Path) -> Result<bool> {
    let target = pve.root().join("vzdump.cron");
    if !target.is_file() || fsutil::is_symlink(link) {
        return Ok(false);
    }
    if link.exists() {
        std::fs::rename(link, backup).map_err(|e| Error::io("cannot move", link, e))?;
    }
    fsutil::ensure_parent(link)?;
    symlink(&target, link).map_err(|e| Error::io("can't create symlink", link, e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_files_are_made_once_and_renewed_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let pve = PveDir::new(dir.path());
        let req = NodeCertRequest {
            node: "pve1".into(),
            ip: "10.0.0.1".parse().unwrap(),
            domain: None,
        };
        let first = gen_pve_node_files(&pve, &req, false).unwrap();
        assert_eq!(
            first,
            NodeFiles {
                auth_key: true,
                www_key: true,
                node_key: true,
                ca: true,
                node_cert: true
            }
        );
        for sub in NODE_SUBDIRS {
            assert!(pve.node_dir("pve1").join(sub).is_dir(), "{sub}");
        }
        assert!(pve.priv_dir().is_dir());
        assert_eq!(
            gen_pve_node_files(&pve, &req, false).unwrap(),
            NodeFiles::default()
        );
        let forced = gen_pve_node_files(&pve, &req, true).unwrap();
        assert_eq!(
            forced,
            NodeFiles {
                node_cert: true,
                ..NodeFiles::default()
            }
        );
        assert!(gen_local_dirs(&pve, "bad.name").is_err());
    }

    #[test]
    fn vzdump_files() {
        let dir = tempfile::tempdir().unwrap();
        let pve = PveDir::new(dir.path().join("pve"));
        std::fs::create_dir_all(pve.root()).unwrap();
        let link = dir.path().join("cron.d/vzdump");
        let backup = dir.path().join("etc_cron_vzdump.org");
        assert!(!vzdump_cron_symlink(&pve, &link, &backup).unwrap());
        assert!(gen_vzdump_cron(&pve).unwrap());
        assert!(!gen_vzdump_cron(&pve).unwrap());
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::fs::write(&link, "old").unwrap();
        assert!(vzdump_cron_symlink(&pve, &link, &backup).unwrap());
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "old");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), VZDUMP_CRON_DUMMY);
        assert!(!vzdump_cron_symlink(&pve, &link, &backup).unwrap());
    }
}
