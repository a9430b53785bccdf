//! `pvecm status`, `nodes`, `expected` and `keygen` on a real cluster.

use std::time::Duration;

use quorate_e2e::{text, wait_for, Lab};

fn stdout(lab: &Lab, node: &str, cmd: &[&str]) -> (String, Option<i32>) {
    let out = lab.exec(node, cmd);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

/// What `pvecm status` prints before the quorum part, from the lab's corosync.conf.
const CLUSTER_BLOCK: &str = "Cluster information\n-------------------\nName:             lab\n\
Config Version:   1\nTransport:        knet\nSecure auth:      on\n\n";

/// Runs both commands until they agree on the clock's second (the Date line); returns both,
/// ours without Proxmox's "Cluster information" block (which it checks).
fn same_moment(lab: &Lab, node: &str, ours: &[&str], theirs: &[&str]) -> (String, String) {
    for _ in 0..5 {
        let (a, _) = stdout(lab, node, ours);
        let (b, _) = stdout(lab, node, theirs);
        let a = match a.strip_prefix(CLUSTER_BLOCK) {
            Some(rest) => rest.to_string(),
            None if a.starts_with("Cluster information") => {
                panic!("unexpected cluster block:\n{a}")
            }
            None => a,
        };
        if a == b {
            return (a, b);
        }
        let date = |s: &str| {
            s.lines()
                .find(|l| l.starts_with("Date:"))
                .map(str::to_string)
        };
        if date(&a) == date(&b) {
            return (a, b);
        }
    }
    panic!("the clock kept moving between the two commands");
}

#[test]
fn status_and_nodes_match_corosync_quorumtool_byte_for_byte() {
    let lab = Lab::up("e2e_pvecm", &["--nodes", "3", "--corosync"]);
    // The original refuses to run without /etc/pve.
    let out = lab.exec("node2", &["pvecm", "status"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("pve configuration filesystem (pmxcfs) not mounted"));

    for node in ["node2", "node3"] {
        lab.ctl_ok(&["start", node, "pmxcfs"]);
        wait_for(Duration::from_secs(15), "pmxcfs", || {
            lab.exec(node, &["test", "-L", "/etc/pve/local"])
                .status
                .success()
        });
    }
    let (ours, theirs) = same_moment(
        &lab,
        "node2",
        &["pvecm", "status"],
        &["corosync-quorumtool", "-siH"],
    );
    assert_eq!(ours, theirs);
    assert!(
        ours.contains("0x00000002          1 10.99.0.2 (local)\n"),
        "{ours}"
    );
    let (ours, theirs) = same_moment(
        &lab,
        "node2",
        &["pvecm", "nodes"],
        &["corosync-quorumtool", "-l"],
    );
    assert_eq!(ours, theirs);

    let (json, code) = stdout(
        &lab,
        "node2",
        &["pvecm", "status", "--output-format", "json"],
    );
    assert_eq!(code, Some(0));
    let doc: serde_json::Value = serde_json::from_str(&json).expect("status JSON parses");
    assert_eq!(doc["quorum"]["quorate"], true);
    assert_eq!(doc["members"].as_array().unwrap().len(), 3);
    let (json, _) = stdout(
        &lab,
        "node2",
        &["pvecm", "nodes", "--output-format", "json"],
    );
    serde_json::from_str::<serde_json::Value>(&json).expect("nodes JSON parses");

    // A cut node is not quorate (exit 2) until it is told to expect fewer votes.
    lab.ctl_ok(&["cut", "node3"]);
    wait_for(Duration::from_secs(20), "node3 to lose quorum", || {
        stdout(&lab, "node3", &["pvecm", "status"]).1 == Some(2)
    });
    let (ours, theirs) = same_moment(
        &lab,
        "node3",
        &["pvecm", "status"],
        &["corosync-quorumtool", "-siH"],
    );
    assert_eq!(ours, theirs);
    assert!(ours.contains("Activity blocked"), "{ours}");
    let out = lab.exec("node3", &["pvecm", "expected", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stdout(&lab, "node3", &["pvecm", "status"]).1, Some(0));
    // An impossible value is refused by corosync, as `corosync-quorumtool -e` reports it.
    let out = lab.exec("node2", &["pvecm", "expected", "9"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Unable to set expected votes: CS_ERR_INVALID_PARAM"));
    let out = lab.exec("node2", &["pvecm", "expected", "0"]);
    assert!(!out.status.success());
}

#[test]
fn keygen_and_apiver() {
    let lab = Lab::up("e2e_keygen", &["--nodes", "1"]);
    lab.ctl_ok(&["start", "node1", "pmxcfs"]);
    wait_for(Duration::from_secs(15), "pmxcfs", || {
        lab.exec("node1", &["test", "-L", "/etc/pve/local"])
            .status
            .success()
    });
    assert_eq!(stdout(&lab, "node1", &["pvecm", "apiver"]).0, "1\n");
    let out = lab.exec("node1", &["pvecm", "keygen", "/root/keys/authkey"]);
    assert!(out.status.success(), "{}", text(&out));
    let (mode, _) = stdout(
        &lab,
        "node1",
        &["stat", "-c", "%a %s", "/root/keys/authkey"],
    );
    assert_eq!(mode, "400 256\n");
    let out = lab.exec("node1", &["pvecm", "keygen", "/root/keys/authkey"]);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("key file '/root/keys/authkey' already exists"));
}
