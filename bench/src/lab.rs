//! Host side of the lab: a thin wrapper around the `quorate-lab` CLI for lab `bench`. The
//! harness is multi-threaded-safe by never entering a namespace itself.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

pub struct Lab {
    pub name: String,
    ctl: PathBuf,
    me: PathBuf,
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Lab {
    pub fn new(name: &str) -> Result<Lab> {
        let me = std::env::current_exe().context("own path")?;
        let sibling = me.with_file_name("quorate-lab");
        let ctl = if sibling.exists() {
            sibling
        } else {
            PathBuf::from("quorate-lab")
        };
        Ok(Lab {
            name: name.into(),
            ctl,
            me,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.ctl);
        cmd.args(args)
            .env("QUORATE_LAB", &self.name)
            .stdin(Stdio::null());
        if let Some(dir) = self.me.parent() {
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("{}:{path}", dir.display()));
        }
        cmd
    }

    pub fn ctl(&self, args: &[&str]) -> Result<String> {
        let out = self.command(args).output().context("run quorate-lab")?;
        if !out.status.success() {
            bail!("quorate-lab {args:?} failed: {}", text(&out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// stdout of a command inside `node`, whatever its exit status.
    pub fn exec_stdout(&self, node: &str, cmd: &[&str]) -> Result<String> {
        let mut args = vec!["exec", node, "--"];
        args.extend_from_slice(cmd);
        let out = self.command(&args).output().context("run quorate-lab")?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Brings up 3 nodes with corosync and pmxcfs; corosync at normal priority unless
    /// `realtime` (see `quorate-lab up --corosync-normal-priority`).
    pub fn up(&self, realtime: bool) -> Result<()> {
        let _ = self.ctl(&["down"]);
        let mut args = vec!["up", "--nodes", "3", "--corosync", "--pmxcfs"];
        if !realtime {
            args.push("--corosync-normal-priority");
        }
        self.ctl(&args)?;
        Ok(())
    }

    pub fn down(&self) {
        if let Err(e) = self.ctl(&["down"]) {
            eprintln!("quorate-bench: {e}");
        }
    }

    pub fn exec_ok(&self, node: &str, cmd: &[&str]) -> Result<String> {
        let mut args = vec!["exec", node, "--"];
        args.extend_from_slice(cmd);
        self.ctl(&args)
    }

    fn worker_args<'a>(&'a self, node: &'a str, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec![
            "exec",
            node,
            "--",
            self.me.to_str().unwrap_or("quorate-bench"),
        ];
        all.push("worker");
        all.extend_from_slice(args);
        all
    }

    /// Runs `quorate-bench worker ARGS…` inside `node` and parses its JSON.
    pub fn worker(&self, node: &str, args: &[&str]) -> Result<Value> {
        let out = self.ctl(&self.worker_args(node, args))?;
        serde_json::from_str(&out).with_context(|| format!("worker {args:?} printed {out}"))
    }

    /// Starts a worker in `node` without waiting; finish it with [`join`].
    pub fn spawn_worker(&self, node: &str, args: &[&str]) -> Result<Child> {
        self.command(&self.worker_args(node, args))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawn quorate-lab exec")
    }

    /// pid of the pmxcfs service on node1..3, from `quorate-lab ls --json`.
    pub fn pmxcfs_pids(&self) -> Result<Vec<u32>> {
        self.service_pids("pmxcfs")
    }

    /// pid of `service` on node1..3, from `quorate-lab ls --json`.
    pub fn service_pids(&self, service: &str) -> Result<Vec<u32>> {
        let ls: Value = serde_json::from_str(&self.ctl(&["ls", "--json"])?)?;
        let mut pids = Vec::new();
        for k in 1..=3 {
            let host = ls["hosts"]
                .as_array()
                .and_then(|h| h.iter().find(|h| h["name"] == format!("node{k}")))
                .context("node missing in ls")?;
            let pid = host["services"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["name"] == service))
                .and_then(|s| s["pid"].as_u64())
                .with_context(|| format!("no {service} pid in ls"))?;
            pids.push(pid as u32);
        }
        Ok(pids)
    }
}

/// Waits for a spawned worker and parses its JSON.
pub fn join(child: Child) -> Result<Value> {
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("worker failed: {}", text(&out));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// VmRSS of `pid` in MiB, read from the host's /proc.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// SIGTERM `pid` (again after 5 s, as the last etcd member needs), SIGKILL after 10 s.
pub fn terminate(pid: u32) {
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
    let start = Instant::now();
    // SAFETY: plain kill(2) on a pid this harness started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let mut resent = false;
    while alive() {
        let t = start.elapsed();
        if t > Duration::from_secs(10) {
            // SAFETY: as above.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            return;
        }
        if t > Duration::from_secs(5) && !resent {
            // SAFETY: as above.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
            resent = true;
        }
        sleep(Duration::from_millis(100));
    }
}
