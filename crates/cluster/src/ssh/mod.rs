//! Root's SSH set-up for a cluster, as Proxmox VE does it.
//!
//! * `/root/.ssh/id_rsa` (RSA 4096, no passphrase, made with `ssh-keygen`) is root's cluster
//!   identity; `/root/.ssh/config` gets one `Ciphers …` line when it is created.
//! * `/etc/pve/priv/authorized_keys` holds every node's root key; `/root/.ssh/authorized_keys`
//!   is a symlink to it (a previous regular file is imported, kept as `authorized_keys.org`
//!   until the import is confirmed).
//! * `/etc/pve/priv/known_hosts` is the legacy merged known-hosts file; `/etc/ssh/
//!   ssh_known_hosts` may be a symlink to it (made by `pvecm create`, undone by
//!   `--unmerge-known-hosts` and before a join). `/etc/pve/nodes/<n>/ssh_known_hosts` holds
//!   `<n> ssh-rsa <host key>` and is what cluster SSH uses (`-o HostKeyAlias=<n>`).
//! * `/etc/ssh/sshd_config` must contain `PermitRootLogin yes`.
//!
//! The text transformations are pure functions ([`merge_authorized_keys`],
//! [`known_hosts::merge`], [`permit_root_login`], …); [`files`] applies them to the files
//! named by [`SshPaths`].

pub mod files;
pub mod known_hosts;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::PveDir;

/// The line written into a new `/root/.ssh/config`.
pub const ROOT_SSH_CONFIG: &str = "Ciphers aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com\n";

/// Size of root's RSA key.
pub const ROOT_KEY_BITS: u32 = 4096;

/// Where the SSH files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPaths {
    /// The cluster file system (`/etc/pve`).
    pub pve: PveDir,
    /// Root's SSH directory (`/root/.ssh`).
    pub root_ssh_dir: PathBuf,
    /// `/etc/ssh/sshd_config`.
    pub sshd_config: PathBuf,
    /// `/etc/ssh/ssh_host_rsa_key.pub`.
    pub host_rsa_pub: PathBuf,
    /// `/etc/ssh/ssh_known_hosts`.
    pub system_known_hosts: PathBuf,
}

impl SshPaths {
    /// The real locations.
    pub fn system() -> Self {
        SshPaths::under(Path::new("/"))
    }

    /// The same layout below `root` (tests).
    pub fn under(root: &Path) -> Self {
        SshPaths {
            pve: PveDir::new(root.join("etc/pve")),
            root_ssh_dir: root.join("root/.ssh"),
            sshd_config: root.join("etc/ssh/sshd_config"),
            host_rsa_pub: root.join("etc/ssh/ssh_host_rsa_key.pub"),
            system_known_hosts: root.join("etc/ssh/ssh_known_hosts"),
        }
    }

    pub fn id_rsa(&self) -> PathBuf {
        self.root_ssh_dir.join("id_rsa")
    }

    pub fn id_rsa_pub(&self) -> PathBuf {
        self.root_ssh_dir.join("id_rsa.pub")
    }

    pub fn root_authorized_keys(&self) -> PathBuf {
        self.root_ssh_dir.join("authorized_keys")
    }

    /// `authorized_keys.org`: the imported pre-cluster file, until the import is confirmed.
    pub fn root_authorized_keys_backup(&self) -> PathBuf {
        self.root_ssh_dir.join("authorized_keys.org")
    }

    pub fn root_config(&self) -> PathBuf {
        self.root_ssh_dir.join("config")
    }
}

/// `sshd_config` text with `PermitRootLogin yes`, or `None` if it already has that line. The
/// first (possibly commented) `PermitRootLogin` line is replaced; without one the line is
/// appended.
pub fn permit_root_login(sshd_config: &str) -> Option<String> {
    let is_yes = |l: &str| {
        let mut w = l.split_whitespace();
        l.starts_with("PermitRootLogin")
            && w.next() == Some("PermitRootLogin")
            && w.next() == Some("yes")
            && w.next().is_none()
    };
    if sshd_config.lines().any(is_yes) {
        return None;
    }
    let mut out = String::with_capacity(sshd_config.len() + 20);
    let mut replaced = false;
    for line in sshd_config.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let is_setting = body
            .strip_prefix('#')
            .unwrap_or(body)
            .starts_with("PermitRootLogin");
        if !replaced && is_setting {
            out.push_str("PermitRootLogin yes");
            out.push_str(&line[body.len()..]);
            replaced = true;
        } else {
            out.push_str(line);
        }
    }
    if !replaced {
        let trimmed = out.strip_suffix('\n').unwrap_or(&out).to_string();
        out = format!("{trimmed}\nPermitRootLogin yes\n");
    }
    Some(out)
}

/// Whether `token` names an SSH public key algorithm.
fn is_key_type(token: &str) -> bool {
    token.starts_with("ssh-")
        || token.starts_with("ecdsa-sha2-")
        || token.starts_with("sk-ssh-")
        || token.starts_with("sk-ecdsa-sha2-")
}

/// The base64 key blob of an `authorized_keys` line (options and comment allowed), or `None`
/// for comments and lines without a key.
pub fn authorized_key_blob(line: &str) -> Option<&str> {
    if line.trim_start().starts_with('#') {
        return None;
    }
    let mut tokens = line.split_whitespace();
    while let Some(t) = tokens.next() {
        if is_key_type(t) {
            return tokens.next();
        }
    }
    None
}

/// The cluster-wide `authorized_keys`: the lines of `cluster` (the current
/// `priv/authorized_keys`), then of `backup` (`/root/.ssh/authorized_keys.org`), then this
/// node's own public key — later lines with an already seen key blob are dropped, as are blank
/// lines; comments and everything else stay in order. Ends with a newline.
///
/// The original only de-duplicates `ssh-rsa`/`ssh-dss` lines that have a comment; this also
/// covers Ed25519/ECDSA/FIDO keys and keys without a comment.
pub fn merge_authorized_keys(
    cluster: Option<&str>,
    backup: Option<&str>,
    own_pub: Option<&str>,
) -> String {
    let mut seen = HashSet::new();
    let mut out = String::new();
    for part in [cluster, backup, own_pub].into_iter().flatten() {
        for line in part.lines() {
            if line.trim().is_empty() {
                continue;
            }
            if let Some(blob) = authorized_key_blob(line) {
                if !seen.insert(blob.to_string()) {
                    continue;
                }
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Removes every key line whose blob is `blob` (e.g. a deleted node's root key).
pub fn remove_authorized_key(text: &str, blob: &str) -> String {
    text.lines()
        .filter(|l| authorized_key_blob(l) != Some(blob))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
