use super::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::OnceLock;

use openssl::rsa::Rsa;

const NOW: i64 = 1_780_000_000;
const WIDE: (i64, i64) = (-AUTH_GRACE_PERIOD, TICKET_LIFETIME);

fn key() -> &'static PKey<Private> {
    static K: OnceLock<PKey<Private>> = OnceLock::new();
    K.get_or_init(|| PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap())
}

fn public(k: &PKey<Private>) -> PKey<Public> {
    PKey::public_key_from_pem(&k.public_key_to_pem().unwrap()).unwrap()
}

fn verify_login(pubkey: &PKey<Public>, t: &str, now: i64) -> Result<VerifiedTicket, TicketError> {
    ticket::verify(
        pubkey,
        ticket::LOGIN_PREFIX,
        t,
        None,
        WIDE,
        now,
        SignatureScheme::ACCEPTED,
    )
}

#[test]
fn login_ticket_format_and_round_trip() {
    let t = ticket::assemble_login(key(), "root@pam", NOW).unwrap();
    let (plain, sig) = t.split_once("::").unwrap();
    assert_eq!(plain, "PVE:root@pam:6A18A500");
    assert_eq!(sig.len(), 344, "base64 of a 256-byte signature: {sig}");
    assert!(sig.ends_with('='));
    let v = verify_login(&public(key()), &t, NOW + 10).unwrap();
    assert_eq!(v.data.as_deref(), Some("root@pam"));
    assert_eq!(v.age, 10);
}

#[test]
fn ticket_window_is_strict() {
    let p = public(key());
    let t = ticket::assemble_login(key(), "root@pam", NOW).unwrap();
    verify_login(&p, &t, NOW + 7199).unwrap();
    verify_login(&p, &t, NOW - 299).unwrap();
    assert_eq!(
        verify_login(&p, &t, NOW + 7200),
        Err(TicketError::Expired { age: 7200 })
    );
    assert_eq!(
        verify_login(&p, &t, NOW - 300),
        Err(TicketError::NotYetValid { age: -300 })
    );
}

#[test]
fn tampering_and_wrong_keys_are_refused() {
    let p = public(key());
    let t = ticket::assemble_login(key(), "root@pam", NOW).unwrap();
    let other_user = t.replacen("root@pam", "evil@pam", 1);
    assert_eq!(
        verify_login(&p, &other_user, NOW),
        Err(TicketError::BadSignature)
    );
    let other_time = t.replacen("6A18A500", "6A18A600", 1);
    assert_eq!(
        verify_login(&p, &other_time, NOW),
        Err(TicketError::BadSignature)
    );
    let other_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    assert_eq!(
        verify_login(&public(&other_key), &t, NOW),
        Err(TicketError::BadSignature)
    );
    let mut sig_flip = t.clone().into_bytes();
    let i = sig_flip.len() - 10;
    sig_flip[i] = if sig_flip[i] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        verify_login(&p, &String::from_utf8(sig_flip).unwrap(), NOW),
        Err(TicketError::BadSignature)
    );
    let wrong_prefix = t.replacen("PVE:", "PVEVNC:", 1);
    assert_eq!(
        verify_login(&p, &wrong_prefix, NOW),
        Err(TicketError::Malformed)
    );
    for bad in [
        "",
        "PVE:",
        "PVE:root@pam:6A18A500",
        "PVE:::abc",
        "PVE:x y:6A18A500::abc",
    ] {
        assert_eq!(
            verify_login(&p, bad, NOW),
            Err(TicketError::Malformed),
            "{bad}"
        );
    }
}

#[test]
fn data_escaping_secret_data_and_lowercase_time() {
    let p = public(key());
    let t = ticket::assemble(
        key(),
        "PVE",
        Some("tfa!a:b"),
        None,
        NOW,
        SignatureScheme::DEFAULT,
    )
    .unwrap();
    assert!(t.starts_with("PVE:tfa!a%3Ab:6A18A500::"), "{t}");
    assert_eq!(
        verify_login(&p, &t, NOW).unwrap().data.as_deref(),
        Some("tfa!a:b")
    );

    let vnc = ticket::assemble(
        key(),
        "PVEVNC",
        None,
        Some("root@pam:/vms/100"),
        NOW,
        SignatureScheme::DEFAULT,
    )
    .unwrap();
    assert!(vnc.starts_with("PVEVNC:6A18A500::"), "{vnc}");
    let check = |secret: &str| {
        ticket::verify(
            &p,
            "PVEVNC",
            &vnc,
            Some(secret),
            (-20, 40),
            NOW,
            SignatureScheme::ACCEPTED,
        )
    };
    assert_eq!(check("root@pam:/vms/100").unwrap().data, None);
    assert_eq!(check("root@pam:/vms/101"), Err(TicketError::BadSignature));
}

#[test]
fn every_scheme_round_trips_and_schemes_are_distinct() {
    let p = public(key());
    for scheme in SignatureScheme::ACCEPTED {
        let t = ticket::assemble(key(), "PVE", Some("root@pam"), None, NOW, *scheme).unwrap();
        verify_login(&p, &t, NOW).unwrap();
        for other in SignatureScheme::ACCEPTED.iter().filter(|s| *s != scheme) {
            assert_eq!(
                ticket::verify(&p, "PVE", &t, None, WIDE, NOW, &[*other]),
                Err(TicketError::BadSignature),
                "{scheme:?} signature accepted as {other:?}"
            );
        }
    }
}

