//! File names under `/etc/pve` that this crate reads and writes.

use std::path::{Path, PathBuf};

/// The cluster file system root (`/etc/pve` on a node, a temporary directory in tests) and
/// the names of the files this crate manages in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PveDir {
    root: PathBuf,
}

impl PveDir {
    /// A tree rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        PveDir { root: root.into() }
    }

    /// The real mount point, `/etc/pve`.
    pub fn system() -> Self {
        PveDir::new("/etc/pve")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `priv/`: root-only files.
    pub fn priv_dir(&self) -> PathBuf {
        self.root.join("priv")
    }

    /// `nodes/<node>/`.
    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.root.join("nodes").join(node)
    }

    /// `priv/pve-root-ca.key`: the CA's private key.
    pub fn ca_key(&self) -> PathBuf {
        self.priv_dir().join("pve-root-ca.key")
    }

    /// `pve-root-ca.pem`: the CA certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.root.join("pve-root-ca.pem")
    }

    /// `priv/pve-root-ca.srl`: the serial number of the last certificate the CA signed (hex).
    pub fn ca_serial(&self) -> PathBuf {
        self.priv_dir().join("pve-root-ca.srl")
    }

    /// `nodes/<node>/pve-ssl.key`: the node's TLS key.
    pub fn node_key(&self, node: &str) -> PathBuf {
        self.node_dir(node).join("pve-ssl.key")
    }

    /// `nodes/<node>/pve-ssl.pem`: the node's TLS certificate, signed by the CA.
    pub fn node_cert(&self, node: &str) -> PathBuf {
        self.node_dir(node).join("pve-ssl.pem")
    }

    /// `nodes/<node>/pveproxy-ssl.pem`: an optional custom certificate (preferred when present).
    pub fn node_custom_cert(&self, node: &str) -> PathBuf {
        self.node_dir(node).join("pveproxy-ssl.pem")
    }

    /// `nodes/<node>/ssh_known_hosts`: `<node> ssh-rsa <key>`.
    pub fn node_ssh_known_hosts(&self, node: &str) -> PathBuf {
        self.node_dir(node).join("ssh_known_hosts")
    }

    /// `priv/authkey.key`: the ticket signing key.
    pub fn authkey_key(&self) -> PathBuf {
        self.priv_dir().join("authkey.key")
    }

    /// `authkey.pub`: the ticket verification key.
    pub fn authkey_pub(&self) -> PathBuf {
        self.root.join("authkey.pub")
    }

    /// `authkey.pub.old`: the previous verification key after a rotation.
    pub fn authkey_pub_old(&self) -> PathBuf {
        self.root.join("authkey.pub.old")
    }

    /// `pve-www.key`: the secret the CSRF tokens are derived from.
    pub fn www_key(&self) -> PathBuf {
        self.root.join("pve-www.key")
    }

    /// `priv/authorized_keys`: root's cluster-wide SSH authorized keys.
    pub fn authorized_keys(&self) -> PathBuf {
        self.priv_dir().join("authorized_keys")
    }

    /// `priv/known_hosts`: the legacy merged SSH known hosts.
    pub fn known_hosts(&self) -> PathBuf {
        self.priv_dir().join("known_hosts")
    }

    /// `corosync.conf`: the cluster-wide corosync configuration.
    pub fn corosync_conf(&self) -> PathBuf {
        self.root.join("corosync.conf")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_original_layout() {
        let d = PveDir::system();
        assert_eq!(d.ca_key(), Path::new("/etc/pve/priv/pve-root-ca.key"));
        assert_eq!(d.ca_cert(), Path::new("/etc/pve/pve-root-ca.pem"));
        assert_eq!(d.ca_serial(), Path::new("/etc/pve/priv/pve-root-ca.srl"));
        assert_eq!(d.node_key("n1"), Path::new("/etc/pve/nodes/n1/pve-ssl.key"));
        assert_eq!(
            d.node_cert("n1"),
            Path::new("/etc/pve/nodes/n1/pve-ssl.pem")
        );
        assert_eq!(
            d.node_custom_cert("n1"),
            Path::new("/etc/pve/nodes/n1/pveproxy-ssl.pem")
        );
        assert_eq!(d.authkey_key(), Path::new("/etc/pve/priv/authkey.key"));
        assert_eq!(d.authkey_pub(), Path::new("/etc/pve/authkey.pub"));
        assert_eq!(d.www_key(), Path::new("/etc/pve/pve-www.key"));
        assert_eq!(
            d.authorized_keys(),
            Path::new("/etc/pve/priv/authorized_keys")
        );
        assert_eq!(d.known_hosts(), Path::new("/etc/pve/priv/known_hosts"));
    }
}
