//! CSRF prevention tokens (header `CSRFPreventionToken`), as pve-access-control makes them.
//!
//! * secret = unpadded base64 of HMAC-SHA256 **keyed with** the full text of
//!   `/etc/pve/pve-www.key` over an **empty message** (Perl's `hmac_sha256_base64($input)`:
//!   Digest::SHA takes the last argument as the key, so the only argument is the key);
//! * token = `<TIME>:<DIGEST>` with `<TIME>` the Unix time as 8 uppercase hex digits and
//!   `<DIGEST>` the unpadded base64 of HMAC-SHA256 keyed with the secret's text over
//!   `"<TIME>:<userid>"`;
//! * valid while −300 s < now − TIME < 7200 s, for the same user id.
//!
//! The original's 27-character "legacy" digests (SHA-1, before PVE 6) can no longer verify
//! there either, so they are not supported.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;

use super::{TicketError, AUTH_GRACE_PERIOD, TICKET_LIFETIME};

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    crate::crypto::hmac(openssl::hash::MessageDigest::sha256(), key, msg)
}

/// The CSRF secret derived from the content of `pve-www.key`.
pub fn secret(www_key: &[u8]) -> String {
    STANDARD_NO_PAD.encode(hmac_sha256(www_key, b""))
}

fn digest(secret: &str, time: &str, userid: &str) -> String {
    STANDARD_NO_PAD.encode(hmac_sha256(
        secret.as_bytes(),
        format!("{time}:{userid}").as_bytes(),
    ))
}

/// A token for `userid` at time `now`.
pub fn token(secret: &str, userid: &str, now: i64) -> String {
    let time = format!("{now:08X}");
    let d = digest(secret, &time, userid);
    format!("{time}:{d}")
}

/// Checks a token for `userid` at time `now`.
pub fn verify(secret: &str, userid: &str, token: &str, now: i64) -> Result<(), TicketError> {
    let (time, sig) = token.split_once(':').ok_or(TicketError::Malformed)?;
    let time_ok = time.len() == 8
        && time
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    if !time_ok || sig.is_empty() || sig.chars().any(char::is_whitespace) {
        return Err(TicketError::Malformed);
    }
    let expected = digest(secret, time, userid);
    if expected.len() != sig.len() || !openssl::memcmp::eq(expected.as_bytes(), sig.as_bytes()) {
        return Err(TicketError::BadSignature);
    }
    let ttime = i64::from_str_radix(time, 16).map_err(|_| TicketError::Malformed)?;
    let age = now - ttime;
    if age <= -AUTH_GRACE_PERIOD {
        return Err(TicketError::NotYetValid { age });
    }
    if age >= TICKET_LIFETIME {
        return Err(TicketError::Expired { age });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed with Perl's Digest::SHA (hmac_sha256_base64), as pve-access-control
    // does.
    const WWW_KEY: &str = "-----BEGIN PRIVATE KEY-----\nTEST\n-----END PRIVATE KEY-----\n";
    const SECRET: &str = "jDFxjekGAx2M2EQ6X4q3osOA0Eom+WqByXOqtFsU5BI";
    const NOW: i64 = 1_780_000_000;
    const TOKEN: &str = "6A18A500:QcviLGszp75xhtbAjilcVyEipIWeMEFhArp15s9qj6I";

    #[test]
    fn matches_the_perl_vectors() {
        assert_eq!(secret(WWW_KEY.as_bytes()), SECRET);
        assert_eq!(token(SECRET, "root@pam", NOW), TOKEN);
        verify(SECRET, "root@pam", TOKEN, NOW).unwrap();
    }

    #[test]
    fn window_user_and_tampering() {
        let t = token(SECRET, "root@pam", NOW);
        verify(SECRET, "root@pam", &t, NOW + 7199).unwrap();
        verify(SECRET, "root@pam", &t, NOW - 299).unwrap();
        assert!(matches!(
            verify(SECRET, "root@pam", &t, NOW + 7200),
            Err(TicketError::Expired { age: 7200 })
        ));
        assert!(matches!(
            verify(SECRET, "root@pam", &t, NOW - 300),
            Err(TicketError::NotYetValid { age: -300 })
        ));
        assert_eq!(
            verify(SECRET, "admin@pve", &t, NOW),
            Err(TicketError::BadSignature)
        );
        assert_eq!(
            verify("other", "root@pam", &t, NOW),
            Err(TicketError::BadSignature)
        );
        let later = t.replacen("6A18A500", "6A18A501", 1);
        assert_eq!(
            verify(SECRET, "root@pam", &later, NOW),
            Err(TicketError::BadSignature)
        );
        for bad in [
            "",
            "6A18A500",
            "6a18a500:x",
            "6A18A50:x",
            "6A18A500:",
            "6A18A500:a b",
        ] {
            assert_eq!(
                verify(SECRET, "root@pam", bad, NOW),
                Err(TicketError::Malformed),
                "{bad}"
            );
        }
    }
}
