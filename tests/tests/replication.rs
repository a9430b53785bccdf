//! /etc/pve replicated over real Corosync between three lab nodes.

use std::time::Duration;

use quorate_e2e::{text, wait_for, Lab};

const NODES: [&str; 3] = ["node1", "node2", "node3"];

fn sh(lab: &Lab, node: &str, script: &str) -> String {
    let out = lab.exec(node, &["sh", "-c", script]);
    assert!(out.status.success(), "{node}: {script}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn exists(lab: &Lab, node: &str, path: &str) -> bool {
    lab.exec(node, &["test", "-e", path]).status.success()
}

/// Every file under /etc/pve with its size, mtime and content hash: equal listings mean
/// equal trees.
fn tree(lab: &Lab, node: &str) -> String {
    sh(
        lab,
        node,
        "cd /etc/pve && find . -path ./local -prune -o -path ./lxc -prune -o -path ./qemu-server -prune \
         -o -path ./openvz -prune -o -name '.?*' -prune -o -type f -print | sort | \
         while read f; do echo \"$f $(stat -c '%s %Y' \"$f\") $(sha256sum < \"$f\" | cut -c1-16)\"; done",
    )
}

fn wait_converged(lab: &Lab) {
    wait_for(
        Duration::from_secs(30),
        "identical trees on all nodes",
        || {
            let first = tree(lab, "node1");
            NODES[1..].iter().all(|n| tree(lab, n) == first)
        },
    );
}

fn state(lab: &Lab, node: &str) -> String {
    sh(lab, node, "cat /run/pve-cluster/dcdb.json")
}

#[test]
fn a_write_appears_everywhere_with_the_same_content_and_mtime() {
    let lab = Lab::up("e2e_rep1", &["--nodes", "3", "--corosync", "--pmxcfs"]);
    sh(
        &lab,
        "node1",
        "printf 'dir: local\\n' > /etc/pve/storage.cfg",
    );
    // Readable on the others as soon as the writer's close() returned.
    for node in ["node2", "node3"] {
        assert_eq!(sh(&lab, node, "cat /etc/pve/storage.cfg"), "dir: local\n");
    }
    let mtime = sh(&lab, "node1", "stat -c %Y /etc/pve/storage.cfg");
    for node in ["node2", "node3"] {
        assert_eq!(sh(&lab, node, "stat -c %Y /etc/pve/storage.cfg"), mtime);
    }
    // Cluster view in .members.
    let members = sh(&lab, "node3", "cat /etc/pve/.members");
    assert!(
        members.contains(
            "\"cluster\": { \"name\": \"lab\", \"version\": 1, \"nodes\": 3, \"quorate\": 1 }"
        ),
        "{members}"
    );
    assert!(
        members.contains("\"node1\": { \"id\": 1, \"online\": 1, \"ip\": \"10.99.0.1\"}"),
        "{members}"
    );
    // The cluster log is shared (KVSTORE group): every node's start-up entry is everywhere.
    wait_for(Duration::from_secs(20), "a merged cluster log", || {
        let log = sh(&lab, "node3", "cat /etc/pve/.clusterlog");
        NODES.iter().all(|n| {
            log.contains(&format!(
                "\"node\": \"{n}\", \"user\": \"root\", \"msg\": \"starting cluster log\""
            ))
        })
    });
    let log: serde_json::Value =
        serde_json::from_str(&sh(&lab, "node1", "cat /etc/pve/.clusterlog"))
            .expect("clusterlog is JSON");
    assert!(log["data"].as_array().unwrap().len() >= 3);
    // Guests are unique cluster-wide.
    sh(
        &lab,
        "node1",
        "echo 'memory: 512' > /etc/pve/nodes/node1/qemu-server/100.conf",
    );
    let out = lab.exec(
        "node2",
        &["sh", "-c", "echo x > /etc/pve/nodes/node2/lxc/100.conf"],
    );
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("File exists"));
    assert!(sh(&lab, "node3", "cat /etc/pve/.vmlist")
        .contains("\"100\": { \"node\": \"node1\", \"type\": \"qemu\""));
}

#[test]
fn concurrent_writers_on_three_nodes_leave_identical_trees() {
    let lab = Lab::up("e2e_rep2", &["--nodes", "3", "--corosync", "--pmxcfs"]);
    sh(&lab, "node1", "mkdir /etc/pve/load");
    let writers: Vec<_> = NODES
        .iter()
        .map(|node| {
            let mut cmd = lab.ctl_command(&[
                "exec",
                node,
                "--",
                "sh",
                "-c",
                &format!(
                    "for i in $(seq 1 40); do echo {node}-$i > /etc/pve/load/{node}-$i; \
                     echo $i > /etc/pve/load/shared; done"
                ),
            ]);
            cmd.spawn().unwrap()
        })
        .collect();
    for mut w in writers {
        assert!(w.wait().unwrap().success());
    }
    wait_converged(&lab);
    assert_eq!(sh(&lab, "node2", "ls /etc/pve/load | wc -l"), "121\n");
}

