//! TLS with rustls (ring provider): the node certificate for the server, and a client-side
//! verifier that pins a certificate fingerprint the way PVE's join does.
//!
//! Server certificate: `nodes/<node>/pveproxy-ssl.pem` + `pveproxy-ssl.key` when both exist
//! (a custom or ACME certificate, as pveproxy prefers), else `pve-ssl.pem` + `pve-ssl.key`.
//! The PEM may hold a chain (leaf first). The fingerprint clients see is therefore the one
//! [`cluster::certs::node_fingerprint`] publishes in the join information.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use cluster::PveDir;

/// The ring crypto provider every TLS config here uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

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

/// SHA-256 fingerprint of a DER certificate in the `AA:BB:...` form.
pub fn fingerprint_der(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Accepts exactly the server whose leaf certificate has a given SHA-256 fingerprint; no CA
/// or host name check (PVE's join: the fingerprint is the trust anchor). Handshake
/// signatures are still verified.
#[derive(Debug)]
pub struct PinnedFingerprint {
    fingerprint: String,
    provider: Arc<CryptoProvider>,
}

impl PinnedFingerprint {
    /// Pins `fingerprint` (any case; see [`cluster::certs::normalize_fingerprint`]).
    pub fn new(fingerprint: &str) -> cluster::Result<Self> {
        Ok(PinnedFingerprint {
            fingerprint: cluster::certs::normalize_fingerprint(fingerprint)?,
            provider: provider(),
        })
    }

    /// A client configuration that trusts only this fingerprint.
    pub fn client_config(self) -> rustls::ClientConfig {
        let provider = self.provider.clone();
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(self))
            .with_no_client_auth()
    }
}

impl ServerCertVerifier for PinnedFingerprint {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = fingerprint_der(end_entity);
        if seen == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "certificate fingerprint {seen} does not match the expected {}",
                self.fingerprint
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
