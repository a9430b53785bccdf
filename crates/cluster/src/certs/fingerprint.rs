//! SHA-256 certificate fingerprints in the `AA:BB:…` form.

use openssl::hash::MessageDigest;
use openssl::x509::{X509Ref, X509};

use super::read_cert;
use crate::{Error, PveDir, Result};

/// SHA-256 fingerprint of a certificate (of its DER form): uppercase hex pairs joined by `:`,
/// the form `--fingerprint`, the join API and the Join Information use.
pub fn fingerprint(cert: &X509Ref) -> Result<String> {
    let digest = cert
        .digest(MessageDigest::sha256())
        .map_err(Error::ssl("cannot hash certificate"))?;
    Ok(digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// [`fingerprint`] of the first certificate in a PEM text.
pub fn fingerprint_pem(pem: &[u8]) -> Result<String> {
    let cert = X509::from_pem(pem).map_err(Error::ssl("cannot parse certificate"))?;
    fingerprint(&cert)
}

/// The fingerprint the cluster publishes for `node`: of `pveproxy-ssl.pem` if that custom
/// certificate exists, else of `pve-ssl.pem`.
pub fn node_fingerprint(pve: &PveDir, node: &str) -> Result<String> {
    let custom = pve.node_custom_cert(node);
    let path = if custom.exists() {
        custom
    } else {
        pve.node_cert(node)
    };
    let cert = read_cert(&path)?;
    fingerprint(&cert)
}

/// Whether `s` has the fingerprint form the API accepts: 32 hex pairs separated by `:` (any
/// case).
pub fn is_valid_fingerprint(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 32
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The canonical (uppercase) form of a fingerprint, or an error that shows the expected form.
pub fn normalize_fingerprint(s: &str) -> Result<String> {
    let t = s.trim();
    if is_valid_fingerprint(t) {
        Ok(t.to_ascii_uppercase())
    } else {
        Err(Error::Invalid(format!(
            "invalid fingerprint '{s}': expected 32 hex pairs separated by ':' \
             (SHA-256, e.g. 'AB:CD:…'); copy it from the node's certificate view or \
             'openssl x509 -noout -fingerprint -sha256 -in /etc/pve/nodes/<node>/pve-ssl.pem'"
        )))
    }
}
