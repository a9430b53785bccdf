use super::*;

const USER_CFG: &str = "user:root@pam:1:0:::root@localhost::\n\
                        token:root@pam!old:0:0:before:\n\
                        user:alice@pam:1:0::::::\n\
                        acl:1:/:root@pam:Administrator:\n";

#[test]
fn header_forms() {
    assert_eq!(
        parse_header("PVEAPIToken=root@pam!ci=0b2c-11"),
        Some(("root@pam!ci".into(), "0b2c-11".into()))
    );
    assert_eq!(
        parse_header("PVEAPIToken root@pam!ci=abc"),
        Some(("root@pam!ci".into(), "abc".into()))
    );
    for bad in [
        "PVEAuthCookie=x",
        "PVEAPIToken=root@pam=abc",
        "PVEAPIToken=root@pam!1x=abc",
        "PVEAPIToken=root@pam!ci=",
        "PVEAPIToken=nouser!ci=abc",
    ] {
        assert_eq!(parse_header(bad), None, "{bad}");
    }
}

#[test]
fn token_ids() {
    for ok in ["ci", "ci-2", "a.b_c", "T1"] {
        assert!(valid_tokenid(ok), "{ok}");
    }
    for bad in ["", "c", "1ci", "c i", "c:i", "c/i", &"x".repeat(65)] {
        assert!(!valid_tokenid(bad), "{bad}");
    }
}

#[test]
fn user_cfg_edits_keep_everything_else() {
    assert_eq!(
        tokens_in(USER_CFG),
        vec![TokenInfo {
            full_id: "root@pam!old".into(),
            expire: 0,
            privsep: false,
            comment: "before".into()
        }]
    );
    let new = TokenInfo {
        full_id: "alice@pam!ci".into(),
        expire: 1_900_000_000,
        privsep: true,
        comment: String::new(),
    };
    let added = with_token(USER_CFG, &new);
    assert_eq!(
        added,
        "user:root@pam:1:0:::root@localhost::\n\
         token:root@pam!old:0:0:before:\n\
         user:alice@pam:1:0::::::\n\
         token:alice@pam!ci:1900000000:1::\n\
         acl:1:/:root@pam:Administrator:\n"
    );
    assert_eq!(tokens_in(&added)[1], new);
    assert_eq!(without_token(&added, "alice@pam!ci"), USER_CFG);
    let orphan = TokenInfo {
        full_id: "bob@pve!x1".into(),
        ..new.clone()
    };
    assert!(with_token("", &orphan).ends_with("token:bob@pve!x1:1900000000:1::\n"));
}

#[test]
fn secrets_file_edits() {
    let cfg = with_secret("root@pam!old 1111\n", "root@pam!ci", Some("2222"));
    assert_eq!(cfg, "root@pam!old 1111\nroot@pam!ci 2222\n");
    assert_eq!(
        with_secret(&cfg, "root@pam!ci", Some("3333")),
        "root@pam!old 1111\nroot@pam!ci 3333\n"
    );
    assert_eq!(
        with_secret(&cfg, "root@pam!ci", None),
        "root@pam!old 1111\n"
    );
}

#[test]
fn verification_checks_secret_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let pve = PveDir::new(dir.path());
    std::fs::create_dir(dir.path().join("priv")).unwrap();
    std::fs::write(
        user_cfg_path(&pve),
        "token:root@pam!ci:0:0::\ntoken:root@pam!old:1000:1::\n",
    )
    .unwrap();
    std::fs::write(
        token_cfg_path(&pve),
        "root@pam!ci 6f1c-aa\nroot@pam!old 77\n",
    )
    .unwrap();
    let t = verify(&pve, "root@pam!ci", "6f1c-aa", 5000).unwrap();
    assert!(!t.privsep);
    assert!(verify(&pve, "root@pam!ci", "6f1c-ab", 5000)
        .unwrap_err()
        .contains("invalid secret"));
    assert!(verify(&pve, "root@pam!ci", "6f1c-aa0", 5000).is_err());
    assert!(verify(&pve, "root@pam!old", "77", 5000)
        .unwrap_err()
        .contains("expired"));
    verify(&pve, "root@pam!old", "77", 999).unwrap();
    assert!(verify(&pve, "root@pam!none", "77", 0)
        .unwrap_err()
        .contains("no such token"));
}

#[test]
fn secrets_are_version_4_uuids() {
    let a = new_secret().unwrap();
    let b = new_secret().unwrap();
    assert_ne!(a, b);
    let parts: Vec<usize> = a.split('-').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12], "{a}");
    assert_eq!(&a[14..15], "4", "{a}");
    assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
}
