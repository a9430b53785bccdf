//! The lab's command line without a cluster: isolation of nodes, exec, cuts, errors, teardown.

use std::io::Write;
use std::process::Stdio;

use quorate_e2e::{text, Lab};

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn nodes_are_isolated_hosts_and_exec_passes_stdio_and_status_through() {
    let lab = Lab::up("e2e_hosts", &["--nodes", "2"]);
    for node in ["node1", "node2"] {
        let out = lab.exec(node, &["hostname"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), node);
        let addr = lab.exec(node, &["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
        let expected = format!("10.99.0.{}/24", &node[4..]);
        assert!(String::from_utf8_lossy(&addr.stdout).contains(&expected));
    }
    // Private /etc/pve and /run, shared /tmp.
    let marker = format!("/tmp/quorate-e2e-{}", std::process::id());
    lab.exec(
        "node1",
        &[
            "sh",
            "-c",
            &format!("echo one > /etc/pve/x; touch /run/x {marker}"),
        ],
    );
    assert!(!lab
        .exec("node2", &["test", "-e", "/etc/pve/x"])
        .status
        .success());
    assert!(!lab
        .exec("node2", &["test", "-e", "/run/x"])
        .status
        .success());
    assert!(lab.exec("node2", &["test", "-e", &marker]).status.success());
    let _ = std::fs::remove_file(&marker);
    let hosts = lab.exec("node2", &["cat", "/etc/hosts"]);
    assert!(String::from_utf8_lossy(&hosts.stdout).contains("10.99.0.1 node1\n"));

    // Exit status and stdin pass through.
    let out = lab.exec("node1", &["sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    let mut child = lab
        .ctl_command(&["exec", "node2", "--", "tr", "a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"quorum\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "QUORUM\n");

    // The service-control marker names this lab and node.
    let marker = lab.exec("node2", &["cat", "/run/quorate-lab-node.json"]);
    let marker = String::from_utf8_lossy(&marker.stdout);
    assert!(marker.contains("\"lab\":\"e2e_hosts\"") && marker.contains("\"node\":\"node2\""));
}

#[test]
fn cuts_drop_node_traffic_but_keep_qnetd_unless_asked() {
    let lab = Lab::up("e2e_cuts", &["--nodes", "2", "--qnetd"]);
    let reaches = |from: &str, addr: &str| {
        lab.exec(from, &["ping", "-c", "1", "-W", "1", addr])
            .status
            .success()
    };
    assert!(reaches("node1", "10.99.0.2"));
    assert!(reaches("node1", "10.99.0.250"));

    lab.ctl_ok(&["cut", "node1"]);
    assert!(!reaches("node1", "10.99.0.2"));
    assert!(!reaches("node2", "10.99.0.1"));
    assert!(reaches("node1", "10.99.0.250"));

    lab.ctl_ok(&["cut", "node1", "--from-qnetd"]);
    assert!(!reaches("node1", "10.99.0.250"));
    assert!(reaches("node2", "10.99.0.250"));

    lab.ctl_ok(&["heal"]);
    assert!(reaches("node1", "10.99.0.2"));
    assert!(reaches("node1", "10.99.0.250"));
}

#[test]
fn bad_input_gets_one_line_errors_that_say_what_to_do() {
    let lab = Lab::up("e2e_errors", &["--nodes", "1"]);
    let cases: [(&[&str], &str); 5] = [
        (
            &["up", "--nodes", "1"],
            "already exists: remove it first with `quorate-lab down`",
        ),
        (
            &["exec", "node7", "--", "true"],
            "unknown node 'node7' in lab 'e2e_errors'",
        ),
        (
            &["start", "node1", "corosyncd"],
            "unknown service 'corosyncd'",
        ),
        (
            &["kill", "node1", "corosync"],
            "corosync is not running on node1",
        ),
        (&["cut", "node1", "--link", "1"], "link 1 does not exist"),
    ];
    for (args, expected) in cases {
        let out = lab.ctl(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr_of(&out).contains(expected),
            "{args:?}: {}",
            text(&out)
        );
    }

    let as_nobody = lab
        .ctl_command(&["ls"])
        .env_remove("QUORATE_LAB")
        .output_as_nobody();
    assert!(
        stderr_of(&as_nobody).contains("must run as root"),
        "{}",
        text(&as_nobody)
    );

    let without_tools = lab
        .ctl_command(&["up", "--nodes", "1"])
        .env("QUORATE_LAB", "e2e_errors_pkg")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(
        stderr_of(&without_tools).contains("install them with: apt-get install iproute2"),
        "{}",
        text(&without_tools)
    );

    let missing_lab = lab
        .ctl_command(&["ls"])
        .env("QUORATE_LAB", "e2e_nothing")
        .output()
        .unwrap();
    assert!(stderr_of(&missing_lab).contains("lab 'e2e_nothing' does not exist"));
}

#[test]
fn down_removes_everything_and_is_safe_twice() {
    let lab = Lab::up("e2e_down", &["--nodes", "2", "--qnetd", "--corosync"]);
    let pids: Vec<u32> = serde_json::from_str::<serde_json::Value>(&lab.ctl_ok(&["ls", "--json"]))
        .unwrap()["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["services"].as_array().unwrap().clone())
        .map(|s| s["pid"].as_u64().unwrap() as u32)
        .collect();
    assert_eq!(pids.len(), 2, "one corosync per node");

    lab.ctl_ok(&["down"]);
    lab.ctl_ok(&["down"]);
    let netns = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&netns.stdout).contains("qlab-e2e_down-"));
    assert!(!std::path::Path::new("/var/lib/quorate-lab/e2e_down").exists());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains("/var/lib/quorate-lab/e2e_down"));
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived"
        );
    }
}

trait AsNobody {
    fn output_as_nobody(&mut self) -> std::process::Output;
}

impl AsNobody for std::process::Command {
    /// Runs the command as user `nobody` through `setpriv`.
    fn output_as_nobody(&mut self) -> std::process::Output {
        let mut wrapped = std::process::Command::new("setpriv");
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(self.get_program())
            .args(self.get_args());
        for (key, value) in self.get_envs() {
            match value {
                Some(v) => wrapped.env(key, v),
                None => wrapped.env_remove(key),
            };
        }
        wrapped.output().unwrap()
    }
}

#[test]
fn a_failed_up_says_why_and_leaves_nothing_behind() {
    // A `corosync` that dies at once makes `up --corosync` fail half-way through.
    let fake_dir = std::env::temp_dir().join(format!("quorate-e2e-fake-{}", std::process::id()));
    std::fs::create_dir_all(&fake_dir).unwrap();
    let fake = fake_dir.join("corosync");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'fake corosync: refusing' >&2\nexit 1\n",
    )
    .unwrap();
    let mode = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
    std::fs::set_permissions(&fake, mode).unwrap();

    let lab = Lab {
        name: "e2e_failed_up".into(),
    };
    let path = format!(
        "{}:{}:{}",
        fake_dir.display(),
        quorate_e2e::bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = lab
        .ctl_command(&["up", "--nodes", "2", "--corosync"])
        .env("PATH", path)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&fake_dir);
    let err = stderr_of(&out);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(err.contains("corosync on node1 did not start"), "{err}");
    assert!(err.contains("everything it made was removed"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    let netns = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&netns.stdout).contains("qlab-e2e_failed_up-"));
    assert!(!std::path::Path::new("/var/lib/quorate-lab/e2e_failed_up").exists());
}

