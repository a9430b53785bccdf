//! Signed tickets in the format of pve-common's `PVE::Ticket`.
//!
//! A ticket is `<prefix>:[<data>:]<TIME>::<SIG>` where `<TIME>` is the Unix time as 8
//! uppercase hex digits, `<data>` has every `:` escaped as `%3A` (no other escaping), and
//! `<SIG>` is the standard base64 (with padding, no line breaks) of an RSA signature over
//! `<prefix>:[<data>:]<TIME>` — or over that text plus `:<secret data>` for tickets bound to
//! extra data that is not carried in the ticket (VNC, tunnels). Login tickets use prefix `PVE`
//! and the user id as data: `PVE:root@pam:6A18A500::…`.
//!
//! The signature algorithm is whatever Perl's `Crypt::OpenSSL::RSA` does by default, which
//! depends on its version: **PKCS#1 v1.5 with SHA-1** for Debian 12's 0.33 (measured: a
//! signature made by it verifies only as `openssl dgst -sha1` PKCS#1), SHA-256 and RSA-PSS in
//! newer upstream releases. We sign with [`SignatureScheme::DEFAULT`] (PKCS#1 v1.5 SHA-1, so
//! Proxmox VE 8 daemons accept our tickets) and accept all three schemes when verifying.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{HasPrivate, HasPublic, PKeyRef};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};

use crate::{Error, Result};

/// Prefix of login tickets (cookie `PVEAuthCookie`).
pub const LOGIN_PREFIX: &str = "PVE";

/// How the RSA signature of a ticket is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// PKCS#1 v1.5 over SHA-1 (Crypt::OpenSSL::RSA ≤ 0.33, Proxmox VE 8).
    Pkcs1Sha1,
    /// PKCS#1 v1.5 over SHA-256.
    Pkcs1Sha256,
    /// RSA-PSS over SHA-256, MGF1-SHA-256, salt length = digest length (newer
    /// Crypt::OpenSSL::RSA defaults).
    PssSha256,
}

impl SignatureScheme {
    /// What we sign with.
    pub const DEFAULT: SignatureScheme = SignatureScheme::Pkcs1Sha1;
    /// What we accept when verifying.
    pub const ACCEPTED: &'static [SignatureScheme] = &[
        SignatureScheme::Pkcs1Sha1,
        SignatureScheme::Pkcs1Sha256,
        SignatureScheme::PssSha256,
    ];

    fn digest(self) -> MessageDigest {
        match self {
            SignatureScheme::Pkcs1Sha1 => MessageDigest::sha1(),
            _ => MessageDigest::sha256(),
        }
    }
}

/// Why a ticket (or CSRF token) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("malformed ticket")]
    Malformed,
    #[error("invalid ticket signature")]
    BadSignature,
    #[error("ticket expired (age {age} s)")]
    Expired { age: i64 },
    #[error("ticket timestamp lies in the future (age {age} s) - check the clocks of the nodes")]
    NotYetValid { age: i64 },
    #[error("no key to verify the ticket with")]
    NoKey,
}

/// A ticket that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTicket {
    /// The data part, unescaped (the user id for login tickets); `None` if the ticket has none.
    pub data: Option<String>,
    /// Seconds between the ticket's timestamp and the verification time.
    pub age: i64,
}

fn escape_colons(data: &str) -> String {
    data.replace(':', "%3A")
}

/// Decodes every `%XX` sequence (as URI::Escape's `uri_unescape` does).
fn unescape(data: &str) -> String {
    percent_encoding::percent_decode_str(data)
        .decode_utf8_lossy()
        .into_owned()
}

fn signed_text(plain: &str, secret_data: Option<&str>) -> String {
    match secret_data {
        Some(s) => format!("{plain}:{s}"),
        None => plain.to_string(),
    }
}

/// Signs `text` with `key` under `scheme`.
pub fn sign<T: HasPrivate>(
    key: &PKeyRef<T>,
    text: &[u8],
    scheme: SignatureScheme,
) -> Result<Vec<u8>> {
    let e = Error::ssl;
    let mut signer = Signer::new(scheme.digest(), key).map_err(e("cannot sign ticket"))?;
    if scheme == SignatureScheme::PssSha256 {
        signer
            .set_rsa_padding(Padding::PKCS1_PSS)
            .and_then(|_| signer.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH))
            .and_then(|_| signer.set_rsa_mgf1_md(MessageDigest::sha256()))
            .map_err(e("cannot set up PSS"))?;
    }
    signer
        .sign_oneshot_to_vec(text)
        .map_err(e("cannot sign ticket"))
}

