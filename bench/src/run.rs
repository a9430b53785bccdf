//! Orchestration of Quorate's and etcd's figures on one lab: the write rounds (with figure 2's
//! bounds from [`crate::bounds`] in each), replication delay, `pvecm status`, catch-up (each
//! round followed by raw CPG) and RSS.

use std::collections::BTreeMap;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::bounds::{cpg_run, minimal_fs_3w, three_sender_round_trips};
use crate::clock::{median, mono_ns, p50_p99};
use crate::cpu::Meter;
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
    /// Rounds of figures 1–3 and 5 (each reported as the median of its rounds).
    pub rounds: usize,
}

impl Sizes {
    pub fn new(smoke: bool, rounds: Option<usize>) -> Sizes {
        if smoke {
            Sizes {
                files: 20,
                overwrites: 20,
                samples: 10,
                gap_ms: 20,
                catchup: 200,
                pvecm_runs: 5,
                cpg_msgs: 500,
                rounds: rounds.unwrap_or(2),
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
                rounds: rounds.unwrap_or(3),
            }
        }
    }
}

/// DFSM write message for a file: NORMAL header 24 + FUSE-op header 20 + path + NUL + data.
pub fn write_msg_size(path: &str, data: usize) -> usize {
    24 + 20 + path.len() + 1 + data
}

pub(crate) const NODES: [&str; 3] = ["node1", "node2", "node3"];

pub(crate) fn n(s: usize) -> String {
    s.to_string()
}

pub(crate) fn num(v: &Value, key: &str) -> Result<f64> {
    v[key].as_f64().with_context(|| format!("no {key} in {v}"))
}

