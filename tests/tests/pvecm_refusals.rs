//! `pvecm add` refusals from `assert_joinable` (spec §7.7 step 3) and the member's join info:
//! a node holding guests, a clashing `--nodeid`, a link address not on the node, a node name
//! already in the cluster. Each refusal
//! exits non-zero and changes nothing on either side. Then a real join, and `pvecm expected 1`
//! makes a cut-off node's /etc/pve writable again.

use std::time::Duration;

use quorate_e2e::{wait_for, Lab};

fn sh(lab: &Lab, node: &str, script: &str) -> (String, String, Option<i32>) {
    lab.sh(node, script)
}

fn cat(lab: &Lab, node: &str, path: &str) -> String {
    sh(lab, node, &format!("cat {path}")).0
}

/// Runs `pvecm add 10.99.0.1 --fingerprint FP EXTRA` on node2 with the password on stdin and
/// checks it is refused with `message` listed among the errors.
fn refused(lab: &Lab, fp: &str, extra: &str, message: &str) {
    let (stdout, err, code) = sh(
        lab,
        "node2",
        &format!("echo quorate | pvecm add 10.99.0.1 --fingerprint {fp} {extra}"),
    );
    assert_eq!(code, Some(255), "{extra}: stdout: {stdout}\nstderr: {err}");
    assert!(
        stdout.contains("detected the following error(s):"),
        "{extra}: stdout: {stdout}\nstderr: {err}"
    );
    let listed: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("* "))
        .collect();
    assert_eq!(
        listed,
        [message],
        "{extra}: stdout: {stdout}\nstderr: {err}"
    );
    assert!(
        err.contains("Check if node may join a cluster failed!"),
        "{extra}: {err}"
    );
    assert!(
        !stdout.contains("Request addition of this node"),
        "{stdout}"
    );
}

fn write_pve(lab: &Lab, node: &str, file: &str) -> (String, Option<i32>) {
    let (_, err, code) = sh(lab, node, &format!("echo data > /etc/pve/{file}"));
    (err, code)
}

#[test]
fn join_refusals_and_expected_votes() {
    let lab = Lab::up("e2e_refusals", &["--nodes", "3", "--daemons"]);
    let fp = lab.create_cluster("node1", "demo");
    let conf_before = cat(&lab, "node1", "/etc/pve/corosync.conf");
    assert!(conf_before.contains("cluster_name: demo"), "{conf_before}");

    let unchanged = |what: &str| lab.assert_not_joined("node1", &conf_before, "node2", what);
    unchanged("before any join");

    // (a) node2 holds a guest
    let (_, err, code) = sh(
        &lab,
        "node2",
        "mkdir -p /etc/pve/nodes/node2/qemu-server && \
         echo 'memory: 512' > /etc/pve/nodes/node2/qemu-server/100.conf",
    );
    assert_eq!(code, Some(0), "{err}");
    refused(&lab, &fp, "", "this host already contains virtual guests");
    unchanged("guest on node2");
    let (_, err, code) = sh(
        &lab,
        "node2",
        "rm /etc/pve/nodes/node2/qemu-server/100.conf",
    );
    assert_eq!(code, Some(0), "{err}");

    // (b) node id of an existing member
    refused(
        &lab,
        &fp,
        "--nodeid 1",
        "nodeid 1 is already used by cluster node 'node1'",
    );
    unchanged("nodeid clash");

    // (c) link address not configured on node2
    refused(
        &lab,
        &fp,
        "--link0 10.99.9.9",
        "link0: cannot use IP '10.99.9.9', not found on local node!",
    );
    unchanged("foreign link0 address");

    // (d) a name already in the cluster: node3 calls itself node1 for this attempt (its own
    // UTS namespace), so both the name and its address are refused
    let (stdout, err, code) = sh(
        &lab,
        "node3",
        &format!(
            "hostname node1; echo quorate | pvecm add 10.99.0.1 --fingerprint {fp} \
             --link0 10.99.0.3; rc=$?; hostname node3; exit $rc"
        ),
    );
    assert_eq!(code, Some(255), "stdout: {stdout}\nstderr: {err}");
    assert!(
        stdout.contains("* a node named 'node1' is already part of the cluster"),
        "stdout: {stdout}\nstderr: {err}"
    );
    assert!(
        !stdout.contains("Request addition of this node"),
        "{stdout}"
    );
    lab.assert_not_joined("node1", &conf_before, "node3", "duplicate name");

    // (e) the real join, then a cut: node2 loses quorum, `pvecm expected 1` restores writes
    let (stdout, err, code) = sh(
        &lab,
        "node2",
        &format!("echo quorate | pvecm add 10.99.0.1 --fingerprint {fp}"),
    );
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {err}");
    assert!(
        stdout.contains("successfully added node 'node2' to cluster."),
        "{stdout}"
    );
    wait_for(
        Duration::from_secs(60),
        "both nodes quorate with 2 members",
        || lab.has_quorum_with("node1", &[1, 2]) && lab.has_quorum_with("node2", &[1, 2]),
    );
    wait_for(
        Duration::from_secs(20),
        "/etc/pve writable on node2",
        || write_pve(&lab, "node2", "before-cut.txt").1 == Some(0),
    );

    lab.ctl_ok(&["cut", "node2"]);
    wait_for(Duration::from_secs(30), "node2 read-only", || {
        let (err, code) = write_pve(&lab, "node2", "during-cut.txt");
        code != Some(0) && err.contains("Permission denied")
    });
    let (stdout, err, code) = sh(&lab, "node2", "pvecm expected 1");
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {err}");
    wait_for(
        Duration::from_secs(20),
        "node2 writable after expected 1",
        || write_pve(&lab, "node2", "during-cut.txt").1 == Some(0),
    );
    assert_eq!(cat(&lab, "node2", "/etc/pve/during-cut.txt"), "data\n");

    lab.ctl_ok(&["heal", "node2"]);
    wait_for(
        Duration::from_secs(60),
        "both nodes quorate with 2 members after heal",
        || lab.has_quorum_with("node1", &[1, 2]) && lab.has_quorum_with("node2", &[1, 2]),
    );
}
