//! The API ticket key pair, the CSRF secret and the rules around them.
//!
//! Files (relative to `/etc/pve`): `priv/authkey.key` (RSA 2048, signs tickets),
//! `authkey.pub` (SPKI PEM, verifies them on every node), `authkey.pub.old` (the previous
//! public key after a rotation), `pve-www.key` (RSA 2048; its PEM text is the input of the
//! CSRF secret). The original creates the pair under the cluster lock `authkey`; callers of
//! [`gen_auth_key`] and [`rotate_auth_key`] hold it.
//!
//! Timing rules (pve-access-control): tickets and CSRF tokens are valid from 300 s before to
//! 2 h after their timestamp ([`AUTH_GRACE_PERIOD`], [`TICKET_LIFETIME`]); the key pair is
//! rotated every 24 h ([`AUTHKEY_LIFETIME`]) by the first node that signs a ticket after that;
//! [`ticket_age_range`] narrows the window by the key's age so a ticket can never predate its
//! key, and tickets of the rotated (old) key stay valid until they expire.
//!
//! Submodules: [`ticket`] (signed tickets), [`csrf`] (CSRF prevention tokens).

pub mod csrf;
pub mod ticket;

use std::path::Path;
use std::time::UNIX_EPOCH;

use openssl::pkey::{PKey, Private, Public};

use crate::certs::{gen_rsa_key_file, read_private_key};
use crate::{fsutil, Error, PveDir, Result};

pub use ticket::{SignatureScheme, TicketError, VerifiedTicket};

/// Size of the ticket key and of the CSRF key in bits.
pub const AUTHKEY_BITS: u32 = 2048;
/// How long a ticket or CSRF token is valid after its timestamp (2 h).
pub const TICKET_LIFETIME: i64 = 2 * 3600;
/// Allowed clock skew: a timestamp may lie this far in the future (5 min).
pub const AUTH_GRACE_PERIOD: i64 = 5 * 60;
/// Age after which the ticket key pair is rotated (24 h).
pub const AUTHKEY_LIFETIME: i64 = 24 * 3600;

/// Makes the ticket key pair if the private key is missing (or `force`). Returns whether a
/// new pair was written. The caller holds the cluster lock `authkey`.
pub fn gen_auth_key(pve: &PveDir, force: bool) -> Result<bool> {
    if !gen_rsa_key_file(&pve.authkey_key(), AUTHKEY_BITS, force)? {
        return Ok(false);
    }
    let key = read_private_key(&pve.authkey_key())?;
    write_public(&pve.authkey_pub(), &key)?;
    Ok(true)
}

/// Makes `pve-www.key` if it is missing (or `force`). Returns whether it was written.
pub fn gen_www_key(pve: &PveDir, force: bool) -> Result<bool> {
    gen_rsa_key_file(&pve.www_key(), AUTHKEY_BITS, force)
}

fn write_public(path: &Path, key: &PKey<impl openssl::pkey::HasPublic>) -> Result<()> {
    let pem = key
        .public_key_to_pem()
        .map_err(Error::ssl("cannot encode public key"))?;
    fsutil::ensure_parent(path)?;
    fsutil::write_atomic(path, &pem, 0o644)
}

/// Reads the ticket signing key.
pub fn read_signing_key(pve: &PveDir) -> Result<PKey<Private>> {
    read_private_key(&pve.authkey_key())
}

/// Reads a PEM public key (`authkey.pub`, `authkey.pub.old`).
pub fn read_public_key(path: &Path) -> Result<PKey<Public>> {
    let pem = fsutil::read(path)?;
    PKey::public_key_from_pem(&pem).map_err(Error::ssl(format!(
        "cannot parse public key '{}'",
        path.display()
    )))
}

fn mtime(path: &Path) -> Result<Option<i64>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot stat", path, e)),
    }
}

/// Whether the key pair must be rotated, given the modification times of `authkey.pub` and
/// `authkey.pub.old` (only checked while quorate; without quorum rotation is impossible):
/// missing, at least 24 h old, or made more than 5 min in the future — except when the old key
/// shows that a rotation just happened on a node whose clock is ahead.
pub fn needs_rotation(now: i64, pub_mtime: Option<i64>, old_mtime: Option<i64>) -> bool {
    let Some(mtime) = pub_mtime else {
        return true;
    };
    if now - mtime >= AUTHKEY_LIFETIME {
        return true;
    }
    if mtime > now + AUTH_GRACE_PERIOD {
        let recent_rotation =
            old_mtime.is_some_and(|old| mtime >= old && mtime - old < TICKET_LIFETIME);
        return !recent_rotation;
    }
    false
}

