//! TLS with rustls (ring provider): the node certificate for the server, and a client-side
//! verifier that pins a certificate fingerprint the way PVE's join does.
//!
//! Server certificate: `nodes/<node>/pveproxy-ssl.pem` + `pveproxy-ssl.key` when both exist
//! (a custom or ACME certificate, as pveproxy prefers), else `pve-ssl.pem` + `pve-ssl.key`.
//! The PEM may hold a chain (leaf first). The fingerprint clients see is therefore the one
//! [`cluster::certs::node_fingerprint`] publishes in the join information.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

use cluster::PveDir;

pub use cluster::tls::{fingerprint_der, provider, PinnedFingerprint};

/// The certificate and key files the server uses for `node`.
pub fn cert_paths(pve: &PveDir, node: &str) -> (PathBuf, PathBuf) {
    let custom_cert = pve.node_custom_cert(node);
    let custom_key = pve.node_dir(node).join("pveproxy-ssl.key");
    if custom_cert.exists() && custom_key.exists() {
        (custom_cert, custom_key)
    } else {
        (pve.node_cert(node), pve.node_key(node))
    }
}

/// A rustls server configuration (TLS 1.2 and 1.3, HTTP/1.1) from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| anyhow::anyhow!("cannot read certificate '{}': {e}", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!("no certificate in '{}'", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("cannot read key '{}': {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            anyhow::anyhow!(
                "certificate '{}' and its key do not fit: {e}",
                cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