/// Workers started at once, one per node (`args(k)` for node k+1); their results.
fn parallel_runs(lab: &Lab, args: impl Fn(usize) -> Vec<String>) -> Result<Vec<Value>> {
    let children = (0..3)
        .map(|k| {
            let a = args(k);
            lab.spawn_worker(NODES[k], &a.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .collect::<Result<Vec<_>>>()?;
    children.into_iter().map(join).collect()
}

/// Aggregate rate of parallel workers: `total` over first start → last end.
fn aggregate_rate(results: &[Value], total: usize) -> Result<f64> {
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

/// Parallel workers with the CPU they cost: the aggregate rate, and µs of CPU per operation
/// of each process group in `groups`, of the writers themselves and of the whole machine.
pub(crate) fn metered(
    lab: &Lab,
    args: impl Fn(usize) -> Vec<String>,
    total: usize,
    groups: &[(&'static str, &[u32])],
) -> (Result<f64>, Option<Value>) {
    let meter = Meter::start(groups);
    let runs = match parallel_runs(lab, args) {
        Ok(runs) => runs,
        Err(e) => return (Err(e), None),
    };
    let cpu = (|| {
        let mut cpu = meter?.per_op_us(total)?;
        let writers_s: f64 = runs
            .iter()
            .map(|r| r["cpu_s"].as_f64())
            .sum::<Option<f64>>()?;
        cpu["writers"] = json!(writers_s * 1e6 / total as f64);
        Some(cpu)
    })();
    (aggregate_rate(&runs, total), cpu)
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

pub fn rss(sys: &mut System, key: &str, pids: &[u32]) {
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

/// Repeated measurements of some figures: each figure is the median of its rounds, or the
/// first round's error.
#[derive(Default)]
pub struct Rounds(BTreeMap<&'static str, Result<Vec<f64>, String>>);

impl Rounds {
    pub fn add(&mut self, key: &'static str, round: Result<f64>) {
        let slot = self.0.entry(key).or_insert_with(|| Ok(Vec::new()));
        match (slot, round) {
            (Ok(values), Ok(v)) => values.push(v),
            (slot @ Ok(_), Err(e)) => *slot = Err(format!("{e:#}")),
            (Err(_), _) => {}
        }
    }

    /// Sets every figure to its median, with the rounds' values in `detail.rounds`.
    pub fn set_medians(self, sys: &mut System) {
        for (key, values) in self.0 {
            match values {
                Ok(values) => {
                    sys.set(key, Ok(median(&values)));
                    sys.set_extra(key, json!({ "rounds": values }));
                }
                Err(e) => sys.set(key, Err(anyhow::anyhow!(e))),
            }
        }
    }
}

/// The systems figures 1–3 are measured for in every round.
pub struct WriteSystems<'a> {
    pub quorate: &'a mut System,
    pub etcd: &'a mut System,
    /// Figure 2's CPG round-trip ceiling, which decides whether its target can be reached.
    pub round_trips: &'a mut System,
    /// Figure 2 on the minimal file system ([`crate::minfs`]): `create_3w` with SQLite,
    /// `create_3w_no_storage` without.
    pub minimal_fs: &'a mut System,
}

/// Figures 1–3, Quorate and etcd (when running) taking turns in every round, so that both
/// meet the same moments of a shared machine, and after them figure 2's CPG round-trip
/// ceiling and its minimal file system; each figure is the median of its rounds. Returns the
/// CPU per file of the 3-writer runs, per round trip of the ceiling's senders and per file of
/// the minimal file system (medians of the rounds) for the budget in `cpu_3w`:
/// `{"quorate": {...}, "etcd": {...}, "round_trips": {...}, "minimal_fs": {...}}`.
pub fn write_rounds(lab: &Lab, s: &Sizes, etcd: Option<&Cluster>, out: WriteSystems) -> Value {
    let (mut qr, mut er, mut rtr) = (Rounds::default(), Rounds::default(), Rounds::default());
    let mut mfr = Rounds::default();
    let (mut q_cpu, mut e_cpu, mut rt_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let mut mf_cpu = Vec::new();
    let pids = |service: &str| {
        lab.service_pids(service).unwrap_or_else(|e| {
            eprintln!("quorate-bench: no CPU figures for {service}: {e:#}");
            Vec::new()
        })
    };
    let (corosync, pmxcfs) = (pids("corosync"), pids("pmxcfs"));
    let etcd_pids = etcd.map(Cluster::pids).unwrap_or_default();
    let etcd_addr = |k: usize| format!("10.99.0.{k}:2379");
    for round in 0..s.rounds {
        let dir = |name: &str| format!("/etc/pve/bench/r{round}/{name}");
        let r = lab.worker("node1", &["create", &dir("seq"), &n(s.files), "512"]);
        qr.add("create_seq", r.and_then(|v| num(&v, "per_s")));
        if etcd.is_some() {
            let prefix = format!("/r{round}/seq");
            let r = lab.worker(
                "node1",
                &["etcd-put", &etcd_addr(1), &n(s.files), "512", &prefix],
            );
            er.add("create_seq", r.and_then(|v| num(&v, "per_s")));
        }
        let create = |k: usize| {
            [
                "create".into(),
                dir(&format!("w{k}")),
                n(s.files),
                "512".into(),
            ]
        };
        let groups = [("corosync", &corosync[..]), ("pmxcfs", &pmxcfs[..])];
        let (rate, cpu) = metered(lab, |k| create(k).to_vec(), 3 * s.files, &groups);
        qr.add("create_3w", rate);
        q_cpu.extend(cpu);
        if etcd.is_some() {
            let put = |k: usize| {
                let prefix = format!("/r{round}/w{k}");
                [
                    "etcd-put".into(),
                    etcd_addr(k + 1),
                    n(s.files),
                    "512".into(),
                    prefix,
                ]
            };
            let groups = [("etcd", etcd_pids)];
            let (rate, cpu) = metered(lab, |k| put(k).to_vec(), 3 * s.files, &groups);
            er.add("create_3w", rate);
            e_cpu.extend(cpu);
        }
        let (rate, cpu) = three_sender_round_trips(lab, s.files, &corosync);
        rtr.add("create_3w", rate);
        rt_cpu.extend(cpu);
        let (rate, cpu) = minimal_fs_3w(lab, s.files, "sqlite");
        mfr.add("create_3w", rate);
        mf_cpu.extend(cpu);
        mfr.add(
            "create_3w_no_storage",
            minimal_fs_3w(lab, s.files, "none").0,
        );
        let r = lab.worker(
            "node1",
            &["overwrite", &dir("ow.bin"), &n(s.overwrites), "4096"],
        );
        qr.add("overwrite", r.and_then(|v| num(&v, "per_s")));
        if etcd.is_some() {
            let r = lab.worker(
                "node1",
                &["etcd-overwrite", &etcd_addr(1), &n(s.overwrites), "4096"],
            );
            er.add("overwrite", r.and_then(|v| num(&v, "per_s")));
        }
        // Every round starts from the same tree (and etcd from a store of the same size),
        // and the end of the run holds as many files as a one-round run.
        if round + 1 < s.rounds {
            let mut cleared = lab
                .exec_ok("node1", &["rm", "-r", &format!("/etc/pve/bench/r{round}")])
                .map(drop);
            if etcd.is_some() && cleared.is_ok() {
                let prefix = format!("/r{round}/");
                cleared = lab
                    .worker("node1", &["etcd-clear", &etcd_addr(1), &prefix, "/ow"])
                    .map(drop);
            }
            if let Err(e) = cleared {
                let e = format!("{:#}", e.context("clearing the round's data"));
                for key in ["create_seq", "create_3w", "overwrite"] {
                    qr.add(key, Err(anyhow::anyhow!("{e}")));
                    er.add(key, Err(anyhow::anyhow!("{e}")));
                }
                rtr.add("create_3w", Err(anyhow::anyhow!("{e}")));
                mfr.add("create_3w", Err(anyhow::anyhow!("{e}")));
                break;
            }
        }
    }
    qr.set_medians(out.quorate);
    if etcd.is_some() {
        er.set_medians(out.etcd);
    }
    rtr.set_medians(out.round_trips);
    mfr.set_medians(out.minimal_fs);
    json!({
        "quorate": median_fields(&q_cpu),
        "etcd": median_fields(&e_cpu),
        "round_trips": median_fields(&rt_cpu),
        "minimal_fs": median_fields(&mf_cpu),
    })
}

/// Field-wise median of JSON objects of numbers (`null` when there are none).
fn median_fields(rounds: &[Value]) -> Value {
    let Some(Value::Object(first)) = rounds.first() else {
        return Value::Null;
    };
    let fields = first.keys().map(|key| {
        let values: Vec<f64> = rounds.iter().filter_map(|r| r[key].as_f64()).collect();
        (key.clone(), json!(median(&values)))
    });
    Value::Object(fields.collect())
}

/// Figures 4 and 7 for Quorate.
pub fn quorate_delay_and_status(lab: &Lab, s: &Sizes, q: &mut System) -> Result<()> {
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
    Ok(())
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
struct Catchup {
    from_heal_s: f64,
    from_membership_s: f64,
    detail: Value,
}

/// Cut node3, write `catchup` files into `dir` on node1, heal; node3 times membership
/// formation and the moment its tree matches.
fn catchup(lab: &Lab, s: &Sizes, dir: &str) -> Result<Catchup> {
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

/// Figure 5 in `s.rounds` rounds, each followed by raw CPG moving the same number of
/// create-sized messages; between rounds the catch-up directory is removed again, so every
/// round starts from the same tree.
pub fn catchup_rounds(lab: &Lab, s: &Sizes, q: &mut System, c: &mut System) {
    let (mut qr, mut cr) = (Rounds::default(), Rounds::default());
    let (mut details, mut raw_details) = (Vec::new(), Vec::new());
    for round in 0..s.rounds {
        let dir = format!("/etc/pve/bench/catchup{round}");
        match catchup(lab, s, &dir) {
            Ok(r) => {
                qr.add("catchup_s", Ok(r.from_heal_s));
                qr.add("catchup_formed_s", Ok(r.from_membership_s));
                details.push(r.detail);
            }
            Err(e) => {
                qr.add("catchup_formed_s", Err(anyhow::anyhow!("{e:#}")));
                qr.add("catchup_s", Err(e));
                break;
            }
        }
        let size = write_msg_size(&format!("bench/catchup{round}/f00000"), 512);
        let raw = cpg_run(lab, s.catchup, size);
        if let Ok(run) = &raw {
            raw_details.push(run.detail.clone());
        }
        cr.add("catchup_formed_s", raw.map(|r| r.secs));
        if round + 1 < s.rounds {
            if let Err(e) = lab.exec_ok("node1", &["rm", "-r", &dir]) {
                let e = format!("{:#}", e.context("removing the catch-up files"));
                for key in ["catchup_s", "catchup_formed_s"] {
                    qr.add(key, Err(anyhow::anyhow!("{e}")));
                }
                cr.add("catchup_formed_s", Err(anyhow::anyhow!("{e}")));
                break;
            }
        }
    }
    qr.set_medians(q);
    cr.set_medians(c);
    for key in ["catchup_s", "catchup_formed_s"] {
        if let Some(Value::Object(detail)) = q.detail_mut(key) {
            detail.insert("per_round".into(), json!(details));
        }
    }
    if let Some(Value::Object(detail)) = c.detail_mut("catchup_formed_s") {
        detail.insert("per_round".into(), json!(raw_details));
    }
    c.set(
        "catchup_s",
        Err(anyhow::anyhow!(
            "includes Corosync's membership formation; compare catchup_formed_s"
        )),
    );
}

/// Reads the worker's stderr until it says `ready` (its tracking is set up).
pub(crate) fn wait_ready(child: &mut std::process::Child) -> Result<()> {
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

/// Figures 4 and 6 (after) for etcd.
pub fn etcd_delay(lab: &Lab, s: &Sizes, cluster: &Cluster, e: &mut System) {
    let (ns, gap) = (n(s.samples), s.gap_ms.to_string());
    let d = delays(
        lab,
        &["etcd-writer", "10.99.0.1:2379", &ns, "512", &gap, "/repl"],
        &["etcd-poll", "10.99.0.3:2379", &ns, "/repl", "120"],
    );
    set_delays(e, d);
    rss(e, "rss_after_mib", cluster.pids());
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
    fn rounds_report_the_median_or_the_first_error() {
        let mut rounds = Rounds::default();
        for v in [300.0, 100.0, 200.0] {
            rounds.add("create_seq", Ok(v));
        }
        rounds.add("overwrite", Ok(5.0));
        rounds.add("overwrite", Err(anyhow::anyhow!("first")));
        rounds.add("overwrite", Err(anyhow::anyhow!("second")));
        let mut sys = System::default();
        rounds.set_medians(&mut sys);
        let doc = sys.into_value("-");
        assert_eq!(doc["create_seq"]["value"], 200.0);
        assert_eq!(
            doc["create_seq"]["detail"]["rounds"],
            json!([300.0, 100.0, 200.0])
        );
        assert_eq!(doc["overwrite"]["unavailable"], "first");
    }

    #[test]
    fn median_fields_takes_each_field_over_the_rounds() {
        let rounds = [json!({"a": 1.0, "b": 10.0}), json!({"a": 3.0, "b": 30.0})];
        assert_eq!(median_fields(&rounds), json!({"a": 2.0, "b": 20.0}));
        assert_eq!(median_fields(&[]), Value::Null);
    }

    #[test]
    fn write_message_size_is_header_path_nul_and_data() {
        assert_eq!(
            write_msg_size("bench/seq/f00000", 512),
            24 + 20 + 16 + 1 + 512
        );
    }
}