/// `open(O_TRUNC)` of an existing file sends nothing by itself: the truncation rides in the
/// first write, or goes out at close, or as soon as anything else on the node looks (see
/// cfs::fs::truncates). Every way must leave the same, exact content everywhere.
#[test]
fn truncating_opens_leave_exactly_the_new_content_everywhere() {
    let lab = Lab::up("e2e_rep8", &["--nodes", "3", "--corosync", "--pmxcfs"]);
    // Overwrite: the truncation travels with the first write.
    sh(
        &lab,
        "node1",
        "printf 'a much longer old content\\n' > /etc/pve/t.cfg && printf 'new\\n' > /etc/pve/t.cfg",
    );
    for node in NODES {
        assert_eq!(sh(&lab, node, "cat /etc/pve/t.cfg"), "new\n", "{node}");
    }
    // Nothing written: the truncation goes out at close.
    sh(&lab, "node1", ": > /etc/pve/t.cfg");
    for node in NODES {
        assert_eq!(sh(&lab, node, "stat -c %s /etc/pve/t.cfg"), "0\n", "{node}");
    }
    // While the truncating open is still unwritten, this node already sees the file empty.
    let seen = sh(
        &lab,
        "node2",
        "printf 'old content\\n' > /etc/pve/u.cfg; exec 3>/etc/pve/u.cfg; \
         stat -c %s /etc/pve/u.cfg; cat /etc/pve/u.cfg; printf 'x\\n' >&3; exec 3>&-; \
         cat /etc/pve/u.cfg",
    );
    assert_eq!(seen, "0\nx\n");
    // A first write away from offset 0: the truncation goes first, the gap reads as zeros.
    sh(
        &lab,
        "node3",
        "printf 'abcdefgh' > /etc/pve/v.cfg; python3 -c \"import os; \
         fd = os.open('/etc/pve/v.cfg', os.O_WRONLY | os.O_TRUNC); os.pwrite(fd, b'XY', 2); \
         os.close(fd)\"",
    );
    for node in NODES {
        assert_eq!(
            sh(&lab, node, "od -An -c /etc/pve/v.cfg | tr -s ' '"),
            " \\0 \\0 X Y\n",
            "{node}"
        );
    }
    wait_converged(&lab);
}

