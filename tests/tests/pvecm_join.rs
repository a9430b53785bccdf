//! `pvecm add`: node2 joins node1's cluster through node1's API (password + fingerprint);
//! refusals (wrong password, wrong fingerprint, no --fingerprint without a terminal) change
//! nothing on either side.

use std::time::Duration;

use quorate_e2e::{wait_for, Lab};

fn sh(lab: &Lab, node: &str, script: &str) -> (String, String, Option<i32>) {
    lab.sh(node, script)
}

fn cat(lab: &Lab, node: &str, path: &str) -> String {
    sh(lab, node, &format!("cat {path}")).0
}

fn nodelist(status: &str) -> String {
    status
        .split("Membership information")
        .nth(1)
        .unwrap_or("")
        .lines()
        .filter(|l| l.trim_start().starts_with("0x"))
        .map(|l| l.replace("(local)", "").trim().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn join_a_node_with_password_and_fingerprint() {
    let lab = Lab::up("e2e_join", &["--nodes", "2", "--daemons"]);
    let fp = lab.create_cluster("node1", "demo");
    let conf_before = cat(&lab, "node1", "/etc/pve/corosync.conf");

    let unchanged = |what: &str| lab.assert_not_joined("node1", &conf_before, "node2", what);

    // no terminal and no fingerprint
    let (_, err, code) = sh(&lab, "node2", "echo quorate | pvecm add 10.99.0.1");
    assert_eq!(code, Some(255), "{err}");
    assert!(err.contains("--fingerprint"), "{err}");
    unchanged("no fingerprint");

    // wrong fingerprint
    let wrong = match fp.strip_prefix("00") {
        Some(rest) => format!("11{rest}"),
        None => format!("00{}", &fp[2..]),
    };
    let (_, err, code) = sh(
        &lab,
        "node2",
        &format!("echo quorate | pvecm add 10.99.0.1 --fingerprint {wrong}"),
    );
    assert_eq!(code, Some(255), "{err}");
    assert!(err.contains("fingerprint mismatch"), "{err}");
    assert!(err.contains(&fp), "{err}");
    unchanged("wrong fingerprint");

    // wrong password
    let (_, err, code) = sh(
        &lab,
        "node2",
        &format!("echo wrong | pvecm add 10.99.0.1 --fingerprint {fp}"),
    );
    assert_eq!(code, Some(255), "{err}");
    assert!(
        err.contains("login to '10.99.0.1' as root@pam failed"),
        "{err}"
    );
    unchanged("wrong password");

    // the real join
    let (stdout, err, code) = sh(
        &lab,
        "node2",
        &format!(
            "echo quorate | pvecm add 10.99.0.1 --fingerprint {}",
            fp.to_lowercase()
        ),
    );
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {err}");
    for line in [
        "Establishing API connection with host '10.99.0.1'",
        "Login succeeded.",
        "Request addition of this node",
        "Join request OK, finishing setup locally",
        "stopping pve-cluster service",
        "successfully added node 'node2' to cluster.",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }

    wait_for(
        Duration::from_secs(60),
        "both nodes quorate with 2 members",
        || lab.has_quorum_with("node1", &[1, 2]) && lab.has_quorum_with("node2", &[1, 2]),
    );
    let mut lists = Vec::new();
    for node in ["node1", "node2"] {
        let (status, _, code) = sh(&lab, node, "pvecm status");
        assert_eq!(code, Some(0), "{node}: {status}");
        assert!(status.contains("Nodes:            2\n"), "{node}: {status}");
        assert!(
            status.contains("Quorate:          Yes\n"),
            "{node}: {status}"
        );
        lists.push(nodelist(&status));
    }
    assert_eq!(lists[0], lists[1]);
    assert_eq!(lists[0].lines().count(), 2, "{}", lists[0]);

    let conf1 = cat(&lab, "node1", "/etc/pve/corosync.conf");
    assert!(
        conf1.contains(
            "    name: node2\n    nodeid: 2\n    quorum_votes: 1\n    ring0_addr: 10.99.0.2\n"
        ),
        "{conf1}"
    );
    assert!(conf1.contains("config_version: 2\n"), "{conf1}");
    wait_for(Duration::from_secs(20), "corosync.conf on node2", || {
        cat(&lab, "node2", "/etc/pve/corosync.conf") == conf1
    });
    let (mode, _, _) = sh(&lab, "node2", "stat -c %a /etc/corosync/authkey");
    assert_eq!(mode.trim(), "400");
    assert_eq!(
        sh(&lab, "node1", "md5sum < /etc/corosync/authkey").0,
        sh(&lab, "node2", "md5sum < /etc/corosync/authkey").0
    );

    // replication both ways
    let (_, err, code) = sh(&lab, "node1", "echo hello-from-node1 > /etc/pve/joined.txt");
    assert_eq!(code, Some(0), "{err}");
    wait_for(Duration::from_secs(20), "file on node2", || {
        cat(&lab, "node2", "/etc/pve/joined.txt") == "hello-from-node1\n"
    });
    // node2's certificate is signed by the cluster CA
    let (_, err, code) = sh(
        &lab,
        "node2",
        "openssl verify -CAfile /etc/pve/pve-root-ca.pem /etc/pve/nodes/node2/pve-ssl.pem",
    );
    assert_eq!(code, Some(0), "{err}");

    // joining again is refused with all problems listed
    let (stdout, err, code) = sh(
        &lab,
        "node2",
        &format!("echo quorate | pvecm add 10.99.0.1 --fingerprint {fp}"),
    );
    assert_eq!(code, Some(255), "{stdout}{err}");
    assert!(
        stdout.contains("detected the following error(s):"),
        "{stdout}"
    );
    assert!(
        stdout.contains("* authentication key '/etc/corosync/authkey' already exists"),
        "{stdout}"
    );
    assert!(
        stdout.contains("* a node named 'node2' is already part of the cluster"),
        "{stdout}"
    );
    assert!(
        err.contains("Check if node may join a cluster failed!"),
        "{err}"
    );
}