/// Rotates the ticket key pair: the current public key becomes `authkey.pub.old`, then a new
/// pair is written (public first). If the private key cannot be written both new files are
/// removed so the next signer regenerates them. The caller holds the cluster lock `authkey`.
pub fn rotate_auth_key(pve: &PveDir) -> Result<()> {
    let old = match fsutil::read_optional(&pve.authkey_pub())? {
        Some(pem) => {
            Some(PKey::public_key_from_pem(&pem).map_err(Error::ssl("cannot parse authkey.pub"))?)
        }
        None => None,
    };
    let rsa =
        openssl::rsa::Rsa::generate(AUTHKEY_BITS).map_err(Error::ssl("cannot generate RSA key"))?;
    let new = PKey::from_rsa(rsa).map_err(Error::ssl("cannot wrap RSA key"))?;
    if let Some(old) = &old {
        write_public(&pve.authkey_pub_old(), old)?;
    }
    if let Err(e) = write_public(&pve.authkey_pub(), &new) {
        if let Some(old) = &old {
            write_public(&pve.authkey_pub(), old)?;
        }
        return Err(e);
    }
    let pem = new
        .private_key_to_pem_pkcs8()
        .map_err(Error::ssl("cannot encode key"))?;
    fsutil::ensure_dir(&pve.priv_dir())?;
    if let Err(e) = fsutil::write_atomic(&pve.authkey_key(), &pem, 0o600) {
        let _ = fsutil::remove_optional(&pve.authkey_pub());
        let _ = fsutil::remove_optional(&pve.authkey_key());
        return Err(e);
    }
    Ok(())
}

/// The open interval `(min, max)` of ticket ages (now − ticket time) accepted for a key whose
/// public file was modified at `key_mtime`; `None` when no ticket of that key can be valid.
/// `rotated` is true for `authkey.pub.old`. `quorate` matters only for keys overdue for
/// rotation (without quorum their lifetime is extended).
pub fn ticket_age_range(
    now: i64,
    key_mtime: i64,
    rotated: bool,
    quorate: bool,
) -> Option<(i64, i64)> {
    let key_age = (now - key_mtime).max(0);
    let mut min = -AUTH_GRACE_PERIOD;
    let mut max = TICKET_LIFETIME;
    if rotated {
        // no tickets may have been made with the old key after the rotation
        min = key_age - AUTH_GRACE_PERIOD;
    } else {
        if key_age > AUTHKEY_LIFETIME && quorate {
            min = key_age - AUTHKEY_LIFETIME;
        }
        if key_age < TICKET_LIFETIME {
            max = key_age + AUTH_GRACE_PERIOD;
        }
    }
    (min <= TICKET_LIFETIME).then_some((min, max))
}

/// The public keys a node verifies tickets with, and their modification times.
pub struct VerifyKeys {
    pub current: Option<(PKey<Public>, i64)>,
    pub old: Option<(PKey<Public>, i64)>,
}

impl VerifyKeys {
    /// Loads `authkey.pub` and `authkey.pub.old` (each optional).
    pub fn load(pve: &PveDir) -> Result<Self> {
        let load = |path: &Path| -> Result<Option<(PKey<Public>, i64)>> {
            match mtime(path)? {
                Some(t) => Ok(Some((read_public_key(path)?, t))),
                None => Ok(None),
            }
        };
        Ok(VerifyKeys {
            current: load(&pve.authkey_pub())?,
            old: load(&pve.authkey_pub_old())?,
        })
    }

    /// Verifies a login ticket (`PVE:<userid>:<time>::<sig>`) with the current key, then with
    /// the rotated one; returns its data (the user id, or a `tfa!…`/`!tfa!…` marker) and age.
    pub fn verify_login_ticket(
        &self,
        ticket: &str,
        now: i64,
        quorate: bool,
    ) -> Result<VerifiedTicket, TicketError> {
        let mut last = TicketError::NoKey;
        for (entry, rotated) in [(&self.current, false), (&self.old, true)] {
            let Some((key, mtime)) = entry else { continue };
            let Some((min, max)) = ticket_age_range(now, *mtime, rotated, quorate) else {
                continue;
            };
            match ticket::verify(
                key,
                ticket::LOGIN_PREFIX,
                ticket,
                None,
                (min, max),
                now,
                SignatureScheme::ACCEPTED,
            ) {
                Ok(v) => return Ok(v),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
