use super::files::*;
use super::known_hosts::{self, hashed_host_matches, host_rsa_key, node_known_hosts};
use super::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const K1: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC1 root@pve1";
const K2: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC2 root@pve2";
const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1 admin@laptop";
const HOSTKEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQHOST";

#[test]
fn sshd_config_gets_permit_root_login() {
    assert_eq!(permit_root_login("Port 22\nPermitRootLogin yes\n"), None);
    assert_eq!(permit_root_login("PermitRootLogin   yes  \n"), None);
    assert_eq!(
        permit_root_login("Port 22\n#PermitRootLogin prohibit-password\nX 1\nPermitRootLogin no\n")
            .unwrap(),
        "Port 22\nPermitRootLogin yes\nX 1\nPermitRootLogin no\n"
    );
    assert_eq!(
        permit_root_login("Port 22\n").unwrap(),
        "Port 22\nPermitRootLogin yes\n"
    );
    assert_eq!(
        permit_root_login("Port 22").unwrap(),
        "Port 22\nPermitRootLogin yes\n"
    );
    // an indented (Match block) setting does not count and is not touched
    assert_eq!(
        permit_root_login("Match User x\n  PermitRootLogin yes\n").unwrap(),
        "Match User x\n  PermitRootLogin yes\nPermitRootLogin yes\n"
    );
}

#[test]
fn key_blobs() {
    assert_eq!(
        authorized_key_blob(K1),
        Some("AAAAB3NzaC1yc2EAAAADAQABAAABAQC1")
    );
    assert_eq!(
        authorized_key_blob("from=\"10.0.0.1\" ssh-ed25519 AAAAX"),
        Some("AAAAX")
    );
    assert_eq!(
        authorized_key_blob("ecdsa-sha2-nistp256 AAAAE c"),
        Some("AAAAE")
    );
    assert_eq!(authorized_key_blob("# ssh-rsa AAAA comment"), None);
    assert_eq!(authorized_key_blob("garbage"), None);
}

#[test]
fn authorized_keys_merge_drops_later_duplicates_and_keeps_other_lines() {
    let cluster = format!("# cluster keys\n{K1}\n\n{K2}\n");
    let backup = format!("{ED}\n{K1} (old comment)\n");
    let own = format!("{K2}\n");
    let merged = merge_authorized_keys(Some(&cluster), Some(&backup), Some(&own));
    assert_eq!(merged, format!("# cluster keys\n{K1}\n{K2}\n{ED}\n"));
    // idempotent
    assert_eq!(
        merge_authorized_keys(Some(&merged), None, Some(&own)),
        merged
    );
    // nothing at all → empty file
    assert_eq!(merge_authorized_keys(None, None, None), "");
    // own key appended to an empty list
    assert_eq!(
        merge_authorized_keys(Some(""), None, Some(K1)),
        format!("{K1}\n")
    );

    let removed = remove_authorized_key(&merged, "AAAAB3NzaC1yc2EAAAADAQABAAABAQC2");
    assert_eq!(removed, format!("# cluster keys\n{K1}\n{ED}\n"));
}

#[test]
fn host_key_parsing() {
    assert_eq!(
        host_rsa_key(&format!("\n{HOSTKEY} root@pve1\n")).as_deref(),
        Some(HOSTKEY)
    );
    assert_eq!(host_rsa_key("ssh-ed25519 AAAA x\n"), None);
    assert_eq!(node_known_hosts("pve1", HOSTKEY), format!("pve1 {HOSTKEY}"));
}

/// `|1|salt|hmac` made like ssh does.
fn hashed(name: &str) -> String {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let salt = [7u8; 20];
    let mac = crate::crypto::hmac(openssl::hash::MessageDigest::sha1(), &salt, name.as_bytes());
    format!("|1|{}|{}", STANDARD.encode(salt), STANDARD.encode(mac))
}