#[test]
fn daemons_run_on_every_node_with_the_lab_root_password() {
    let lab = Lab::up(
        "e2e_daemons",
        &["--nodes", "2", "--daemons", "--root-password", "s3cret"],
    );
    let ls: serde_json::Value = serde_json::from_str(&lab.ctl_ok(&["ls", "--json"])).unwrap();
    assert_eq!(ls["root_password"], "s3cret");
    for host in ls["hosts"].as_array().unwrap() {
        let services: Vec<_> = host["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(services, ["pmxcfs", "api"], "{host}");
    }
    for node in ["node1", "node2"] {
        // Local mode (no cluster), node certificate and own SSH host keys.
        let members = lab.exec(node, &["cat", "/etc/pve/.members"]);
        assert!(!String::from_utf8_lossy(&members.stdout).contains("\"cluster\""));
        let cert = format!("/etc/pve/nodes/{node}/pve-ssl.pem");
        assert!(lab.exec(node, &["test", "-s", &cert]).status.success());
        assert!(lab
            .exec(node, &["test", "-s", "/etc/ssh/ssh_host_ed25519_key"])
            .status
            .success());
    }
    let key = |node| {
        String::from_utf8_lossy(
            &lab.exec(node, &["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
                .stdout,
        )
        .into_owned()
    };
    assert_ne!(key("node1"), key("node2"));
    // The node's shadow carries the lab password, never the host's root hash.
    let host_root = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
    let node_shadow =
        String::from_utf8_lossy(&lab.exec("node1", &["cat", "/etc/shadow"]).stdout).into_owned();
    let root_hash = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("root:"))
            .map(|l| l.split(':').nth(1).unwrap_or("").to_string())
    };
    assert!(root_hash(&node_shadow).unwrap().starts_with("$6$"));
    assert_ne!(root_hash(&node_shadow), root_hash(&host_root));
}

#[test]
fn lab_daemons_do_not_hold_the_callers_descriptors() {
    // A service started under `flock` must not keep the lock: the supervisor closes every
    // inherited descriptor above stderr.
    let lab = Lab::up("e2e_fds", &["--nodes", "1"]);
    let lock = std::env::temp_dir().join(format!("quorate-e2e-fds-{}.lock", std::process::id()));
    let ctl = quorate_e2e::bin_dir().join("quorate-lab");
    let out = std::process::Command::new("flock")
        .arg(&lock)
        .arg(&ctl)
        .args(["start", "node1", "pmxcfs"])
        .env("QUORATE_LAB", "e2e_fds")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let free = std::process::Command::new("flock")
        .args(["-n"])
        .arg(&lock)
        .arg("true")
        .status()
        .unwrap();
    let _ = std::fs::remove_file(&lock);
    assert!(free.success(), "the pmxcfs supervisor still holds the lock");
    assert!(lab.ctl(&["status", "node1", "pmxcfs"]).status.success());
}
