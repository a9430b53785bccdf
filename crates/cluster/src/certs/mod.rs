//! The cluster CA and the node TLS certificates, made like Proxmox VE makes them.
//!
//! * CA (`priv/pve-root-ca.key`, `pve-root-ca.pem`): RSA 4096, self-signed, SHA-256, subject
//!   `CN=Proxmox Virtual Environment, OU=<random UUID>, O=PVE Cluster Manager CA`, valid 3650
//!   days from yesterday, extensions subjectKeyIdentifier, authorityKeyIdentifier (key id),
//!   basicConstraints `critical, CA:TRUE`, keyUsage `critical, keyCertSign, cRLSign` — what
//!   `faketime yesterday openssl req -x509 … -addext keyUsage=critical,keyCertSign,cRLSign`
//!   produces with Debian's OpenSSL 3 defaults. Random 159-bit serial.
//! * Node (`nodes/<n>/pve-ssl.key`, `nodes/<n>/pve-ssl.pem`): RSA 2048, signed by the CA,
//!   subject `OU=PVE Cluster Node, O=Proxmox Virtual Environment, CN=<fqdn>`, extensions
//!   basicConstraints `CA:FALSE`, extendedKeyUsage `serverAuth`, subjectAltName
//!   `IP:127.0.0.1, IP:::1, DNS:localhost, IP:<ip>, DNS:<node>[, DNS:<node>.<domain>]`, then
//!   subjectKeyIdentifier and authorityKeyIdentifier (as `openssl x509 -req -copy_extensions
//!   copyall` adds them). Valid from yesterday for (CA days left − 2) days, at most 730; refused
//!   when the CA has less than 14 days left. Serial = the CA serial file (`priv/pve-root-ca.srl`,
//!   hex, created as `0000000000000000`) plus one, written back in OpenSSL's format (`01\n`).
//!
//! Keys are written as unencrypted PKCS#8 PEM (what `openssl genrsa` writes) with mode 0600.

use std::net::IpAddr;
use std::path::Path;

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Name, X509NameBuilder, X509Ref, X509};

use crate::{fsutil, unix_now, Error, PveDir, Result};

mod fingerprint;
pub use fingerprint::{
    fingerprint, fingerprint_pem, is_valid_fingerprint, node_fingerprint, normalize_fingerprint,
};

/// Size of the CA key in bits.
pub const CA_KEY_BITS: u32 = 4096;
/// Size of node TLS keys (and of the ticket and CSRF keys) in bits.
pub const NODE_KEY_BITS: u32 = 2048;
/// Validity of a new CA certificate.
pub const CA_VALIDITY_DAYS: i64 = 3650;
/// Longest validity of a node certificate (two years).
pub const NODE_CERT_MAX_DAYS: i64 = 730;
/// A node certificate is refused when the CA has fewer days left than this.
pub const CA_MIN_DAYS_LEFT: i64 = 14;
/// Certificates start one day in the past (the original runs openssl under `faketime
/// yesterday`, against clocks that are slightly behind).
const BACKDATE_SECS: i64 = 24 * 60 * 60;
const DAY: i64 = 24 * 60 * 60;
/// Initial content of a missing serial file.
pub const INITIAL_SERIAL: &str = "0000000000000000";

/// What a node certificate is made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCertRequest {
    /// The node name (short host name).
    pub node: String,
    /// The node's cluster-facing IP (`remote_node_ip`).
    pub ip: IpAddr,
    /// The DNS search domain, if any (see [`search_domain`]).
    pub domain: Option<String>,
}

impl NodeCertRequest {
    /// `<node>.<domain>`, or the node name without a domain: the certificate's CN.
    pub fn fqdn(&self) -> String {
        match &self.domain {
            Some(d) => format!("{}.{}", self.node, d),
            None => self.node.clone(),
        }
    }

