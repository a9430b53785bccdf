use super::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::OnceLock;

use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509StoreContext, X509VerifyResult};

const NOW: i64 = 1_780_000_000; // 2026-05-28

/// One CA key for all tests (4096-bit generation is slow in debug builds).
fn ca_key_pem() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        new_rsa_key(CA_KEY_BITS)
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap()
    })
}

/// A temp `/etc/pve` with the shared CA key in place and a CA certificate made at `now`.
fn pve_with_ca(now: i64) -> (tempfile::TempDir, PveDir) {
    let dir = tempfile::tempdir().unwrap();
    let pve = PveDir::new(dir.path());
    fsutil::ensure_dir(&pve.priv_dir()).unwrap();
    fsutil::write_atomic(&pve.ca_key(), ca_key_pem(), 0o600).unwrap();
    assert!(
        gen_ca_at(&pve, false, now).unwrap(),
        "CA cert is missing, so it is made"
    );
    (dir, pve)
}

fn req(domain: Option<&str>) -> NodeCertRequest {
    NodeCertRequest {
        node: "pve1".into(),
        ip: "192.0.2.91".parse().unwrap(),
        domain: domain.map(String::from),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn entries(name: &openssl::x509::X509NameRef) -> Vec<(String, String)> {
    name.entries()
        .map(|e| {
            (
                e.object().nid().short_name().unwrap().to_string(),
                e.data().to_string().unwrap(),
            )
        })
        .collect()
}

fn unix(t: &openssl::asn1::Asn1TimeRef) -> i64 {
    let epoch = Asn1Time::from_unix(0).unwrap();
    let d = epoch.diff(t).unwrap();
    i64::from(d.days) * DAY + i64::from(d.secs)
}

fn openssl_cli() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok();
    if !ok {
        eprintln!("openssl CLI not installed: skipping its cross-check");
    }
    ok
}

#[test]
fn search_domain_takes_the_first_word_of_the_last_line() {
    assert_eq!(search_domain("nameserver 1.1.1.1\n"), None);
    assert_eq!(
        search_domain("search example.com other.org\nnameserver 1.1.1.1\n"),
        Some("example.com".into())
    );
    assert_eq!(
        search_domain("domain a.example\nsearch b.example c.example\n"),
        Some("b.example".into())
    );
    assert_eq!(search_domain("search\n"), None);
    assert_eq!(search_domain("#search x.y\n"), None);
}

#[test]
fn node_cert_days_follow_the_ca() {
    assert!(node_cert_days(13).is_err());
    assert!(node_cert_days(-5).is_err());
    assert_eq!(node_cert_days(14).unwrap(), 12);
    assert_eq!(node_cert_days(731).unwrap(), 729);
    assert_eq!(node_cert_days(732).unwrap(), 730);
    assert_eq!(node_cert_days(3649).unwrap(), 730);
    let msg = node_cert_days(1).unwrap_err().to_string();
    assert!(msg.starts_with("CA expires in less than 2 weeks"), "{msg}");
}

#[test]
fn san_and_fqdn() {
    assert_eq!(
        req(None).san_string(),
        "IP:127.0.0.1,IP:::1,DNS:localhost,IP:192.0.2.91,DNS:pve1"
    );
    let r = req(Some("example.com"));
    assert_eq!(r.fqdn(), "pve1.example.com");
    assert_eq!(
        r.san_string(),
        "IP:127.0.0.1,IP:::1,DNS:localhost,IP:192.0.2.91,DNS:pve1,DNS:pve1.example.com"
    );
}

#[test]
fn ca_has_the_original_subject_validity_and_extensions() {
    let (_d, pve) = pve_with_ca(NOW);
    let ca = read_cert(&pve.ca_cert()).unwrap();
    let subj = entries(ca.subject_name());
    assert_eq!(subj[0], ("CN".into(), "Proxmox Virtual Environment".into()));
    assert_eq!(subj[1].0, "OU");
    assert_eq!(subj[1].1.len(), 36, "a UUID: {}", subj[1].1);
    assert_eq!(subj[1].1.as_bytes()[14], b'4', "version 4 UUID");
    assert_eq!(subj[2], ("O".into(), "PVE Cluster Manager CA".into()));
    assert_eq!(entries(ca.issuer_name()), subj);
    assert_eq!(ca.version(), 2);
    assert_eq!(unix(ca.not_before()), NOW - DAY);
    assert_eq!(unix(ca.not_after()), NOW - DAY + 3650 * DAY);
    assert_eq!(ca.public_key().unwrap().bits(), 4096);
    assert_eq!(
        ca.signature_algorithm().object().nid(),
        Nid::SHA256WITHRSAENCRYPTION
    );
    assert!(ca.subject_key_id().is_some());
    assert_eq!(
        ca.authority_key_id().unwrap().as_slice(),
        ca.subject_key_id().unwrap().as_slice()
    );
    assert_eq!(mode(&pve.ca_key()), 0o600);

    if openssl_cli() {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(pve.ca_cert())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("X509v3 Basic Constraints: critical\n                CA:TRUE"),
            "{text}"
        );
        assert!(
            text.contains("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"),
            "{text}"
        );
    }
}