#[test]
fn hashed_entries_match_like_ssh_keygen() {
    assert!(hashed_host_matches(&hashed("pve1"), "pve1"));
    assert!(!hashed_host_matches(&hashed("pve1"), "pve2"));
    assert!(!hashed_host_matches("|1|!!|x", "pve1"));
    assert!(!hashed_host_matches("pve1", "pve1"));

    // cross-check with ssh-keygen -H when available
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("kh");
    fs::write(&f, format!("pve9 {HOSTKEY}\n")).unwrap();
    match Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&f)
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = fs::read_to_string(&f).unwrap();
            let field = text.split_whitespace().next().unwrap();
            assert!(field.starts_with("|1|"), "{text}");
            assert!(hashed_host_matches(field, "pve9"));
            assert!(!hashed_host_matches(field, "pve1"));
        }
        _ => eprintln!("ssh-keygen not available: skipping the cross-check"),
    }
}

#[test]
fn known_hosts_merge() {
    let other = "pve2 ssh-rsa AAAAOTHER";
    let stale = "PVE1 ssh-rsa AAAASTALE";
    let cluster = format!("# comment\n{other}\n{stale}\npve3 ssh-ed25519 AAAAED\n\n{other} dup\n");
    let system = format!(
        "{} {HOSTKEY}\n{} ssh-rsa AAAAOLD\n10.0.0.9 ssh-rsa AAAASYS\nx ssh-ed25519 AAAAE\n",
        hashed("pve1"),
        hashed("10.0.0.1")
    );
    let merged = known_hosts::merge(&cluster, Some(&system), "PVE1", "10.0.0.1", HOSTKEY);
    assert_eq!(
        merged,
        format!(
            "{other}\npve3 ssh-ed25519 AAAAED\n{} {HOSTKEY}\n10.0.0.9 ssh-rsa AAAASYS\n10.0.0.1 {HOSTKEY}\n",
            hashed("pve1")
        )
    );
    // merging again changes nothing
    assert_eq!(
        known_hosts::merge(&merged, None, "pve1", "10.0.0.1", HOSTKEY),
        merged
    );
    // empty start
    assert_eq!(
        known_hosts::merge("", None, "pve1", "10.0.0.1", HOSTKEY),
        format!("pve1 {HOSTKEY}\n10.0.0.1 {HOSTKEY}\n")
    );
}

#[test]
fn known_hosts_removal() {
    let text = format!(
        "pve1 {HOSTKEY}\n10.0.0.1,pve1,pve2 ssh-rsa AAAAB\n{} ssh-rsa AAAAC\n# pve1\npve3 ssh-rsa AAAAD\n",
        hashed("pve1")
    );
    assert_eq!(
        known_hosts::remove_hosts(&text, &["PVE1", "10.0.0.1"]),
        "pve2 ssh-rsa AAAAB\n# pve1\npve3 ssh-rsa AAAAD\n"
    );
}

fn mode(p: &std::path::Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

fn fake_host(dir: &std::path::Path) -> SshPaths {
    let paths = SshPaths::under(dir);
    fs::create_dir_all(paths.host_rsa_pub.parent().unwrap()).unwrap();
    fs::write(&paths.host_rsa_pub, format!("{HOSTKEY} root@pve1\n")).unwrap();
    fs::write(&paths.sshd_config, "#PermitRootLogin prohibit-password\n").unwrap();
    paths
}

#[test]
fn files_authorized_keys_symlink_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let paths = fake_host(dir.path());
    fs::create_dir_all(&paths.root_ssh_dir).unwrap();
    fs::write(paths.root_authorized_keys(), format!("{ED}\n")).unwrap();
    fs::write(paths.id_rsa_pub(), format!("{K1}\n")).unwrap();

    let warnings = setup_ssh_keys(&paths).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let root = paths.root_authorized_keys();
    assert!(fs::symlink_metadata(&root)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_link(&root).unwrap(), paths.pve.authorized_keys());
    assert_eq!(fs::read_to_string(&root).unwrap(), format!("{ED}\n"));
    assert_eq!(mode(&paths.pve.authorized_keys()), 0o400);
    assert!(
        !paths.root_authorized_keys_backup().exists(),
        "import confirmed"
    );

    ssh_merge_keys(&paths).unwrap();
    assert_eq!(
        fs::read_to_string(paths.pve.authorized_keys()).unwrap(),
        format!("{ED}\n{K1}\n")
    );
    // running everything again is stable
    assert!(setup_ssh_keys(&paths).unwrap().is_empty());
    ssh_merge_keys(&paths).unwrap();
    assert_eq!(fs::read_to_string(&root).unwrap(), format!("{ED}\n{K1}\n"));
}