    /// The subjectAltName in OpenSSL's config syntax, as the original writes it.
    pub fn san_string(&self) -> String {
        let mut s = format!(
            "IP:127.0.0.1,IP:::1,DNS:localhost,IP:{},DNS:{}",
            self.ip, self.node
        );
        if self.domain.is_some() {
            s.push_str(&format!(",DNS:{}", self.fqdn()));
        }
        s
    }
}

/// The search domain of a `resolv.conf` text: the first word of the last `search` or `domain`
/// line, as Proxmox reads it.
pub fn search_domain(resolv_conf: &str) -> Option<String> {
    let mut found = None;
    for line in resolv_conf.lines() {
        let mut words = line.split_whitespace();
        if let Some("search" | "domain") = words.next() {
            if let Some(first) = words.next() {
                found = Some(first.trim_end_matches('.').to_string());
            }
        }
    }
    found.filter(|d| !d.is_empty())
}

/// Validity in days of a new node certificate when the CA has `ca_days_left` whole days left.
pub fn node_cert_days(ca_days_left: i64) -> Result<i64> {
    if ca_days_left < CA_MIN_DAYS_LEFT {
        return Err(Error::Invalid(
            "CA expires in less than 2 weeks, unable to generate certificate. \
             Create a new CA (remove priv/pve-root-ca.key and pve-root-ca.pem, then run \
             'pvecm updatecerts --force')."
                .into(),
        ));
    }
    Ok((ca_days_left - 2).min(NODE_CERT_MAX_DAYS))
}

/// Generates an RSA key of `bits` into `path` (PKCS#8 PEM, mode 0600) unless one exists and
/// `force` is not set. Returns whether a key was written.
pub(crate) fn gen_rsa_key_file(path: &Path, bits: u32, force: bool) -> Result<bool> {
    if !force && path.exists() {
        return Ok(false);
    }
    let key = new_rsa_key(bits)?;
    let pem = key
        .private_key_to_pem_pkcs8()
        .map_err(Error::ssl("cannot encode key"))?;
    fsutil::ensure_parent(path)?;
    fsutil::write_atomic(path, &pem, 0o600)?;
    Ok(true)
}

fn new_rsa_key(bits: u32) -> Result<PKey<Private>> {
    let rsa = Rsa::generate(bits).map_err(Error::ssl("cannot generate RSA key"))?;
    PKey::from_rsa(rsa).map_err(Error::ssl("cannot wrap RSA key"))
}

/// Reads a PEM private key.
pub fn read_private_key(path: &Path) -> Result<PKey<Private>> {
    let pem = fsutil::read(path)?;
    PKey::private_key_from_pem(&pem)
        .map_err(Error::ssl(format!("cannot parse key '{}'", path.display())))
}

/// Reads a PEM certificate.
pub fn read_cert(path: &Path) -> Result<X509> {
    let pem = fsutil::read(path)?;
    X509::from_pem(&pem).map_err(Error::ssl(format!(
        "cannot parse certificate '{}'",
        path.display()
    )))
}

/// Makes sure the cluster CA exists (key and certificate); with `force` both are replaced.
/// Returns whether a new CA certificate was made (then node certificates must be renewed).
pub fn gen_ca(pve: &PveDir, force: bool) -> Result<bool> {
    gen_ca_at(pve, force, unix_now())
}

/// [`gen_ca`] with an explicit clock.
pub fn gen_ca_at(pve: &PveDir, force: bool, now: i64) -> Result<bool> {
    let (key_path, cert_path) = (pve.ca_key(), pve.ca_cert());
    if !force && key_path.exists() && cert_path.exists() {
        return Ok(false);
    }
    gen_rsa_key_file(&key_path, CA_KEY_BITS, force)?;
    let key = read_private_key(&key_path)?;
    let cert = build_ca_cert(&key, now)?;
    let pem = cert.to_pem().map_err(Error::ssl("cannot encode CA"))?;
    fsutil::ensure_parent(&cert_path)?;
    fsutil::write_atomic(&cert_path, &pem, 0o644)?;
    Ok(true)
}

