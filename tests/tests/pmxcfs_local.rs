//! pmxcfs as a lab service: each node serves its own /etc/pve in local mode.

use std::time::Duration;

use quorate_e2e::{text, wait_for, Lab};

fn sh(lab: &Lab, node: &str, script: &str) -> String {
    let out = lab.exec(node, &["sh", "-c", script]);
    assert!(out.status.success(), "{script}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn each_node_serves_its_own_etc_pve_and_keeps_it_across_restarts() {
    let lab = Lab::up("e2e_pmxcfs1", &["--nodes", "2"]);
    for node in ["node1", "node2"] {
        lab.ctl_ok(&["start", node, "pmxcfs"]);
    }
    for node in ["node1", "node2"] {
        wait_for(Duration::from_secs(15), "/etc/pve to be mounted", || {
            lab.exec(node, &["test", "-L", "/etc/pve/local"])
                .status
                .success()
        });
    }
    assert_eq!(
        sh(&lab, "node1", "readlink /etc/pve/local"),
        "nodes/node1\n"
    );
    assert_eq!(
        sh(&lab, "node2", "cat /etc/pve/.members"),
        "{\n\"nodename\": \"node2\",\n\"version\": 0\n}\n"
    );
    sh(
        &lab,
        "node1",
        "echo 'keyboard: en-us' > /etc/pve/datacenter.cfg",
    );
    // A truncating open truncates at once in local mode, written to or not.
    assert_eq!(
        sh(
            &lab,
            "node1",
            "printf 'longer\\n' > /etc/pve/t.cfg; printf 's\\n' > /etc/pve/t.cfg; cat /etc/pve/t.cfg; \
             : > /etc/pve/t.cfg; stat -c %s /etc/pve/t.cfg"
        ),
        "s\n0\n"
    );
    assert!(!lab
        .exec("node2", &["test", "-e", "/etc/pve/datacenter.cfg"])
        .status
        .success());

    lab.ctl_ok(&["restart", "node1", "pmxcfs"]);
    wait_for(Duration::from_secs(15), "/etc/pve to be back", || {
        lab.exec("node1", &["test", "-e", "/etc/pve/datacenter.cfg"])
            .status
            .success()
    });
    assert_eq!(
        sh(&lab, "node1", "cat /etc/pve/datacenter.cfg"),
        "keyboard: en-us\n"
    );
    assert_eq!(
        sh(&lab, "node1", "stat -c %a /var/lib/pve-cluster/config.db"),
        "600\n"
    );
}