fn verify_sig<T: HasPublic>(
    key: &PKeyRef<T>,
    text: &[u8],
    sig: &[u8],
    scheme: SignatureScheme,
) -> bool {
    let Ok(mut v) = Verifier::new(scheme.digest(), key) else {
        return false;
    };
    if scheme == SignatureScheme::PssSha256
        && (v.set_rsa_padding(Padding::PKCS1_PSS).is_err()
            || v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).is_err()
            || v.set_rsa_mgf1_md(MessageDigest::sha256()).is_err())
    {
        return false;
    }
    v.verify_oneshot(sig, text).unwrap_or(false)
}

/// Makes a ticket `<prefix>:[<data>:]<TIME>::<SIG>` for time `now`.
pub fn assemble<T: HasPrivate>(
    key: &PKeyRef<T>,
    prefix: &str,
    data: Option<&str>,
    secret_data: Option<&str>,
    now: i64,
    scheme: SignatureScheme,
) -> Result<String> {
    let mut plain = format!("{prefix}:");
    if let Some(d) = data {
        plain.push_str(&escape_colons(d));
        plain.push(':');
    }
    plain.push_str(&format!("{:08X}", now));
    let sig = sign(key, signed_text(&plain, secret_data).as_bytes(), scheme)?;
    Ok(format!("{plain}::{}", STANDARD.encode(sig)))
}

/// A login ticket for `userid` (e.g. `root@pam`), signed with [`SignatureScheme::DEFAULT`].
pub fn assemble_login<T: HasPrivate>(key: &PKeyRef<T>, userid: &str, now: i64) -> Result<String> {
    assemble(
        key,
        LOGIN_PREFIX,
        Some(userid),
        None,
        now,
        SignatureScheme::DEFAULT,
    )
}

/// Parses and verifies a ticket; the age (now − timestamp) must lie strictly inside
/// `(min_age, max_age)`.
pub fn verify<T: HasPublic>(
    key: &PKeyRef<T>,
    prefix: &str,
    ticket: &str,
    secret_data: Option<&str>,
    (min_age, max_age): (i64, i64),
    now: i64,
    schemes: &[SignatureScheme],
) -> Result<VerifiedTicket, TicketError> {
    if ticket.chars().any(char::is_whitespace) {
        return Err(TicketError::Malformed);
    }
    let (plain, sig) = ticket.rsplit_once("::").ok_or(TicketError::Malformed)?;
    let rest = plain
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix(':'))
        .filter(|r| !r.is_empty())
        .ok_or(TicketError::Malformed)?;
    if sig.is_empty() || sig.contains(':') {
        return Err(TicketError::Malformed);
    }
    let sig = STANDARD
        .decode(sig)
        .map_err(|_| TicketError::BadSignature)?;
    let text = signed_text(plain, secret_data);
    if !schemes
        .iter()
        .any(|s| verify_sig(key, text.as_bytes(), &sig, *s))
    {
        return Err(TicketError::BadSignature);
    }
    let (data, time) = match rest.rsplit_once(':') {
        Some((d, t)) if !d.is_empty() => (Some(d), t),
        Some(_) => return Err(TicketError::Malformed),
        None => (None, rest),
    };
    let time_ok = time.len() == 8
        && time
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
    if !time_ok {
        return Err(TicketError::Malformed);
    }
    let ttime = i64::from_str_radix(time, 16).map_err(|_| TicketError::Malformed)?;
    let age = now - ttime;
    if age <= min_age {
        return Err(TicketError::NotYetValid { age });
    }
    if age >= max_age {
        return Err(TicketError::Expired { age });
    }
    Ok(VerifiedTicket {
        data: data.map(unescape),
        age,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_colons("a:b:c"), "a%3Ab%3Ac");
        assert_eq!(unescape("a%3Ab%3ac%41%"), "a:b:cA%");
        assert_eq!(unescape("%zz%4"), "%zz%4");
        assert_eq!(unescape(&escape_colons("x:%3A")), "x::");
    }
}
