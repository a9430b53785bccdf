//! Issuing and checking login tickets and CSRF tokens with the cluster-wide keys.
//!
//! Keys are read from `/etc/pve` on every use, so a key rotated by another node (or a new
//! `pve-www.key`) is picked up at once. Before signing, a quorate node rotates the ticket key
//! pair when it is due ([`cluster::authkey::needs_rotation`]: missing, 24 h old, or from the
//! future) under the cluster lock `authkey`, as PVE does; without quorum the old key keeps
//! signing.

use std::path::Path;
use std::time::UNIX_EPOCH;

use cluster::authkey::{self, csrf, ticket, TicketError, VerifyKeys};
use cluster::PveDir;

use crate::cfs_lock;
use crate::error::{ApiError, ApiResult};
use crate::pmxcfs::is_quorate;

fn mtime(path: &Path) -> Option<i64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(m.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64)
}

fn rotation_due(pve: &PveDir, now: i64) -> bool {
    authkey::needs_rotation(
        now,
        mtime(&pve.authkey_pub()),
        mtime(&pve.authkey_pub_old()),
    )
}

/// Rotates the key pair if it is due and the cluster is quorate. Failures are logged: the
/// current key (if any) still signs.
fn rotate_if_due(pve: &PveDir, now: i64) {
    if !is_quorate(pve) || !rotation_due(pve, now) {
        return;
    }
    let done = cfs_lock::with_lock(pve, "authkey", cfs_lock::DEFAULT_TIMEOUT, || {
        // another node may have rotated while we waited
        if rotation_due(pve, cluster::unix_now()) {
            authkey::rotate_auth_key(pve).map(|()| true)
        } else {
            Ok(false)
        }
    });
    match done {
        Ok(Ok(true)) => tracing::info!("rotated the ticket signing key (authkey)"),
        Ok(Ok(false)) => {}
        Ok(Err(e)) => tracing::error!("cannot rotate the ticket signing key: {e}"),
        Err(e) => tracing::error!("cannot rotate the ticket signing key: {e}"),
    }
}

/// A login ticket for `userid` signed with the cluster key (blocking: may take the lock).
pub fn issue_ticket(pve: &PveDir, userid: &str, now: i64) -> ApiResult<String> {
    rotate_if_due(pve, now);
    let key = authkey::read_signing_key(pve)?;
    Ok(ticket::assemble_login(&key, userid, now)?)
}

/// Checks a login ticket and returns its user id. Half-authenticated (TFA) tickets are
/// refused.
pub fn verify_ticket(pve: &PveDir, ticket: &str, now: i64) -> Result<String, TicketError> {
    let keys = VerifyKeys::load(pve).map_err(|e| {
        tracing::error!("cannot load the ticket verification keys: {e}");
        TicketError::NoKey
    })?;
    let verified = keys.verify_login_ticket(ticket, now, is_quorate(pve))?;
    match verified.data {
        Some(user) if !user.starts_with("tfa!") && !user.starts_with("!tfa!") => Ok(user),
        _ => Err(TicketError::Malformed),
    }
}

fn csrf_secret(pve: &PveDir) -> ApiResult<String> {
    let path = pve.www_key();
    let key = std::fs::read(&path).map_err(|e| {
        ApiError::internal(format!("cannot read CSRF key '{}': {e}", path.display()))
    })?;
    Ok(csrf::secret(&key))
}

/// A CSRF prevention token for `userid`.
pub fn csrf_token(pve: &PveDir, userid: &str, now: i64) -> ApiResult<String> {
    Ok(csrf::token(&csrf_secret(pve)?, userid, now))
}

/// Whether `token` is a valid CSRF prevention token for `userid`.
pub fn verify_csrf(pve: &PveDir, userid: &str, token: &str, now: i64) -> bool {
    match csrf_secret(pve) {
        Ok(secret) => csrf::verify(&secret, userid, token, now).is_ok(),
        Err(e) => {
            tracing::error!("{}", e.message);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{File, FileTimes};
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, SystemTime};

    fn age_key(pve: &PveDir, secs: u64) {
        let t = SystemTime::now() - Duration::from_secs(secs);
        File::options()
            .write(true)
            .open(pve.authkey_pub())
            .unwrap()
            .set_times(FileTimes::new().set_modified(t).set_accessed(t))
            .unwrap();
    }

    fn setup(quorate: bool) -> (tempfile::TempDir, PveDir) {
        let dir = tempfile::tempdir().unwrap();
        let pve = PveDir::new(dir.path());
        authkey::gen_auth_key(&pve, false).unwrap();
        authkey::gen_www_key(&pve, false).unwrap();
        let local = dir.path().join("local");
        std::fs::create_dir(&local).unwrap();
        let mode = if quorate { 0o755 } else { 0o555 };
        std::fs::set_permissions(&local, std::fs::Permissions::from_mode(mode)).unwrap();
        (dir, pve)
    }

    #[test]
    fn an_overdue_key_is_rotated_under_the_lock_when_quorate() {
        let (_dir, pve) = setup(true);
        let before = std::fs::read(pve.authkey_pub()).unwrap();
        age_key(&pve, 25 * 3600);
        let now = cluster::unix_now();
        let t = issue_ticket(&pve, "root@pam", now).unwrap();
        assert_ne!(std::fs::read(pve.authkey_pub()).unwrap(), before);
        assert_eq!(std::fs::read(pve.authkey_pub_old()).unwrap(), before);
        assert!(!pve.priv_dir().join("lock/authkey").exists());
        assert_eq!(verify_ticket(&pve, &t, now).unwrap(), "root@pam");
        // a fresh key is left alone
        let current = std::fs::read(pve.authkey_pub()).unwrap();
        issue_ticket(&pve, "root@pam", now).unwrap();
        assert_eq!(std::fs::read(pve.authkey_pub()).unwrap(), current);
    }

    #[test]
    fn without_quorum_the_old_key_keeps_signing() {
        let (_dir, pve) = setup(false);
        let before = std::fs::read(pve.authkey_pub()).unwrap();
        age_key(&pve, 25 * 3600);
        let now = cluster::unix_now();
        let t = issue_ticket(&pve, "root@pam", now).unwrap();
        assert_eq!(std::fs::read(pve.authkey_pub()).unwrap(), before);
        assert_eq!(verify_ticket(&pve, &t, now).unwrap(), "root@pam");
    }

    #[test]
    fn csrf_round_trip_and_tfa_tickets() {
        let (_dir, pve) = setup(false);
        let now = cluster::unix_now();
        let token = csrf_token(&pve, "root@pam", now).unwrap();
        assert!(verify_csrf(&pve, "root@pam", &token, now));
        assert!(!verify_csrf(&pve, "alice@pam", &token, now));
        let key = authkey::read_signing_key(&pve).unwrap();
        let half = ticket::assemble_login(&key, "!tfa!abc", now).unwrap();
        assert!(verify_ticket(&pve, &half, now).is_err());
    }
}