/// Creates are answered before their message is delivered (pipelined, see cfs::pipeline):
/// two nodes racing to create the same names must still end with one tree everywhere, each
/// file holding exactly one writer's data, and a new file must be visible once open returned.
#[test]
fn racing_creates_of_the_same_names_leave_identical_trees() {
    let lab = Lab::up("e2e_rep5", &["--nodes", "3", "--corosync", "--pmxcfs"]);
    sh(&lab, "node1", "mkdir /etc/pve/race");
    wait_for(Duration::from_secs(10), "race dir on node2", || {
        lab.exec("node2", &["test", "-d", "/etc/pve/race"])
            .status
            .success()
    });
    let writers: Vec<_> = ["node1", "node2"]
        .iter()
        .map(|node| {
            let script = format!(
                "for i in $(seq 1 150); do echo {node} > /etc/pve/race/f$i || echo f$i >> /root/lost.log; done; true"
            );
            lab.ctl_command(&["exec", node, "--", "sh", "-c", &script])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut w in writers {
        assert!(w.wait().unwrap().success());
    }
    wait_converged(&lab);
    let contents = sh(&lab, "node3", "cat /etc/pve/race/f*");
    assert_eq!(contents.lines().count(), 150, "{contents}");
    assert!(
        contents.lines().all(|l| l == "node1" || l == "node2"),
        "{contents}"
    );
    // Read-your-writes on the creating node: an empty create, a rename, a read.
    let out = sh(
        &lab,
        "node1",
        ": > /etc/pve/race/empty && test -e /etc/pve/race/empty && \
         echo new > /etc/pve/race/tmp && mv /etc/pve/race/tmp /etc/pve/race/final && \
         cat /etc/pve/race/final && stat -c %s /etc/pve/race/empty",
    );
    assert_eq!(out, "new\n0\n");
    // A freshly created file shows one inode number through its descriptor and its path.
    let inodes = sh(
        &lab,
        "node1",
        "exec 3>/etc/pve/race/ino && echo x >&3 && stat -L -c %i /proc/self/fd/3 && \
         stat -c %i /etc/pve/race/ino",
    );
    let numbers: Vec<&str> = inodes.lines().collect();
    assert!(numbers.len() == 2 && numbers[0] == numbers[1], "{inodes}");
    wait_converged(&lab);
}

/// The kernel caches directory names for a second (as with the original); a cached name must
/// lead to the directory at that path now, after another node replaced it, and after a rename
/// through this node's own mount.
#[test]
fn cached_directory_names_follow_their_paths() {
    let lab = Lab::up("e2e_rep9", &["--nodes", "3", "--corosync", "--pmxcfs"]);
    sh(
        &lab,
        "node1",
        "mkdir -p /etc/pve/moves/a && echo one > /etc/pve/moves/a/f",
    );
    wait_for(Duration::from_secs(10), "moves/a/f on node2", || {
        exists(&lab, "node2", "/etc/pve/moves/a/f")
    });
    // node2 caches `moves` and `moves/a`; node1 replaces `a` right after.
    assert_eq!(sh(&lab, "node2", "cat /etc/pve/moves/a/f"), "one\n");
    sh(
        &lab,
        "node1",
        "cd /etc/pve/moves && mkdir b && mv a/f b/f && rmdir a && mkdir a && echo two > a/f && \
         touch done",
    );
    let seen = sh(
        &lab,
        "node2",
        "cd /etc/pve/moves && until test -e done; do sleep 0.01; done; cat a/f b/f",
    );
    assert_eq!(seen, "two\none\n");
    let renamed = sh(
        &lab,
        "node2",
        "cd /etc/pve/moves && mkdir c && ls c && mv c d && echo three > d/g && cat d/g && \
         ! test -e c",
    );
    assert_eq!(renamed, "three\n");
    wait_converged(&lab);
}

#[test]
fn a_cut_node_refuses_writes_and_catches_up_after_heal() {
    let lab = Lab::up("e2e_rep3", &["--nodes", "3", "--corosync", "--pmxcfs"]);
    let timers = lab.timers("node3");
    let limit = Duration::from_millis(u64::from(timers.token_ms + timers.consensus_ms) + 4000);
    // The kernel caches directory attributes for a second, but `stat` of a path must show a
    // quorum change at once (its name lookup refreshes them). The watcher stats
    // /etc/pve/nodes until the quorum indicator (never cached) flips, then 50 ms later.
    let dir_mode_after_quorum_loss = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            sh(
                &lab,
                "node3",
                "for i in $(seq 1 1500); do [ \"$(stat -c %a /etc/pve/local)\" = 555 ] && break; \
                 stat -c %a /etc/pve/nodes >/dev/null; sleep 0.02; done; \
                 sleep 0.05; stat -c %a /etc/pve/nodes",
            )
        });
        lab.ctl_ok(&["cut", "node3"]);
        wait_for(limit, "node3 to lose quorum", || {
            lab.exec("node3", &["sh", "-c", "echo x > /etc/pve/probe.cfg"])
                .status
                .code()
                != Some(0)
        });
        watcher.join().unwrap()
    });
    assert_eq!(dir_mode_after_quorum_loss, "555\n");
    let out = lab.exec("node3", &["sh", "-c", "echo x > /etc/pve/minority.cfg"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{}",
        text(&out)
    );
    assert_eq!(sh(&lab, "node3", "stat -c %a /etc/pve/local"), "555\n");
    // Reads keep working from the local copy.
    assert!(sh(&lab, "node3", "cat /etc/pve/.members").contains("\"quorate\": 0"));
    // The majority keeps writing.
    wait_for(limit, "node1 to be writable", || {
        lab.exec("node1", &["sh", "-c", "echo y > /etc/pve/majority.cfg"])
            .status
            .success()
    });
    sh(
        &lab,
        "node2",
        "mkdir -p /etc/pve/during && for i in $(seq 1 30); do echo $i > /etc/pve/during/f$i; done",
    );

    lab.ctl_ok(&["heal", "node3"]);
    wait_converged(&lab);
    assert_eq!(sh(&lab, "node3", "cat /etc/pve/during/f30"), "30\n");
    assert!(!exists(&lab, "node3", "/etc/pve/minority.cfg"));
    assert_eq!(sh(&lab, "node3", "stat -c %a /etc/pve/local"), "755\n");
}