fn name(entries: &[(Nid, &str)]) -> Result<X509Name> {
    let mut b = X509NameBuilder::new().map_err(Error::ssl("name"))?;
    for (nid, value) in entries {
        b.append_entry_by_nid(*nid, value)
            .map_err(Error::ssl(format!("invalid name part '{value}'")))?;
    }
    Ok(b.build())
}

fn random_uuid() -> Result<String> {
    let mut b = [0u8; 16];
    openssl::rand::rand_bytes(&mut b).map_err(Error::ssl("random"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn validity(days: i64, now: i64) -> Result<(Asn1Time, Asn1Time)> {
    let start = now - BACKDATE_SECS;
    let from = Asn1Time::from_unix(start).map_err(Error::ssl("time"))?;
    let to = Asn1Time::from_unix(start + days * DAY).map_err(Error::ssl("time"))?;
    Ok((from, to))
}

fn build_ca_cert(key: &PKey<Private>, now: i64) -> Result<X509> {
    let e = || Error::ssl("cannot build CA certificate");
    let subject = name(&[
        (Nid::COMMONNAME, "Proxmox Virtual Environment"),
        (Nid::ORGANIZATIONALUNITNAME, &random_uuid()?),
        (Nid::ORGANIZATIONNAME, "PVE Cluster Manager CA"),
    ])?;
    let mut serial = BigNum::new().map_err(e())?;
    serial
        .rand(159, MsbOption::MAYBE_ZERO, false)
        .map_err(e())?;
    let (from, to) = validity(CA_VALIDITY_DAYS, now)?;
    let mut b = X509::builder().map_err(e())?;
    b.set_version(2).map_err(e())?;
    let serial = Asn1Integer::from_bn(&serial).map_err(e())?;
    b.set_serial_number(&serial).map_err(e())?;
    b.set_subject_name(&subject).map_err(e())?;
    b.set_issuer_name(&subject).map_err(e())?;
    b.set_not_before(&from).map_err(e())?;
    b.set_not_after(&to).map_err(e())?;
    b.set_pubkey(key).map_err(e())?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(None, None))
        .map_err(e())?;
    b.append_extension(ski).map_err(e())?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(None, None))
        .map_err(e())?;
    b.append_extension(aki).map_err(e())?;
    let bc = BasicConstraints::new()
        .critical()
        .ca()
        .build()
        .map_err(e())?;
    b.append_extension(bc).map_err(e())?;
    let ku = KeyUsage::new()
        .critical()
        .key_cert_sign()
        .crl_sign()
        .build()
        .map_err(e())?;
    b.append_extension(ku).map_err(e())?;
    b.sign(key, MessageDigest::sha256()).map_err(e())?;
    Ok(b.build())
}

/// Makes sure the node's TLS key exists (never replaced unless `force`). Returns whether a key
/// was written.
pub fn gen_node_key(pve: &PveDir, node: &str, force: bool) -> Result<bool> {
    gen_rsa_key_file(&pve.node_key(node), NODE_KEY_BITS, force)
}

/// Signs a new node certificate with the CA unless one exists and `force` is not set. The node
/// key and the CA must exist. Returns whether a certificate was written.
pub fn gen_node_cert(pve: &PveDir, req: &NodeCertRequest, force: bool) -> Result<bool> {
    gen_node_cert_at(pve, req, force, unix_now())
}

/// [`gen_node_cert`] with an explicit clock.
pub fn gen_node_cert_at(
    pve: &PveDir,
    req: &NodeCertRequest,
    force: bool,
    now: i64,
) -> Result<bool> {
    let cert_path = pve.node_cert(&req.node);
    if !force && cert_path.exists() {
        return Ok(false);
    }
    let node_key = read_private_key(&pve.node_key(&req.node))?;
    let ca_key = read_private_key(&pve.ca_key())?;
    let ca = read_cert(&pve.ca_cert())?;
    let now_asn1 = Asn1Time::from_unix(now).map_err(Error::ssl("time"))?;
    let left = now_asn1
        .diff(ca.not_after())
        .map_err(Error::ssl("cannot read the CA's expiry"))?;
    let days = node_cert_days((i64::from(left.days) * DAY + i64::from(left.secs)) / DAY)?;
    let serial = next_serial(&pve.ca_serial())?;
    let cert = build_node_cert(req, &node_key, &ca, &ca_key, &serial, days, now)?;
    let pem = cert
        .to_pem()
        .map_err(Error::ssl("cannot encode certificate"))?;
    fsutil::ensure_parent(&cert_path)?;
    fsutil::write_atomic(&cert_path, &pem, 0o640)?;
    Ok(true)
}

/// Reads the CA serial file (creating it as [`INITIAL_SERIAL`] if missing), increments it and
/// writes it back as OpenSSL does (uppercase hex, whole bytes, newline). Returns the new serial.
fn next_serial(path: &Path) -> Result<BigNum> {
    let text = match fsutil::read_text_optional(path)? {
        Some(t) => t,
        None => {
            fsutil::ensure_parent(path)?;
            fsutil::write_atomic(path, INITIAL_SERIAL.as_bytes(), 0o600)?;
            INITIAL_SERIAL.to_string()
        }
    };
    let bad = || {
        Error::Invalid(format!(
            "invalid CA serial file '{}': expected a hex number; write {INITIAL_SERIAL} into it",
            path.display()
        ))
    };
    let hex = text.trim();
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut serial = BigNum::from_hex_str(hex).map_err(|_| bad())?;
    serial
        .add_word(1)
        .map_err(Error::ssl("cannot increment serial"))?;
    let mut out = serial
        .to_hex_str()
        .map_err(Error::ssl("cannot encode serial"))?
        .to_string();
    if out.len() % 2 == 1 {
        out.insert(0, '0');
    }
    out.push('\n');
    fsutil::write_atomic(path, out.as_bytes(), 0o600)?;
    Ok(serial)
}

fn build_node_cert(
    req: &NodeCertRequest,
    key: &PKey<Private>,
    ca: &X509Ref,
    ca_key: &PKey<Private>,
    serial: &BigNum,
    days: i64,
    now: i64,
) -> Result<X509> {
    let e = || Error::ssl("cannot build node certificate");
    let fqdn = req.fqdn();
    let subject = name(&[
        (Nid::ORGANIZATIONALUNITNAME, "PVE Cluster Node"),
        (Nid::ORGANIZATIONNAME, "Proxmox Virtual Environment"),
        (Nid::COMMONNAME, &fqdn),
    ])?;
    let (from, to) = validity(days, now)?;
    let mut b = X509::builder().map_err(e())?;
    b.set_version(2).map_err(e())?;
    let serial = Asn1Integer::from_bn(serial).map_err(e())?;
    b.set_serial_number(&serial).map_err(e())?;
    b.set_subject_name(&subject).map_err(e())?;
    b.set_issuer_name(ca.subject_name()).map_err(e())?;
    b.set_not_before(&from).map_err(e())?;
    b.set_not_after(&to).map_err(e())?;
    b.set_pubkey(key).map_err(e())?;
    b.append_extension(BasicConstraints::new().build().map_err(e())?)
        .map_err(e())?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build().map_err(e())?)
        .map_err(e())?;
    let mut san = SubjectAlternativeName::new();
    san.ip("127.0.0.1")
        .ip("::1")
        .dns("localhost")
        .ip(&req.ip.to_string())
        .dns(&req.node);
    if req.domain.is_some() {
        san.dns(&fqdn);
    }
    let san = san.build(&b.x509v3_context(Some(ca), None)).map_err(e())?;
    b.append_extension(san).map_err(e())?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(Some(ca), None))
        .map_err(e())?;
    b.append_extension(ski).map_err(e())?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(Some(ca), None))
        .map_err(e())?;
    b.append_extension(aki).map_err(e())?;
    b.sign(ca_key, MessageDigest::sha256()).map_err(e())?;
    Ok(b.build())
}

#[cfg(test)]
mod tests;
