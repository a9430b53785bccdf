//! Orchestration: one lab, Quorate's figures, then the raw CPG limit and etcd on the same
//! nodes, then Quorate's catch-up and final RSS.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::clock::{mono_ns, p50_p99};
use crate::etcd::Cluster;
use crate::figures::System;
use crate::lab::{join, rss_mib, Lab};

pub struct Sizes {
    pub files: usize,
    pub overwrites: usize,
    pub samples: usize,
    pub gap_ms: u64,
    pub catchup: usize,
    pub pvecm_runs: usize,
    pub cpg_msgs: usize,
}

impl Sizes {
    pub fn new(smoke: bool) -> Sizes {
        if smoke {
            Sizes {
                files: 20,
                overwrites: 20,
                samples: 10,
                gap_ms: 20,
                catchup: 200,
                pvecm_runs: 5,
                cpg_msgs: 500,
            }
        } else {
            Sizes {
                files: 1000,
                overwrites: 1000,
                samples: 100,
                gap_ms: 50,
                catchup: 10_000,
                pvecm_runs: 20,
                cpg_msgs: 20_000,
            }
        }
    }
}

/// DFSM write message for a file: NORMAL header 24 + FUSE-op header 20 + path + NUL + data.
pub fn write_msg_size(path: &str, data: usize) -> usize {
    24 + 20 + path.len() + 1 + data
}

const NODES: [&str; 3] = ["node1", "node2", "node3"];

fn n(s: usize) -> String {
    s.to_string()
}

fn num(v: &Value, key: &str) -> Result<f64> {
    v[key].as_f64().with_context(|| format!("no {key} in {v}"))
}