#[test]
fn files_existing_cluster_keys_keep_the_backup_until_merged() {
    let dir = tempfile::tempdir().unwrap();
    let paths = fake_host(dir.path());
    fs::create_dir_all(&paths.root_ssh_dir).unwrap();
    fs::create_dir_all(paths.pve.priv_dir()).unwrap();
    fs::write(paths.pve.authorized_keys(), format!("{K2}\n")).unwrap();
    fs::write(paths.root_authorized_keys(), format!("{ED}\n")).unwrap();
    setup_ssh_keys(&paths).unwrap();
    assert!(paths.root_authorized_keys_backup().exists());
    ssh_merge_keys(&paths).unwrap();
    assert!(!paths.root_authorized_keys_backup().exists());
    assert_eq!(
        fs::read_to_string(paths.pve.authorized_keys()).unwrap(),
        format!("{K2}\n{ED}\n")
    );
}

#[test]
fn files_known_hosts_link_unmerge_and_node_file() {
    let dir = tempfile::tempdir().unwrap();
    let paths = fake_host(dir.path());
    fs::write(&paths.system_known_hosts, "10.0.0.9 ssh-rsa AAAASYS\n").unwrap();

    ssh_merge_known_hosts(&paths, "pve1", "10.0.0.1", true).unwrap();
    let cluster = fs::read_to_string(paths.pve.known_hosts()).unwrap();
    assert_eq!(
        cluster,
        format!("10.0.0.9 ssh-rsa AAAASYS\npve1 {HOSTKEY}\n10.0.0.1 {HOSTKEY}\n")
    );
    assert_eq!(mode(&paths.pve.known_hosts()), 0o600);
    assert_eq!(
        fs::read_link(&paths.system_known_hosts).unwrap(),
        paths.pve.known_hosts()
    );

    assert!(ssh_unmerge_known_hosts(&paths).unwrap());
    let meta = fs::symlink_metadata(&paths.system_known_hosts).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(
        fs::read_to_string(&paths.system_known_hosts).unwrap(),
        cluster
    );
    assert!(
        !ssh_unmerge_known_hosts(&paths).unwrap(),
        "nothing to do twice"
    );

    ssh_create_node_known_hosts(&paths, "pve1").unwrap();
    assert_eq!(
        fs::read_to_string(paths.pve.node_ssh_known_hosts("pve1")).unwrap(),
        format!("pve1 {HOSTKEY}")
    );
}

#[test]
fn files_sshd_config() {
    let dir = tempfile::tempdir().unwrap();
    let paths = fake_host(dir.path());
    assert!(setup_sshd_config(&paths).unwrap());
    assert_eq!(
        fs::read_to_string(&paths.sshd_config).unwrap(),
        "PermitRootLogin yes\n"
    );
    assert!(!setup_sshd_config(&paths).unwrap());
}

#[test]
fn files_root_key_and_config_with_ssh_keygen() {
    if Command::new("ssh-keygen").arg("-?").output().is_err() {
        eprintln!("ssh-keygen not installed: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let paths = fake_host(dir.path());
    assert!(setup_root_ssh_config(&paths).unwrap());
    let public = fs::read_to_string(paths.id_rsa_pub()).unwrap();
    assert!(public.starts_with("ssh-rsa "), "{public}");
    assert_eq!(mode(&paths.id_rsa()), 0o600);
    assert_eq!(
        fs::read_to_string(paths.root_config()).unwrap(),
        ROOT_SSH_CONFIG
    );
    assert_eq!(mode(&paths.root_config()), 0o640);
    let out = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(paths.id_rsa_pub())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("4096 "));

    // nothing is replaced on a second run; a lost public half is derived again
    assert!(!setup_root_ssh_config(&paths).unwrap());
    fs::remove_file(paths.id_rsa_pub()).unwrap();
    assert!(!setup_root_ssh_config(&paths).unwrap());
    let again = fs::read_to_string(paths.id_rsa_pub()).unwrap();
    assert_eq!(
        again.split_whitespace().nth(1),
        public.split_whitespace().nth(1)
    );
}
