//! Two corosync links chosen with `--link0`/`--link1` (and priorities) on `pvecm create` and
//! `pvecm add`: the documented corosync.conf on both nodes, and the cluster keeps quorum when
//! link0 of a node goes down (knet switches to link1).

use std::time::Duration;

use quorate_e2e::{wait_for, Lab};

#[test]
fn two_links_with_priorities() {
    let lab = Lab::up("e2e_links", &["--nodes", "2", "--links", "2", "--daemons"]);
    let fp = lab.create_cluster_with(
        "node1",
        &[
            "demo",
            "--link0",
            "10.99.0.1,priority=15",
            "--link1",
            "10.99.1.1,priority=20",
        ],
    );
    let (stdout, err, code) = lab.sh(
        "node2",
        &format!(
            "echo quorate | pvecm add 10.99.0.1 --fingerprint {fp} \
             --link0 10.99.0.2 --link1 10.99.1.2"
        ),
    );
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {err}");
    wait_for(Duration::from_secs(60), "2 quorate members", || {
        lab.has_quorum_with("node1", &[1, 2]) && lab.has_quorum_with("node2", &[1, 2])
    });

    let conf = lab.sh("node1", "cat /etc/pve/corosync.conf").0;
    assert!(
        conf.starts_with(
            "logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n  node {\n    \
             name: node1\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.99.0.1\n    \
             ring1_addr: 10.99.1.1\n  }\n  node {\n    name: node2\n    nodeid: 2\n    \
             quorum_votes: 1\n    ring0_addr: 10.99.0.2\n    ring1_addr: 10.99.1.2\n  }\n}\n"
        ),
        "{conf}"
    );
    assert!(
        conf.contains(
            "  interface {\n    knet_link_priority: 15\n    linknumber: 0\n  }\n  \
             interface {\n    knet_link_priority: 20\n    linknumber: 1\n  }\n"
        ),
        "{conf}"
    );
    assert!(conf.contains("  config_version: 2\n"), "{conf}");
    for node in ["node1", "node2"] {
        assert_eq!(
            lab.sh(node, "cat /etc/corosync/corosync.conf").0,
            conf,
            "{node}"
        );
    }

    wait_for(Duration::from_secs(30), "both links up on node1", || {
        let links = lab.sh("node1", "corosync-cfgtool -n").0;
        links.matches("enabled connected").count() == 2
    });
    lab.ctl_ok(&["cut", "node2", "--link", "0"]);
    wait_for(
        Duration::from_secs(15),
        "node1 to see link0 to node2 down",
        || {
            let links = lab.sh("node1", "corosync-cfgtool -n").0;
            links.matches("enabled connected").count() == 1
        },
    );
    // past token + consensus: a membership change would have happened by now
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        lab.has_quorum_with("node1", &[1, 2]),
        "quorum lost on link0 cut"
    );
    assert!(
        lab.has_quorum_with("node2", &[1, 2]),
        "quorum lost on link0 cut"
    );
    let (_, err, code) = lab.sh("node2", "echo x > /etc/pve/over-link1.txt");
    assert_eq!(code, Some(0), "{err}");
    wait_for(Duration::from_secs(10), "the write on node1", || {
        lab.sh("node1", "cat /etc/pve/over-link1.txt").0 == "x\n"
    });
}