/// Creates (or puts) in parallel, one per node; aggregate rate over first start → last end.
fn parallel(lab: &Lab, args: impl Fn(usize) -> Vec<String>, total: usize) -> Result<f64> {
    let children = (0..3)
        .map(|k| {
            let a = args(k);
            lab.spawn_worker(NODES[k], &a.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .collect::<Result<Vec<_>>>()?;
    let results = children.into_iter().map(join).collect::<Result<Vec<_>>>()?;
    let start = results
        .iter()
        .filter_map(|r| r["start_ns"].as_u64())
        .min()
        .context("start")?;
    let end = results
        .iter()
        .filter_map(|r| r["end_ns"].as_u64())
        .max()
        .context("end")?;
    Ok(total as f64 / ((end - start) as f64 / 1e9))
}

/// Writer on node1, poller on node3 (started first); delays close→readable in ms.
fn delays(lab: &Lab, writer: &[&str], poller: &[&str]) -> Result<Vec<f64>> {
    let poll = lab.spawn_worker("node3", poller)?;
    let written = lab.worker("node1", writer);
    let seen = join(poll)?;
    let written = written?;
    let ends = written["ends_ns"].as_array().context("ends")?;
    let seen = seen["seen_ns"].as_array().context("seen")?;
    Ok(ends
        .iter()
        .zip(seen)
        .filter_map(|(e, s)| Some((s.as_u64()? as f64 - e.as_u64()? as f64) / 1e6))
        .collect())
}

fn set_delays(sys: &mut System, d: Result<Vec<f64>>) {
    match d {
        Ok(mut d) => {
            let (p50, p99) = p50_p99(&mut d);
            sys.set("repl_p50_ms", Ok(p50));
            sys.set("repl_p99_ms", Ok(p99));
            sys.set_extra("repl_p50_ms", json!({ "samples": d.len() }));
        }
        Err(e) => {
            sys.set("repl_p99_ms", Err(anyhow::anyhow!("{e:#}")));
            sys.set("repl_p50_ms", Err(e));
        }
    }
}

fn rss(sys: &mut System, key: &str, pids: &[u32]) {
    let per: Vec<Option<f64>> = pids.iter().map(|&p| rss_mib(p)).collect();
    let max = per.iter().flatten().copied().fold(f64::NAN, f64::max);
    let value = if per.iter().all(Option::is_some) {
        Ok(max)
    } else {
        Err(anyhow::anyhow!("process gone"))
    };
    sys.set(key, value);
    sys.set_extra(key, json!({ "per_node": per }));
}

pub fn quorate_main(lab: &Lab, s: &Sizes, q: &mut System) -> Result<Vec<u32>> {
    let pids = lab.pmxcfs_pids()?;
    rss(q, "rss_before_mib", &pids);
    let r = lab.worker(
        "node1",
        &["create", "/etc/pve/bench/seq", &n(s.files), "512"],
    );
    q.set("create_seq", r.and_then(|v| num(&v, "per_s")));
    let r = parallel(
        lab,
        |k| {
            [
                "create".into(),
                format!("/etc/pve/bench/w{k}"),
                n(s.files),
                "512".into(),
            ]
            .to_vec()
        },
        3 * s.files,
    );
    q.set("create_3w", r);
    let r = lab.worker(
        "node1",
        &[
            "overwrite",
            "/etc/pve/bench/ow.bin",
            &n(s.overwrites),
            "4096",
        ],
    );
    q.set("overwrite", r.and_then(|v| num(&v, "per_s")));
    lab.exec_ok("node1", &["mkdir", "-p", "/etc/pve/bench/repl"])?;
    let (ns, gap) = (n(s.samples), s.gap_ms.to_string());
    let d = delays(
        lab,
        &["writer", "/etc/pve/bench/repl", &ns, "512", &gap],
        &["poll", "/etc/pve/bench/repl", &ns, "512", "120"],
    );
    set_delays(q, d);
    let r = lab.worker("node1", &["time-cmd", &n(s.pvecm_runs), "pvecm", "status"]);
    q.set(
        "pvecm_status_ms",
        r.and_then(|v| {
            if v["ok"] == true {
                num(&v, "p50_ms")
            } else {
                bail!("pvecm status failed")
            }
        }),
    );
    Ok(pids)
}

fn quorate_flag(lab: &Lab, node: &str) -> Option<bool> {
    let out = lab.exec_stdout(node, &["quorate-probe", "quorum"]).ok()?;
    serde_json::from_str::<Value>(&out).ok()?["quorate"].as_bool()
}

fn wait_quorate(lab: &Lab, node: &str, want: bool, secs: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while quorate_flag(lab, node) != Some(want) {
        if Instant::now() > deadline {
            bail!("{node} did not become quorate={want} within {secs} s");
        }
        sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Catch-up of node3: seconds from `heal` and from node3's first quorate 3-node membership
/// until node3's copy of the directory was complete (and its digest matched node1's).
pub struct Catchup {
    pub from_heal_s: f64,
    pub from_membership_s: f64,
    pub detail: Value,
}

/// Cut node3, write `catchup` files on node1, heal; node3 times membership formation and
/// the moment its tree matches.
pub fn catchup(lab: &Lab, s: &Sizes) -> Result<Catchup> {
    let dir = "/etc/pve/bench/catchup";
    lab.ctl(&["cut", "node3"])?;
    let result = (|| {
        wait_quorate(lab, "node3", false, 60)?;
        wait_quorate(lab, "node1", true, 60)?;
        lab.worker("node1", &["create", dir, &n(s.catchup), "512"])?;
        let digest = lab.worker("node1", &["digest", dir])?;
        let want = digest["digest"].as_str().context("digest")?.to_string();
        let mut watch = lab.spawn_worker(
            "node3",
            &["catchup-watch", dir, &n(s.catchup), &want, "3", "600"],
        )?;
        wait_ready(&mut watch)?;
        let healed = mono_ns();
        lab.ctl(&["heal", "node3"])?;
        let m = join(watch)?;
        let at = |key: &str| -> Result<f64> {
            let ns = m[key].as_u64().with_context(|| format!("{key} in {m}"))?;
            Ok((ns as f64 - healed as f64) / 1e9)
        };
        let (formed, complete, matched) = (at("formed_ns")?, at("complete_ns")?, at("match_ns")?);
        Ok(Catchup {
            from_heal_s: complete,
            from_membership_s: complete - formed,
            detail: json!({
                "files": s.catchup,
                "membership_formed_s": formed,
                "tree_complete_s": complete,
                "digest_matched_s": matched,
                "note": "seconds after heal, measured in node3",
            }),
        })
    })();
    if result.is_err() {
        let _ = lab.ctl(&["heal", "node3"]);
    }
    result
}

pub fn set_catchup(q: &mut System, r: Result<Catchup>) {
    match r {
        Ok(c) => {
            q.set("catchup_s", Ok(c.from_heal_s));
            q.set("catchup_formed_s", Ok(c.from_membership_s));
            q.set_extra("catchup_s", c.detail.clone());
            q.set_extra("catchup_formed_s", c.detail);
        }
        Err(e) => {
            q.set("catchup_formed_s", Err(anyhow::anyhow!("{e:#}")));
            q.set("catchup_s", Err(e));
        }
    }
}

/// Reads the worker's stderr until it says `ready` (its tracking is set up).
fn wait_ready(child: &mut std::process::Child) -> Result<()> {
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().context("worker stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        if line? == "ready" {
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(());
        }
    }
    bail!("worker ended before it was ready")
}

/// One raw CPG run: the sender's rate and what every member saw.
struct CpgRun {
    per_s: f64,
    secs: f64,
    detail: Value,
}

/// Raw CPG with node2 and node3 joined: `msgs` AGREED messages of `size` bytes from node1,
/// timed from the first mcast until node1's own delivery of the last; fails unless both
/// other members received every message.
fn cpg_run(lab: &Lab, msgs: usize, size: usize) -> Result<CpgRun> {
    let (sent, members) = with_cpg_members(lab, &["cpg-send", &n(msgs), &n(size), "3"])?;
    let start = sent["start_ns"].as_u64().context("start_ns")?;
    let ms_after_start = |ns: &Value| ns.as_u64().map(|t| (t as f64 - start as f64) / 1e6);
    let mut seen = Vec::new();
    for (node, m) in ["node2", "node3"].iter().zip(&members) {
        let received = m["received"].as_u64().context("received")?;
        if received != msgs as u64 {
            bail!("CPG member {node} received {received} of {msgs} messages");
        }
        seen.push(json!({ "node": node, "received": received,
                          "last_ms": ms_after_start(&m["last_ns"]) }));
    }
    let secs = num(&sent, "secs")?;
    Ok(CpgRun {
        per_s: num(&sent, "per_s")?,
        secs,
        detail: json!({
            "msg_bytes": size, "msgs": msgs, "unit_note": "msgs/s",
            "sender_own_last_ms": secs * 1e3,
            "sender_mcast_done_ms": ms_after_start(&sent["sent_ns"]),
            "try_again": sent["try_again"], "members": seen,
        }),
    })
}

fn set_cpg(c: &mut System, key: &str, run: &Result<CpgRun>, value: impl Fn(&CpgRun) -> f64) {
    match run {
        Ok(r) => {
            c.set(key, Ok(value(r)));
            c.set_extra(key, r.detail.clone());
        }
        Err(e) => c.set(key, Err(anyhow::anyhow!("{e:#}"))),
    }
}

pub fn cpg(lab: &Lab, s: &Sizes, c: &mut System) {
    let create = cpg_run(lab, s.cpg_msgs, write_msg_size("bench/seq/f00000", 512));
    set_cpg(c, "create_seq", &create, |r| r.per_s);
    set_cpg(c, "create_3w", &create, |r| r.per_s);
    let ow = cpg_run(lab, s.cpg_msgs, write_msg_size("bench/ow.bin", 4096));
    set_cpg(c, "overwrite", &ow, |r| r.per_s);
}

/// One blocking AGREED round trip per operation, messages of the size of figures 1–3: the
/// most a file system on CPG can do when a write returns only after its delivery (one sender
/// on node1; for figure 2 one on every node at once).
pub fn cpg_round_trips(lab: &Lab, s: &Sizes, rt: &mut System) {
    let create = write_msg_size("bench/seq/f00000", 512);
    rt.set("create_seq", one_sender_round_trips(lab, s.files, create));
    let three = parallel(
        lab,
        |_| {
            ["cpg-round-trips", &n(s.files), &n(create), "3", "3"]
                .map(String::from)
                .to_vec()
        },
        3 * s.files,
    );
    rt.set("create_3w", three);
    let ow = write_msg_size("bench/ow.bin", 4096);
    rt.set("overwrite", one_sender_round_trips(lab, s.overwrites, ow));
}

fn one_sender_round_trips(lab: &Lab, msgs: usize, size: usize) -> Result<f64> {
    let sender = ["cpg-round-trips", &n(msgs), &n(size), "3", "1"];
    let (sent, _) = with_cpg_members(lab, &sender)?;
    num(&sent, "per_s")
}

/// Runs a CPG sender worker on node1 with `cpg-member` workers on node2 and node3; returns
/// the sender's and the members' reports. If the sender fails, its error is returned and the
/// members (which would wait for its stop message) are killed.
fn with_cpg_members(lab: &Lab, sender: &[&str]) -> Result<(Value, Vec<Value>)> {
    let members = ["node2", "node3"]
        .map(|node| lab.spawn_worker(node, &["cpg-member", "180"]))
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    match lab.worker("node1", sender) {
        Ok(sent) => {
            let members = members.into_iter().map(join).collect::<Result<_>>()?;
            Ok((sent, members))
        }
        Err(e) => {
            for mut member in members {
                let _ = member.kill();
                let _ = member.wait();
            }
            Err(e)
        }
    }
}

/// Figures 1–3 on a local-mode pmxcfs in node1 (no replication): what FUSE and the database
/// alone allow on this machine.
pub fn local_ceiling(lab: &Lab, s: &Sizes, local: &mut System) {
    match lab.worker("node1", &["local-ceiling", &n(s.files), &n(s.overwrites)]) {
        Ok(v) => {
            for key in ["create_seq", "create_3w", "overwrite"] {
                local.set(key, num(&v, key));
            }
        }
        Err(e) => local.unavailable_all(&format!("{e:#}")),
    }
}

/// Raw CPG time for as many create-sized messages as the catch-up wrote (the same run as
/// Quorate's catch-up, right after it).
pub fn cpg_catchup(lab: &Lab, s: &Sizes, c: &mut System) {
    let size = write_msg_size("bench/catchup/f00000", 512);
    let run = cpg_run(lab, s.catchup, size);
    set_cpg(c, "catchup_formed_s", &run, |r| r.secs);
    c.set(
        "catchup_s",
        Err(anyhow::anyhow!(
            "includes Corosync's membership formation; compare catchup_formed_s"
        )),
    );
}

pub fn etcd(lab: &Lab, s: &Sizes, e: &mut System) -> Result<()> {
    let cluster = Cluster::start(lab)?;
    rss(e, "rss_before_mib", cluster.pids());
    let addr = |k: usize| format!("10.99.0.{k}:2379");
    let r = lab.worker("node1", &["etcd-put", &addr(1), &n(s.files), "512", "/seq"]);
    e.set("create_seq", r.and_then(|v| num(&v, "per_s")));
    let r = parallel(
        lab,
        |k| {
            [
                "etcd-put".into(),
                addr(k + 1),
                n(s.files),
                "512".into(),
                format!("/w{k}"),
            ]
            .to_vec()
        },
        3 * s.files,
    );
    e.set("create_3w", r);
    let r = lab.worker(
        "node1",
        &["etcd-overwrite", &addr(1), &n(s.overwrites), "4096"],
    );
    let r = r.and_then(|v| num(&v, "per_s"));
    e.set("overwrite", r);
    let (ns, gap) = (n(s.samples), s.gap_ms.to_string());
    let d = delays(
        lab,
        &["etcd-writer", &addr(1), &ns, "512", &gap, "/repl"],
        &["etcd-poll", &addr(3), &ns, "/repl", "120"],
    );
    set_delays(e, d);
    rss(e, "rss_after_mib", cluster.pids());
    drop(cluster);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    fn child(script: &str) -> std::process::Child {
        Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    #[test]
    fn wait_ready_returns_at_the_ready_line_and_the_result_still_arrives() {
        let mut c = child("echo starting >&2; echo ready >&2; sleep 0.1; echo '{\"ok\":1}'");
        wait_ready(&mut c).unwrap();
        assert_eq!(join(c).unwrap()["ok"], 1);
    }

    #[test]
    fn wait_ready_fails_when_the_worker_ends_first() {
        let mut c = child("echo failed >&2; exit 1");
        assert!(wait_ready(&mut c).is_err());
    }

    #[test]
    fn write_message_size_is_header_path_nul_and_data() {
        assert_eq!(
            write_msg_size("bench/seq/f00000", 512),
            24 + 20 + 16 + 1 + 512
        );
    }
}
