//! The SSH steps of create/join/updatecerts applied to real files (see [`SshPaths`]).
//!
//! None of these restart services: [`setup_sshd_config`] reports whether `sshd` must be
//! reloaded (`systemctl reload-or-restart sshd`), the caller does that.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{known_hosts, merge_authorized_keys, permit_root_login, SshPaths, ROOT_KEY_BITS};
use crate::{fsutil, Error, Result};

/// Makes sure `sshd_config` has `PermitRootLogin yes`. Returns whether the file changed (then
/// sshd must be reloaded).
pub fn setup_sshd_config(paths: &SshPaths) -> Result<bool> {
    let text = fsutil::read_text_optional(&paths.sshd_config)?.ok_or_else(|| {
        Error::Invalid(format!(
            "'{}' does not exist: install openssh-server",
            paths.sshd_config.display()
        ))
    })?;
    match permit_root_login(&text) {
        None => Ok(false),
        Some(new) => {
            fsutil::write_atomic(&paths.sshd_config, new.as_bytes(), 0o644)?;
            Ok(true)
        }
    }
}

fn run(cmd: &mut Command) -> Result<std::process::Output> {
    let text = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Command {
            command: text.clone(),
            detail: format!("{e} (is openssh-client installed?)"),
        })?;
    if !out.status.success() {
        return Err(Error::Command {
            command: text,
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(out)
}

/// Creates root's key pair `id_rsa` (RSA 4096, no passphrase) if `id_rsa.pub` is missing (a
/// lone `id_rsa` gets its public half derived instead of being replaced), and `config` with the
/// cipher list if it is missing. Returns whether a new key pair was made.
pub fn setup_root_ssh_config(paths: &SshPaths) -> Result<bool> {
    fsutil::ensure_dir(&paths.root_ssh_dir)?;
    let mut made = false;
    if !paths.id_rsa_pub().exists() {
        if paths.id_rsa().exists() {
            let out = run(Command::new("ssh-keygen")
                .arg("-y")
                .arg("-f")
                .arg(paths.id_rsa()))?;
            fsutil::write_atomic(&paths.id_rsa_pub(), &out.stdout, 0o644)?;
        } else {
            run(Command::new("ssh-keygen")
                .args([
                    "-q",
                    "-t",
                    "rsa",
                    "-b",
                    &ROOT_KEY_BITS.to_string(),
                    "-N",
                    "",
                ])
                .arg("-f")
                .arg(paths.id_rsa()))?;
            made = true;
        }
    }
    fsutil::create_new(
        &paths.root_config(),
        super::ROOT_SSH_CONFIG.as_bytes(),
        0o640,
    )?;
    Ok(made)
}

/// Makes `priv/authorized_keys` the cluster's key list and `/root/.ssh/authorized_keys` a
/// symlink to it: a missing cluster file is created (mode 0400) with the content of root's
/// current file; a regular root file is renamed to `authorized_keys.org`; the backup is
/// removed when the import into a new cluster file succeeded. Returns warnings.
pub fn setup_ssh_keys(paths: &SshPaths) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let cluster = paths.pve.authorized_keys();
    let root = paths.root_authorized_keys();
    let backup = paths.root_authorized_keys_backup();
    fsutil::ensure_dir(&paths.pve.priv_dir())?;
    let mut imported = false;
    if !fsutil::is_file(&cluster) {
        let old = fsutil::read_optional(&root)?.unwrap_or_default();
        imported = fsutil::create_new(&cluster, &old, 0o400)?;
    }
    if !fsutil::is_file(&cluster) {
        warnings.push(format!(
            "can't create shared ssh key database '{}'",
            cluster.display()
        ));
    }
    if !fsutil::is_symlink(&root) && root.is_file() {
        if let Err(e) = std::fs::rename(&root, &backup) {
            warnings.push(format!("rename {} failed - {e}", root.display()));
        }
    }
    if !fsutil::is_symlink(&root) {
        fsutil::ensure_dir(&paths.root_ssh_dir)?;
        if let Err(e) = symlink(&cluster, &root) {
            warnings.push(format!(
                "can't create symlink for ssh keys '{}' -> '{}': {e}",
                root.display(),
                cluster.display()
            ));
        }
    }
    if fsutil::is_symlink(&root) && imported {
        fsutil::remove_optional(&backup)?;
    }
    Ok(warnings)
}

/// Rewrites `priv/authorized_keys` as [`merge_authorized_keys`] of itself, root's
/// `authorized_keys.org` and root's `id_rsa.pub` (mode 0600); removes the backup once root's
/// file is the symlink.
pub fn ssh_merge_keys(paths: &SshPaths) -> Result<()> {
    let cluster = fsutil::read_text_optional(&paths.pve.authorized_keys())?;
    let backup_path = paths.root_authorized_keys_backup();
    let backup = fsutil::read_text_optional(&backup_path)?;
    let own = fsutil::read_text_optional(&paths.id_rsa_pub())?;
    let merged = merge_authorized_keys(cluster.as_deref(), backup.as_deref(), own.as_deref());
    fsutil::write_atomic(&paths.pve.authorized_keys(), merged.as_bytes(), 0o600)?;
    if backup.is_some() && fsutil::is_symlink(&paths.root_authorized_keys()) {
        fsutil::remove_optional(&backup_path)?;
    }
    Ok(())
}

/// Reads this host's RSA host key as `ssh-rsa <blob>`.
pub fn read_host_rsa_key(paths: &SshPaths) -> Result<String> {
    let text = fsutil::read(&paths.host_rsa_pub)?;
    known_hosts::host_rsa_key(&String::from_utf8_lossy(&text)).ok_or_else(|| {
        Error::Invalid(format!(
            "can't parse {}: no 'ssh-rsa' key in it; regenerate it with 'ssh-keygen -A'",
            paths.host_rsa_pub.display()
        ))
    })
}

/// Merges this node's host key into `priv/known_hosts` (see [`known_hosts::merge`]); with
/// `create_link`, `/etc/ssh/ssh_known_hosts` becomes a symlink to it (used by create).
pub fn ssh_merge_known_hosts(
    paths: &SshPaths,
    node: &str,
    ip: &str,
    create_link: bool,
) -> Result<()> {
    if node.is_empty() || ip.is_empty() {
        return Err(Error::Invalid("no node name or IP address given".into()));
    }
    let cluster_path = paths.pve.known_hosts();
    fsutil::ensure_dir(&paths.pve.priv_dir())?;
    fsutil::create_new(&cluster_path, b"", 0o600)?;
    let cluster = fsutil::read_text_optional(&cluster_path)?.unwrap_or_default();
    let system_path = &paths.system_known_hosts;
    let system = if !fsutil::is_symlink(system_path) {
        fsutil::read_text_optional(system_path)?
    } else {
        None
    };
    let host_key = read_host_rsa_key(paths)?;
    let merged = known_hosts::merge(&cluster, system.as_deref(), node, ip, &host_key);
    fsutil::write_atomic(&cluster_path, merged.as_bytes(), 0o600)?;
    if create_link {
        replace_with_symlink(system_path, &cluster_path)?;
    }
    Ok(())
}

fn replace_with_symlink(link: &Path, target: &Path) -> Result<()> {
    fsutil::remove_optional(link)?;
    fsutil::ensure_parent(link)?;
    symlink(target, link).map_err(|e| Error::io("can't create symlink", link, e))
}

/// If `/etc/ssh/ssh_known_hosts` is a symlink (into `/etc/pve`), replaces it by a regular file
/// with the current content of `priv/known_hosts` (or empty). Returns whether it did.
pub fn ssh_unmerge_known_hosts(paths: &SshPaths) -> Result<bool> {
    let system_path = &paths.system_known_hosts;
    if !fsutil::is_symlink(system_path) {
        return Ok(false);
    }
    let content = fsutil::read_optional(&paths.pve.known_hosts())?.unwrap_or_default();
    // write_atomic renames over the symlink itself, so the link is replaced, not followed
    fsutil::write_atomic(system_path, &content, 0o644)?;
    Ok(true)
}

/// Writes `nodes/<node>/ssh_known_hosts` = `<node> ssh-rsa <host key>`.
pub fn ssh_create_node_known_hosts(paths: &SshPaths, node: &str) -> Result<()> {
    let host_key = read_host_rsa_key(paths)?;
    let path = paths.pve.node_ssh_known_hosts(node);
    fsutil::ensure_parent(&path)?;
    fsutil::write_atomic(
        &path,
        known_hosts::node_known_hosts(node, &host_key).as_bytes(),
        0o640,
    )
}