fn perl_rsa() -> bool {
    let ok = Command::new("perl")
        .args(["-MCrypt::OpenSSL::RSA", "-e", "1"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("perl Crypt::OpenSSL::RSA not installed: skipping the interop check");
    }
    ok
}

#[test]
fn interoperates_with_perl_crypt_openssl_rsa_defaults() {
    if !perl_rsa() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keyfile = dir.path().join("k.pem");
    std::fs::write(&keyfile, key().private_key_to_pem_pkcs8().unwrap()).unwrap();
    let ours = ticket::assemble_login(key(), "root@pam", NOW).unwrap();
    // Perl verifies our ticket and signs one of its own, the way PVE::Ticket does.
    let script = r#"
        use MIME::Base64;
        local $/; open(F, '<', $ARGV[0]) or die; my $pem = <F>;
        my $k = Crypt::OpenSSL::RSA->new_private_key($pem);
        my ($plain, $sig) = $ARGV[1] =~ m/^(PVE:\S+)::([^:\s]+)$/ or die "no match";
        print $k->verify($plain, decode_base64($sig)) ? "ok\n" : "bad\n";
        print 'PVE:perl@pve:6A18A500::' . encode_base64($k->sign('PVE:perl@pve:6A18A500'), '') . "\n";
    "#;
    let out = Command::new("perl")
        .args(["-MCrypt::OpenSSL::RSA", "-e", script])
        .arg(&keyfile)
        .arg(&ours)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("ok"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = lines.next().unwrap();
    let v = verify_login(&public(key()), theirs, NOW).unwrap();
    assert_eq!(v.data.as_deref(), Some("perl@pve"));
}

#[test]
fn age_ranges_follow_the_key_age() {
    // fresh key: nothing older than the key (+ grace) can exist
    assert_eq!(ticket_age_range(NOW, NOW, false, true), Some((-300, 300)));
    assert_eq!(
        ticket_age_range(NOW, NOW - 3600, false, true),
        Some((-300, 3900))
    );
    assert_eq!(
        ticket_age_range(NOW, NOW - 3 * 3600, false, true),
        Some((-300, 7200))
    );
    // key overdue for rotation: only tickets younger than the overdue time, unless inquorate
    assert_eq!(
        ticket_age_range(NOW, NOW - 25 * 3600, false, true),
        Some((3600, 7200))
    );
    assert_eq!(
        ticket_age_range(NOW, NOW - 25 * 3600, false, false),
        Some((-300, 7200))
    );
    assert_eq!(ticket_age_range(NOW, NOW - 27 * 3600, false, true), None);
    // rotated key: only tickets made before the rotation
    assert_eq!(
        ticket_age_range(NOW, NOW - 3600, true, true),
        Some((3300, 7200))
    );
    assert_eq!(ticket_age_range(NOW, NOW - 3 * 3600, true, true), None);
    // a key from the future counts as age 0
    assert_eq!(
        ticket_age_range(NOW, NOW + 100, false, true),
        Some((-300, 300))
    );
}

#[test]
fn rotation_rules() {
    assert!(needs_rotation(NOW, None, None));
    assert!(!needs_rotation(NOW, Some(NOW - 3600), None));
    assert!(needs_rotation(NOW, Some(NOW - AUTHKEY_LIFETIME), None));
    assert!(!needs_rotation(NOW, Some(NOW + 300), None));
    assert!(needs_rotation(NOW, Some(NOW + 301), None));
    // made in the future, but right after a rotation: leave it
    assert!(!needs_rotation(NOW, Some(NOW + 600), Some(NOW + 500)));
    assert!(needs_rotation(NOW, Some(NOW + 600), Some(NOW + 600 - 7200)));
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn key_files_are_made_once_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let pve = PveDir::new(dir.path());
    assert!(gen_auth_key(&pve, false).unwrap());
    assert!(!gen_auth_key(&pve, false).unwrap());
    assert_eq!(mode(&pve.authkey_key()), 0o600);
    let pub_pem = std::fs::read_to_string(pve.authkey_pub()).unwrap();
    assert!(
        pub_pem.starts_with("-----BEGIN PUBLIC KEY-----"),
        "{pub_pem}"
    );
    let signing = read_signing_key(&pve).unwrap();
    assert_eq!(signing.bits(), 2048);

    assert!(gen_www_key(&pve, false).unwrap());
    assert!(!gen_www_key(&pve, false).unwrap());
    assert_eq!(read_private_key(&pve.www_key()).unwrap().bits(), 2048);

    let now = crate::unix_now();
    let keys = VerifyKeys::load(&pve).unwrap();
    assert!(keys.old.is_none());
    let t = ticket::assemble_login(&signing, "root@pam", now).unwrap();
    assert_eq!(
        keys.verify_login_ticket(&t, now, true)
            .unwrap()
            .data
            .as_deref(),
        Some("root@pam")
    );

    rotate_auth_key(&pve).unwrap();
    assert_eq!(
        std::fs::read_to_string(pve.authkey_pub_old()).unwrap(),
        pub_pem
    );
    assert_ne!(std::fs::read_to_string(pve.authkey_pub()).unwrap(), pub_pem);
    let keys = VerifyKeys::load(&pve).unwrap();
    // a ticket of the old key made before the rotation is still accepted
    keys.verify_login_ticket(&t, now, true).unwrap();
    // the new private key matches the new public key
    let t2 = ticket::assemble_login(&read_signing_key(&pve).unwrap(), "a@pve", now).unwrap();
    keys.verify_login_ticket(&t2, now, true).unwrap();

    let empty = VerifyKeys {
        current: None,
        old: None,
    };
    assert_eq!(
        empty.verify_login_ticket(&t, now, true),
        Err(TicketError::NoKey)
    );
}
