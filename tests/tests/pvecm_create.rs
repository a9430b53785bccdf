//! `pvecm create` on a fresh node whose pmxcfs runs in local mode, and `pvecm updatecerts`.

use std::time::Duration;

use quorate_e2e::{text, wait_for, Lab};

fn sh(lab: &Lab, node: &str, script: &str) -> (String, String, Option<i32>) {
    let out = lab.exec(node, &["sh", "-c", script]);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

fn exists(lab: &Lab, path: &str) -> bool {
    lab.exec("node1", &["test", "-e", path]).status.success()
}

#[test]
fn create_a_one_node_cluster() {
    let lab = Lab::up("e2e_create", &["--nodes", "1"]);
    lab.ctl_ok(&["start", "node1", "pmxcfs"]);
    wait_for(Duration::from_secs(15), "pmxcfs", || {
        lab.exec("node1", &["test", "-L", "/etc/pve/local"])
            .status
            .success()
    });

    // bad input fails before anything is written
    for bad in ["sixteen-chars-xx", "demo.lan"] {
        let (_, err, code) = sh(&lab, "node1", &format!("pvecm create {bad}"));
        assert_eq!(code, Some(255), "{err}");
        assert!(
            err.contains(&format!("invalid cluster name '{bad}'")),
            "{err}"
        );
    }
    let (_, err, code) = sh(&lab, "node1", "pvecm create demo --link0 10.99.9.9");
    assert_eq!(code, Some(255), "{err}");
    assert!(err.contains("'10.99.9.9' is not configured"), "{err}");
    for path in [
        "/etc/corosync/authkey",
        "/etc/pve/corosync.conf",
        "/etc/corosync/corosync.conf",
    ] {
        assert!(!exists(&lab, path), "{path} left behind");
    }

    let out = lab.exec("node1", &["pvecm", "create", "demo"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Writing corosync config to /etc/pve/corosync.conf\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Restart corosync and cluster filesystem\n"),
        "{stdout}"
    );

    let (status, _, code) = sh(&lab, "node1", "pvecm status");
    assert_eq!(code, Some(0), "{status}");
    assert!(status.contains("Name:             demo\n"), "{status}");
    assert!(status.contains("Nodes:            1\n"), "{status}");
    assert!(status.contains("Quorate:          Yes\n"), "{status}");

    let (pve_conf, _, _) = sh(&lab, "node1", "cat /etc/pve/corosync.conf");
    let (local_conf, _, _) = sh(&lab, "node1", "cat /etc/corosync/corosync.conf");
    assert_eq!(pve_conf, local_conf);
    assert!(pve_conf.starts_with(
        "logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n  node {\n    name: node1\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.99.0.1\n  }\n}\n"
    ), "{pve_conf}");
    assert!(
        pve_conf.contains("  cluster_name: demo\n  config_version: 1\n"),
        "{pve_conf}"
    );
    assert!(
        pve_conf.contains("  token_coefficient: 125\n"),
        "{pve_conf}"
    );

    let (mode, _, _) = sh(
        &lab,
        "node1",
        "stat -c %a /etc/pve/priv/pve-root-ca.key /etc/corosync/authkey",
    );
    assert_eq!(mode, "600\n400\n");
    let (verify, err, code) = sh(
        &lab,
        "node1",
        "openssl verify -CAfile /etc/pve/pve-root-ca.pem /etc/pve/nodes/node1/pve-ssl.pem",
    );
    assert_eq!(code, Some(0), "{verify}{err}");
    assert!(lab.ctl(&["status", "node1", "corosync"]).status.success());

    // a second create changes nothing
    let (_, err, code) = sh(&lab, "node1", "pvecm create x");
    assert_eq!(code, Some(255));
    assert!(
        err.contains("cluster config '/etc/pve/corosync.conf' already exists"),
        "{err}"
    );
    assert_eq!(sh(&lab, "node1", "cat /etc/pve/corosync.conf").0, pve_conf);

    // updatecerts: keeps the certificate, --force renews it
    let (before, _, _) = sh(&lab, "node1", "md5sum < /etc/pve/nodes/node1/pve-ssl.pem");
    let (out, err, code) = sh(&lab, "node1", "pvecm updatecerts");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("(re)generate node files\nmerge authorized SSH keys\n"),
        "{out}"
    );
    assert_eq!(
        sh(&lab, "node1", "md5sum < /etc/pve/nodes/node1/pve-ssl.pem").0,
        before
    );
    assert!(exists(&lab, "/etc/pve/nodes/node1/ssh_known_hosts"));
    let (out, err, code) = sh(&lab, "node1", "pvecm updatecerts --force --silent");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert_ne!(
        sh(&lab, "node1", "md5sum < /etc/pve/nodes/node1/pve-ssl.pem").0,
        before
    );
}