#[test]
fn a_pmxcfs_killed_during_writes_resyncs_and_loses_nothing_acknowledged() {
    let lab = Lab::up("e2e_rep4", &["--nodes", "3", "--corosync", "--pmxcfs"]);
    sh(&lab, "node1", "mkdir -p /etc/pve/acked");
    // Writers on node1 and node3 record each acknowledged write in a node-local log.
    let writers: Vec<_> = ["node1", "node3"]
        .iter()
        .map(|node| {
            lab.ctl_command(&[
                "exec",
                node,
                "--",
                "sh",
                "-c",
                &format!(
                    "i=0; while [ $i -lt 300 ]; do i=$((i+1)); \
                     echo {node}-$i > /etc/pve/acked/{node}-$i && echo {node}-$i >> /root/acked.log; done; true"
                ),
            ])
            .spawn()
            .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    lab.ctl_ok(&["kill", "node2", "pmxcfs"]);
    std::thread::sleep(Duration::from_millis(500));
    lab.ctl_ok(&["start", "node2", "pmxcfs"]);
    for mut w in writers {
        w.wait().unwrap();
    }
    wait_converged(&lab);
    for writer in ["node1", "node3"] {
        let acked = sh(&lab, writer, "cat /root/acked.log");
        assert!(
            acked.lines().count() > 10,
            "{writer} wrote too little: {acked}"
        );
        for name in acked.lines() {
            for node in NODES {
                assert_eq!(
                    sh(&lab, node, &format!("cat /etc/pve/acked/{name}")),
                    format!("{name}\n"),
                    "{name} on {node}"
                );
            }
        }
    }
    assert!(state(&lab, "node2").contains("\"mode\":\"synced\""));
}

#[test]
fn corosync_conf_changes_propagate_only_upwards() {
    let lab = Lab::up("e2e_rep5", &["--nodes", "3", "--corosync", "--pmxcfs"]);
    let conf = sh(&lab, "node1", "cat /etc/pve/corosync.conf");
    assert!(
        conf.contains("config_version: 1\n") && conf.contains("token: 2000\n"),
        "{conf}"
    );
    // As PVE tools do: write a temporary file, then rename it over corosync.conf.
    let newer = conf
        .replace("config_version: 1\n", "config_version: 2\n")
        .replace("token: 2000\n", "token: 2500\n");
    std::fs::write("/tmp/quorate-e2e-rep5.conf", &newer).unwrap();
    sh(&lab, "node1", "cp /tmp/quorate-e2e-rep5.conf /etc/pve/corosync.conf.new && mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf");
    for node in NODES {
        wait_for(
            Duration::from_secs(20),
            "the new corosync.conf on every node",
            || sh(&lab, node, "cat /etc/corosync/corosync.conf") == newer,
        );
    }
    // Only the writer asked corosync to reload, and the new token is live everywhere.
    for node in NODES {
        wait_for(
            Duration::from_secs(20),
            "corosync to run with the new token",
            || {
                sh(&lab, node, "corosync-cmapctl -g totem.token")
                    .trim_end()
                    .ends_with("= 2500")
            },
        );
    }
    // A lower version is not propagated.
    let older = newer
        .replace("config_version: 2\n", "config_version: 1\n")
        .replace("token: 2500\n", "token: 2200\n");
    std::fs::write("/tmp/quorate-e2e-rep5.conf", &older).unwrap();
    sh(&lab, "node2", "cp /tmp/quorate-e2e-rep5.conf /etc/pve/corosync.conf.new && mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf");
    let _ = std::fs::remove_file("/tmp/quorate-e2e-rep5.conf");
    wait_for(
        Duration::from_secs(10),
        "the older copy in /etc/pve",
        || {
            NODES
                .iter()
                .all(|n| sh(&lab, n, "cat /etc/pve/corosync.conf") == older)
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    for node in NODES {
        assert_eq!(
            sh(&lab, node, "cat /etc/corosync/corosync.conf"),
            newer,
            "{node}"
        );
    }
}

fn inject(lab: &Lab, node: &str, messages: &[String]) {
    let mut args = vec!["quorate-probe", "dcdb-inject"];
    args.extend(messages.iter().map(String::as_str));
    let out = lab.exec(node, &args);
    assert!(out.status.success(), "{}", text(&out));
}

fn all_in_mode(lab: &Lab, mode: &str) -> bool {
    NODES
        .iter()
        .all(|n| state(lab, n).contains(&format!("\"mode\":\"{mode}\"")))
}

#[test]
fn hostile_dfsm_messages_are_rejected_without_corrupting_the_tree() {
    let lab = Lab::up("e2e_rep6", &["--nodes", "3", "--corosync", "--pmxcfs"]);
    sh(&lab, "node1", "echo keep > /etc/pve/keep.cfg");
    wait_converged(&lab);
    let before = tree(&lab, "node1");
    // From an extra group member: an older protocol version (ignored), a truncated header,
    // a WRITE whose record lengths lie, and a WRITE to `../esc`.
    let malformed = [
        "000001000000000000000000000000000100000000000000".to_string(),
        "0000".to_string(),
        format!(
            "000001000100000000000000000000000200000000000000{}",
            "ffffffff00000000050000000000000000000000"
        ),
        format!(
            "000005000100000000000000000000000300000000000000{}{}",
            "000000000000000007000000000000000000000000",
            hex("../esc\0")
        ),
    ];
    inject(&lab, "node2", &malformed);
    // Members that saw a bad message left and re-joined; all come back in sync, unchanged.
    wait_for(Duration::from_secs(40), "all nodes synced again", || {
        all_in_mode(&lab, "synced")
            && NODES
                .iter()
                .all(|n| state(&lab, n).matches('[').count() == 4)
    });
    wait_converged(&lab);
    assert_eq!(tree(&lab, "node1"), before);
    assert!(lab.exec("node1", &["test", "-e", "/etc/esc"]).status.code() != Some(0));
    wait_for(Duration::from_secs(20), "writes to work again", || {
        lab.exec("node3", &["sh", "-c", "echo after > /etc/pve/after.cfg"])
            .status
            .success()
    });
    wait_converged(&lab);
    let before = tree(&lab, "node1");

    // A newer protocol version stops replication for good on every node, as in the original
    // ("detected newer protocol - please update this node"): nothing is applied or changed.
    inject(
        &lab,
        "node2",
        &["000001000200000000000000000000000400000000000000".to_string()],
    );
    wait_for(
        Duration::from_secs(20),
        "every node to stop on the newer protocol",
        || all_in_mode(&lab, "versionerror"),
    );
    assert!(!lab
        .exec("node1", &["sh", "-c", "echo x > /etc/pve/refused.cfg"])
        .status
        .success());
    assert_eq!(tree(&lab, "node1"), before);
    // Restarting pmxcfs (the documented way out) brings the cluster back.
    for node in NODES {
        lab.ctl_ok(&["restart", node, "pmxcfs"]);
    }
    wait_for(
        Duration::from_secs(40),
        "the cluster to sync after the restarts",
        || {
            all_in_mode(&lab, "synced")
                && NODES
                    .iter()
                    .all(|n| state(&lab, n).matches('[').count() == 4)
        },
    );
    wait_converged(&lab);
    assert_eq!(tree(&lab, "node2"), before);
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn pmxcfs_survives_a_corosync_restart() {
    let lab = Lab::up("e2e_rep7", &["--nodes", "3", "--corosync", "--pmxcfs"]);
    sh(&lab, "node1", "echo before > /etc/pve/before.cfg");
    assert!(sh(&lab, "node1", "cat /etc/pve/.members").contains("\"cluster\""));
    lab.ctl_ok(&["stop", "node1", "corosync"]);
    // Reads keep working from the local copy; writes fail cleanly.
    wait_for(Duration::from_secs(10), "node1 to notice", || {
        state(&lab, "node1").contains("\"quorate\":false")
    });
    assert_eq!(sh(&lab, "node1", "cat /etc/pve/before.cfg"), "before\n");
    assert!(sh(&lab, "node1", "cat /etc/pve/.members").contains("\"quorate\": 0"));
    let out = lab.exec("node1", &["sh", "-c", "echo x > /etc/pve/while-down.cfg"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{}",
        text(&out)
    );
    // The others carry on.
    wait_for(
        Duration::from_secs(20),
        "node2 to write without node1",
        || {
            lab.exec(
                "node2",
                &["sh", "-c", "echo y > /etc/pve/without-node1.cfg"],
            )
            .status
            .success()
        },
    );
    // corosync back: pmxcfs reconnects by itself and catches up.
    lab.ctl_ok(&["start", "node1", "corosync"]);
    wait_for(Duration::from_secs(30), "node1 to write again", || {
        lab.exec("node1", &["sh", "-c", "echo z > /etc/pve/after.cfg"])
            .status
            .success()
    });
    wait_converged(&lab);
    assert_eq!(sh(&lab, "node1", "cat /etc/pve/without-node1.cfg"), "y\n");
    assert!(!exists(&lab, "node1", "/etc/pve/while-down.cfg"));
}