#[test]
fn node_cert_is_signed_by_the_ca_with_the_original_fields() {
    let (_d, pve) = pve_with_ca(NOW);
    assert!(gen_node_key(&pve, "pve1", false).unwrap());
    let r = req(Some("example.com"));
    assert!(gen_node_cert_at(&pve, &r, false, NOW).unwrap());

    let ca = read_cert(&pve.ca_cert()).unwrap();
    let cert = read_cert(&pve.node_cert("pve1")).unwrap();
    assert_eq!(mode(&pve.node_key("pve1")), 0o600);
    assert_eq!(cert.public_key().unwrap().bits(), 2048);
    assert_eq!(
        entries(cert.subject_name()),
        vec![
            ("OU".into(), "PVE Cluster Node".into()),
            ("O".into(), "Proxmox Virtual Environment".into()),
            ("CN".into(), "pve1.example.com".into()),
        ]
    );
    assert_eq!(entries(cert.issuer_name()), entries(ca.subject_name()));

    let sans: Vec<String> = cert
        .subject_alt_names()
        .unwrap()
        .iter()
        .map(|g| match (g.dnsname(), g.ipaddress()) {
            (Some(d), _) => format!("DNS:{d}"),
            (_, Some(ip)) if ip.len() == 4 => {
                format!("IP:{}", std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]))
            }
            (_, Some(ip)) => format!(
                "IP:{}",
                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(ip).unwrap())
            ),
            _ => "?".into(),
        })
        .collect();
    assert_eq!(
        sans,
        [
            "IP:127.0.0.1",
            "IP:::1",
            "DNS:localhost",
            "IP:192.0.2.91",
            "DNS:pve1",
            "DNS:pve1.example.com"
        ]
    );

    // CA made at NOW has 3649 whole days left at NOW → 3647 → capped at 730.
    assert_eq!(unix(cert.not_before()), NOW - DAY);
    assert_eq!(unix(cert.not_after()), NOW - DAY + 730 * DAY);
    assert_eq!(
        cert.serial_number()
            .to_bn()
            .unwrap()
            .to_dec_str()
            .unwrap()
            .to_string(),
        "1"
    );
    assert_eq!(std::fs::read_to_string(pve.ca_serial()).unwrap(), "01\n");
    assert_eq!(
        cert.authority_key_id().unwrap().as_slice(),
        ca.subject_key_id().unwrap().as_slice()
    );

    // chain verification with the library (time checks off: the test clock is fixed)
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(ca.clone()).unwrap();
    store
        .set_flags(openssl::x509::verify::X509VerifyFlags::NO_CHECK_TIME)
        .unwrap();
    let store = store.build();
    let chain = openssl::stack::Stack::new().unwrap();
    let mut ctx = X509StoreContext::new().unwrap();
    let (ok, err) = ctx
        .init(&store, &cert, &chain, |c| Ok((c.verify_cert()?, c.error())))
        .unwrap();
    assert!(ok, "{}", err.error_string());
    assert_eq!(err, X509VerifyResult::OK);

    if openssl_cli() {
        let out = Command::new("openssl")
            .args(["verify", "-no_check_time", "-CAfile"])
            .arg(pve.ca_cert())
            .arg(pve.node_cert("pve1"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(pve.node_cert("pve1"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
        assert!(text.contains("CA:FALSE"), "{text}");
    }
}

#[test]
fn existing_files_are_kept_unless_forced_and_the_serial_advances() {
    let (_d, pve) = pve_with_ca(NOW);
    let ca_before = std::fs::read(pve.ca_cert()).unwrap();
    assert!(!gen_ca_at(&pve, false, NOW).unwrap());
    assert_eq!(std::fs::read(pve.ca_cert()).unwrap(), ca_before);

    gen_node_key(&pve, "pve1", false).unwrap();
    let key_before = std::fs::read(pve.node_key("pve1")).unwrap();
    assert!(!gen_node_key(&pve, "pve1", false).unwrap());
    assert!(gen_node_cert_at(&pve, &req(None), false, NOW).unwrap());
    let cert_before = std::fs::read(pve.node_cert("pve1")).unwrap();
    assert!(!gen_node_cert_at(&pve, &req(None), false, NOW).unwrap());
    assert_eq!(std::fs::read(pve.node_cert("pve1")).unwrap(), cert_before);

    assert!(gen_node_cert_at(&pve, &req(None), true, NOW).unwrap());
    assert_ne!(std::fs::read(pve.node_cert("pve1")).unwrap(), cert_before);
    assert_eq!(std::fs::read(pve.node_key("pve1")).unwrap(), key_before);
    assert_eq!(std::fs::read_to_string(pve.ca_serial()).unwrap(), "02\n");
    let cert = read_cert(&pve.node_cert("pve1")).unwrap();
    assert_eq!(entries(cert.subject_name())[2].1, "pve1");
}

#[test]
fn serial_file_keeps_openssl_format() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("srl");
    std::fs::write(&p, "0F\n").unwrap();
    assert_eq!(
        next_serial(&p).unwrap().to_dec_str().unwrap().to_string(),
        "16"
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "10\n");
    std::fs::write(&p, "FF").unwrap();
    next_serial(&p).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "0100\n");
    std::fs::write(&p, "zz\n").unwrap();
    let msg = next_serial(&p).unwrap_err().to_string();
    assert!(msg.contains("invalid CA serial file"), "{msg}");
}

#[test]
fn refuses_when_the_ca_expires_soon() {
    let (_d, pve) = pve_with_ca(NOW);
    gen_node_key(&pve, "pve1", false).unwrap();
    // CA notAfter = NOW - 1d + 3650d; at NOW + 3639d there are 10 days left.
    let late = NOW + 3639 * DAY;
    let err = gen_node_cert_at(&pve, &req(None), false, late).unwrap_err();
    assert!(err.to_string().contains("less than 2 weeks"), "{err}");
    // 20 days left → 18-day certificate
    let t = NOW + 3629 * DAY;
    gen_node_cert_at(&pve, &req(None), false, t).unwrap();
    let cert = read_cert(&pve.node_cert("pve1")).unwrap();
    assert_eq!(unix(cert.not_after()) - unix(cert.not_before()), 18 * DAY);
}

#[test]
fn fingerprint_matches_the_openssl_cli_and_prefers_the_custom_cert() {
    let (_d, pve) = pve_with_ca(NOW);
    gen_node_key(&pve, "pve1", false).unwrap();
    gen_node_cert_at(&pve, &req(None), false, NOW).unwrap();
    let fp = node_fingerprint(&pve, "pve1").unwrap();
    assert!(is_valid_fingerprint(&fp), "{fp}");
    assert_eq!(fp, fp.to_ascii_uppercase());
    assert_eq!(fp.len(), 32 * 3 - 1);

    if openssl_cli() {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(pve.node_cert("pve1"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let cli = text.trim().split_once('=').unwrap().1;
        assert_eq!(fp, cli);
    }

    // a custom certificate wins
    std::fs::copy(pve.ca_cert(), pve.node_custom_cert("pve1")).unwrap();
    let custom = node_fingerprint(&pve, "pve1").unwrap();
    assert_eq!(
        custom,
        fingerprint_pem(&std::fs::read(pve.ca_cert()).unwrap()).unwrap()
    );
    assert_ne!(custom, fp);
}

#[test]
fn fingerprint_syntax() {
    let good = ["AB"; 32].join(":");
    assert!(is_valid_fingerprint(&good));
    assert!(is_valid_fingerprint(&good.to_lowercase()));
    assert_eq!(normalize_fingerprint(&good.to_lowercase()).unwrap(), good);
    assert!(!is_valid_fingerprint(&["AB"; 31].join(":")));
    assert!(!is_valid_fingerprint(&["AB"; 33].join(":")));
    assert!(!is_valid_fingerprint(&good.replace(':', "")));
    assert!(!is_valid_fingerprint(&good.replacen("AB", "GZ", 1)));
    assert!(!is_valid_fingerprint(&good.replacen("AB", "A", 1)));
    let msg = normalize_fingerprint("nope").unwrap_err().to_string();
    assert!(msg.contains("32 hex pairs"), "{msg}");
}

#[test]
fn forced_ca_replaces_key_and_cert() {
    let (_d, pve) = pve_with_ca(NOW);
    let old = read_cert(&pve.ca_cert()).unwrap();
    let old_key = std::fs::read(pve.ca_key()).unwrap();
    // a 4096-bit key is generated here; the one forced regeneration in the suite
    assert!(gen_ca_at(&pve, true, NOW).unwrap());
    assert_ne!(std::fs::read(pve.ca_key()).unwrap(), old_key);
    let new = read_cert(&pve.ca_cert()).unwrap();
    assert_ne!(fingerprint(&new).unwrap(), fingerprint(&old).unwrap());
    assert_eq!(new.public_key().unwrap().bits(), 4096);
}
