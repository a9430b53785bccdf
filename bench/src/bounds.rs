//! What bounds Quorate's figures from above, measured on the same lab nodes: the raw CPG
//! limit, one blocking CPG round trip per operation, the minimal file system of figure 2
//! ([`crate::minfs`]) and the same pmxcfs in local mode.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::cpu::Meter;
use crate::figures::System;
use crate::lab::{join, Lab};
use crate::run::{metered, n, num, wait_ready, write_msg_size, Sizes, NODES};

/// One raw CPG run: the sender's rate and what every member saw.
pub(crate) struct CpgRun {
    pub per_s: f64,
    pub secs: f64,
    pub detail: Value,
}

/// Raw CPG with node2 and node3 joined: `msgs` AGREED messages of `size` bytes from node1,
/// timed from the first mcast until node1's own delivery of the last; fails unless both
/// other members received every message.
pub(crate) fn cpg_run(lab: &Lab, msgs: usize, size: usize) -> Result<CpgRun> {
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

/// Returns the CPU the three corosync daemons spent per create-sized message while moving
/// them as fast as they could (µs): their cheapest cost per message, for the budget.
pub fn cpg(lab: &Lab, s: &Sizes, c: &mut System) -> Option<f64> {
    let corosync = lab.service_pids("corosync").ok()?;
    let meter = Meter::start(&[("corosync", &corosync)]);
    let create = cpg_run(lab, s.cpg_msgs, write_msg_size("bench/seq/f00000", 512));
    let per_msg = meter.and_then(|m| m.per_op_us(s.cpg_msgs)?["corosync"].as_f64());
    set_cpg(c, "create_seq", &create, |r| r.per_s);
    set_cpg(c, "create_3w", &create, |r| r.per_s);
    let ow = cpg_run(lab, s.cpg_msgs, write_msg_size("bench/ow.bin", 4096));
    set_cpg(c, "overwrite", &ow, |r| r.per_s);
    per_msg.filter(|_| create.is_ok())
}

/// One blocking AGREED round trip per operation, messages of the size of figures 1–3: the
/// most a file system on CPG can do when a write returns only after its delivery (one sender
/// on node1; figure 2's, one on every node at once, is measured in the write rounds).
pub fn cpg_round_trips(lab: &Lab, s: &Sizes, rt: &mut System) {
    let create = write_msg_size("bench/seq/f00000", 512);
    rt.set("create_seq", one_sender_round_trips(lab, s.files, create));
    let ow = write_msg_size("bench/ow.bin", 4096);
    rt.set("overwrite", one_sender_round_trips(lab, s.overwrites, ow));
}

/// Figure 2's ceiling: one round-trip sender on every node at once, `files` messages each,
/// with the CPU per round trip of `corosync`, of the senders and of the machine.
pub(crate) fn three_sender_round_trips(
    lab: &Lab,
    files: usize,
    corosync: &[u32],
) -> (Result<f64>, Option<Value>) {
    let create = n(write_msg_size("bench/seq/f00000", 512));
    let sender = |_| {
        ["cpg-round-trips", &n(files), &create, "3", "3"]
            .map(String::from)
            .to_vec()
    };
    let (rate, mut cpu) = metered(lab, sender, 3 * files, &[("corosync", corosync)]);
    if let Some(Value::Object(cpu)) = cpu.as_mut() {
        if let Some(senders) = cpu.remove("writers") {
            cpu.insert("senders".into(), senders);
        }
    }
    (rate, cpu)
}

/// Figure 2 on the minimal file system with `storage` (`sqlite` or `none`): a server on every
/// node, then one writer per node into its mount. The aggregate rate, and µs of CPU per file
/// of the servers, the writers and the machine.
pub(crate) fn minimal_fs_3w(
    lab: &Lab,
    files: usize,
    storage: &str,
) -> (Result<f64>, Option<Value>) {
    let total = 3 * files;
    let servers = match start_minimal_fs(lab, total, storage) {
        Ok(servers) => servers,
        Err(e) => return (Err(e.context("minimal file system")), None),
    };
    let writer = |k: usize| {
        let dir = format!("{}/w{k}", crate::minfs::MOUNTPOINT);
        ["create".into(), dir, n(files), "512".into()].to_vec()
    };
    let (rate, cpu) = metered(lab, writer, total, &[]);
    if rate.is_err() {
        kill_all(servers);
        return (rate, None);
    }
    let reports: Result<Vec<Value>> = servers.into_iter().map(join).collect();
    let servers_s = reports.map(|r| r.iter().map(|r| r["cpu_s"].as_f64()).sum::<Option<f64>>());
    match (servers_s, cpu) {
        (Ok(Some(servers_s)), Some(mut cpu)) => {
            cpu["servers"] = json!(servers_s * 1e6 / total as f64);
            (rate, Some(cpu))
        }
        (Err(e), _) => (Err(e.context("minimal file system server")), None),
        _ => (rate, None),
    }
}

/// A minimal file system server on every node, each mounted and all in one CPG group.
fn start_minimal_fs(lab: &Lab, total: usize, storage: &str) -> Result<Vec<std::process::Child>> {
    let args = ["minfs-serve", "3", &n(total), storage, "300"];
    let mut servers = Vec::new();
    for node in NODES {
        match lab.spawn_worker(node, &args) {
            Ok(child) => servers.push(child),
            Err(e) => {
                kill_all(servers);
                return Err(e);
            }
        }
    }
    for k in 0..servers.len() {
        if let Err(e) = wait_ready(&mut servers[k]) {
            kill_all(servers);
            return Err(e);
        }
    }
    Ok(servers)
}

fn kill_all(children: Vec<std::process::Child>) {
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
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
            kill_all(members);
            Err(e)
        }
    }
}

/// Figures 1–3 on a local-mode pmxcfs in node1 (no replication): what FUSE and the database
/// alone allow on this machine.
/// Returns the CPU per file of its 3 writers (`{"writers", "pmxcfs"}` µs), or `null`.
pub fn local_ceiling(lab: &Lab, s: &Sizes, local: &mut System) -> Value {
    match lab.worker("node1", &["local-ceiling", &n(s.files), &n(s.overwrites)]) {
        Ok(v) => {
            for key in ["create_seq", "create_3w", "overwrite"] {
                local.set(key, num(&v, key));
            }
            v["cpu_3w_us_per_file"].clone()
        }
        Err(e) => {
            local.unavailable_all(&format!("{e:#}"));
            Value::Null
        }
    }
}
