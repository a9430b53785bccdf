//! Harness for end-to-end tests: a lab that is torn down when the test ends, pass or fail.
//!
//! The test process is multi-threaded, so it never enters a node's namespaces itself; it runs
//! `quorate-lab exec NODE -- …` and reads the probe's JSON.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub use corosync_client::{PeerLinks, QuorumState, TotemTimers};

/// Directory holding the workspace's binaries (`target/debug`), found from the test executable.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> → target/debug
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target directory")
        .to_path_buf()
}

fn path_with_bins() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A lab owned by one test; `Drop` runs `quorate-lab down`.
pub struct Lab {
    pub name: String,
}

impl Lab {
    /// Creates lab `name` with `quorate-lab up ARGS…`; panics with its output on failure.
    pub fn up(name: &str, args: &[&str]) -> Lab {
        assert!(
            running_as_root(),
            "end-to-end tests need root (they create namespaces): run them as root"
        );
        let lab = Lab {
            name: name.to_string(),
        };
        // A leftover from an earlier, killed run would make `up` refuse.
        lab.ctl(&["down"]);
        let mut full = vec!["up"];
        full.extend_from_slice(args);
        let out = lab.ctl(&full);
        assert!(
            out.status.success(),
            "quorate-lab up failed:\n{}",
            text(&out)
        );
        lab
    }

    /// Runs `quorate-lab ARGS…` for this lab.
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.ctl_command(args).output().expect("run quorate-lab")
    }

    pub fn ctl_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin_dir().join("quorate-lab"));
        cmd.args(args)
            .env("QUORATE_LAB", &self.name)
            .env("PATH", path_with_bins())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `quorate-lab ARGS…` and panics unless it succeeds.
    pub fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "quorate-lab {args:?} failed:\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command inside `node`.
    pub fn exec(&self, node: &str, command: &[&str]) -> Output {
        let mut args = vec!["exec", node, "--"];
        args.extend_from_slice(command);
        self.ctl(&args)
    }

    /// The node's quorum state from the probe, or `None` if corosync does not answer.
    pub fn quorum(&self, node: &str) -> Option<QuorumState> {
        let out = self.exec(node, &["quorate-probe", "quorum"]);
        serde_json::from_slice(&out.stdout).ok()
    }

    pub fn links(&self, node: &str) -> Vec<PeerLinks> {
        let out = self.exec(node, &["quorate-probe", "links"]);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("links of {node}: {e}: {}", text(&out)))
    }

    pub fn timers(&self, node: &str) -> TotemTimers {
        let out = self.exec(node, &["quorate-probe", "timers"]);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("timers of {node}: {e}: {}", text(&out)))
    }

    /// Runs `sh -c SCRIPT` in `node`: (stdout, stderr, exit code).
    pub fn sh(&self, node: &str, script: &str) -> (String, String, Option<i32>) {
        let out = self.exec(node, &["sh", "-c", script]);
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code(),
        )
    }

    /// `pvecm create NAME` on `node` (of a `--daemons` lab), waits until its API answers with
    /// the node certificate, and returns that certificate's SHA-256 fingerprint.
    pub fn create_cluster(&self, node: &str, name: &str) -> String {
        self.create_cluster_with(node, &[name])
    }

    /// [`Lab::create_cluster`] with more arguments for `pvecm create` (name first).
    pub fn create_cluster_with(&self, node: &str, args: &[&str]) -> String {
        let mut cmd = vec!["pvecm", "create"];
        cmd.extend_from_slice(args);
        let out = self.exec(node, &cmd);
        assert!(out.status.success(), "{}", text(&out));
        let ip = format!("10.99.0.{}", &node[4..]);
        wait_for(
            Duration::from_secs(20),
            "the API of the new cluster",
            || {
                let probe = format!(
                    "echo | openssl s_client -connect {ip}:8006 2>/dev/null | grep -q BEGIN"
                );
                self.sh(node, &probe).2 == Some(0)
            },
        );
        let cert = format!("/etc/pve/nodes/{node}/pve-ssl.pem");
        let (fp, _, _) = self.sh(
            node,
            &format!("openssl x509 -noout -fingerprint -sha256 -in {cert} | cut -d= -f2"),
        );
        let fp = fp.trim().to_string();
        assert_eq!(fp.len(), 95, "{fp}");
        fp
    }

    /// Asserts that a refused join changed nothing: the member's corosync.conf is still
    /// `member_conf`, and `joiner` has no cluster files and still runs its own local /etc/pve.
    pub fn assert_not_joined(&self, member: &str, member_conf: &str, joiner: &str, what: &str) {
        let cat = |node: &str, path: &str| self.sh(node, &format!("cat {path}")).0;
        assert_eq!(
            cat(member, "/etc/pve/corosync.conf"),
            member_conf,
            "{what}: {member}'s corosync.conf changed"
        );
        for path in [
            "/etc/corosync/authkey",
            "/etc/corosync/corosync.conf",
            "/etc/pve/corosync.conf",
        ] {
            let exists = self.exec(joiner, &["test", "-e", path]).status.success();
            assert!(!exists, "{what}: {path} on {joiner}");
        }
        let db = self.exec(joiner, &["test", "-e", "/var/lib/pve-cluster/config.db"]);
        assert!(db.status.success(), "{what}: {joiner} lost its config.db");
        let members = cat(joiner, "/etc/pve/.members");
        assert!(
            members.contains(&format!("\"nodename\": \"{joiner}\""))
                && !members.contains("\"cluster\""),
            "{what}: {members}"
        );
    }

    /// True when `node` is quorate with exactly `members` as members.
    pub fn has_quorum_with(&self, node: &str, members: &[u32]) -> bool {
        self.quorum(node)
            .is_some_and(|q| q.quorate && q.members == members)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let out = self.ctl(&["down"]);
        if !out.status.success() {
            eprintln!("quorate-lab down failed:\n{}", text(&out));
        }
    }
}

/// Polls `condition` every 100 ms until it holds; returns how long that took, or panics after
/// `timeout` naming `what`.
pub fn wait_for(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// stdout and stderr of a finished command, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}
