//! The etcd peer: in-node client workloads (`worker etcd-*`) over the v3 JSON gateway with
//! reqwest (one keep-alive connection per client), and the host side that starts a 3-member
//! cluster inside the lab nodes and stops it by pid.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::clock::mono_ns;
use crate::lab::Lab;
use crate::worker::payload;

/// A v3 JSON-gateway client bound to one member.
struct Client {
    http: reqwest::blocking::Client,
    base: String,
}

impl Client {
    fn connect(addr: &str) -> Result<Client> {
        // The workspace builds reqwest without a default TLS provider; plain HTTP still needs
        // one installed to build a client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Client {
            http,
            base: format!("http://{addr}"),
        })
    }

    /// POSTs `body` to `path`; the JSON answer, or an error on a non-success status.
    fn post(&mut self, path: &str, body: &Value) -> Result<Value> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .with_context(|| format!("POST {}{path}", self.base))?;
        let status = resp.status();
        if !status.is_success() {
            bail!("HTTP {status}: {}", resp.text().unwrap_or_default());
        }
        Ok(resp.json()?)
    }
}

fn put(c: &mut Client, key: &str, value: &str) -> Result<()> {
    c.post(
        "/v3/kv/put",
        &json!({ "key": B64.encode(key), "value": value }),
    )?;
    Ok(())
}

/// `etcd-put ADDR N SIZE PREFIX`: N sequential puts on one connection.
pub fn put_many(addr: &str, n: usize, size: usize, prefix: &str) -> Result<Value> {
    let mut c = Client::connect(addr)?;
    let value = B64.encode(payload(size));
    let (start, cpu) = (mono_ns(), crate::cpu::self_s());
    for i in 0..n {
        put(&mut c, &format!("{prefix}/f{i:05}"), &value)?;
    }
    let (end, cpu) = (mono_ns(), crate::cpu::self_s() - cpu);
    Ok(
        json!({ "n": n, "start_ns": start, "end_ns": end, "cpu_s": cpu,
               "per_s": n as f64 / ((end - start) as f64 / 1e9) }),
    )
}

/// `etcd-writer ADDR N SIZE GAP_MS PREFIX`: keys PREFIX/rNNNNN, GAP_MS apart.
pub fn writer(addr: &str, n: usize, size: usize, gap_ms: u64, prefix: &str) -> Result<Value> {
    let mut c = Client::connect(addr)?;
    let value = B64.encode(payload(size));
    let mut ends = Vec::with_capacity(n);
    for i in 0..n {
        sleep(Duration::from_millis(gap_ms));
        put(&mut c, &format!("{prefix}/r{i:05}"), &value)?;
        ends.push(mono_ns());
    }
    Ok(json!({ "ends_ns": ends }))
}

/// `etcd-poll ADDR N PREFIX TIMEOUT_S`: serializable (member-local) gets until each key exists.
pub fn poll(addr: &str, n: usize, prefix: &str, timeout_s: u64) -> Result<Value> {
    let mut c = Client::connect(addr)?;
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    let mut seen = Vec::with_capacity(n);
    for i in 0..n {
        let key = B64.encode(format!("{prefix}/r{i:05}"));
        loop {
            let r = c.post(
                "/v3/kv/range",
                &json!({ "key": key, "serializable": true, "count_only": true }),
            )?;
            let count = r["count"].as_str().and_then(|s| s.parse::<u64>().ok());
            if count.unwrap_or(0) > 0 {
                break;
            }
            if Instant::now() > deadline {
                bail!("timed out waiting for key {i}");
            }
            sleep(Duration::from_micros(200));
        }
        seen.push(mono_ns());
    }
    Ok(json!({ "seen_ns": seen }))
}

/// A running 3-member etcd cluster inside the lab nodes (etcd started by us, so stopped by us).
pub struct Cluster {
    pids: Vec<u32>,
    dir: String,
}

pub const DATA_DIR: &str = "/tmp/quorate-bench-etcd";

impl Cluster {
    /// Starts `etcd` on node1..3 (10.99.0.K:2379/2380) and waits until puts work everywhere.
    pub fn start(lab: &Lab) -> Result<Cluster> {
        if !std::path::Path::new("/usr/bin/etcd").exists() {
            bail!("etcd not installed (Debian package etcd-server)");
        }
        let _ = std::fs::remove_dir_all(DATA_DIR);
        std::fs::create_dir_all(DATA_DIR)?;
        let mut cluster = Cluster {
            pids: Vec::new(),
            dir: DATA_DIR.into(),
        };
        let initial: Vec<String> = (1..=3)
            .map(|k| format!("e{k}=http://10.99.0.{k}:2380"))
            .collect();
        for k in 1..=3 {
            let ip = format!("10.99.0.{k}");
            let script = format!(
                "exec setsid etcd --name e{k} --data-dir {DATA_DIR}/e{k} \
                 --listen-client-urls http://{ip}:2379 --advertise-client-urls http://{ip}:2379 \
                 --listen-peer-urls http://{ip}:2380 --initial-advertise-peer-urls http://{ip}:2380 \
                 --initial-cluster {} --initial-cluster-token bench --initial-cluster-state new \
                 >{DATA_DIR}/e{k}.log 2>&1 </dev/null",
                initial.join(",")
            );
            let out = lab.exec_ok(
                &format!("node{k}"),
                &["sh", "-c", &format!("( {script} ) & echo $!")],
            )?;
            cluster.pids.push(out.trim().parse()?);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for k in 1..=3 {
            let addr = format!("10.99.0.{k}:2379");
            let node = format!("node{k}");
            while lab
                .worker(&node, &["etcd-put", &addr, "1", "8", "/ready"])
                .is_err()
            {
                if Instant::now() > deadline {
                    bail!("etcd cluster did not become ready (logs in {DATA_DIR})");
                }
                sleep(Duration::from_millis(500));
            }
        }
        Ok(cluster)
    }

    pub fn pids(&self) -> &[u32] {
        &self.pids
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for &pid in &self.pids {
            crate::lab::terminate(pid);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `etcd-clear ADDR PREFIX KEY`: deletes every key under PREFIX and the key KEY, then
/// compacts the history, so the next round starts from a store of the same size (as Quorate's
/// rounds start from the same tree).
pub fn clear(addr: &str, prefix: &str, key: &str) -> Result<Value> {
    let mut c = Client::connect(addr)?;
    let mut range_end = prefix.as_bytes().to_vec();
    let last = range_end.last_mut().context("empty prefix")?;
    *last += 1;
    c.post(
        "/v3/kv/deleterange",
        &json!({ "key": B64.encode(prefix), "range_end": B64.encode(range_end) }),
    )?;
    let deleted = c.post("/v3/kv/deleterange", &json!({ "key": B64.encode(key) }))?;
    // The gateway prints 64-bit integers as strings.
    let revision = deleted["header"]["revision"]
        .as_str()
        .context("no revision in the deleterange answer")?
        .to_string();
    c.post(
        "/v3/kv/compaction",
        &json!({ "revision": revision, "physical": true }),
    )?;
    Ok(json!({ "compacted_at": revision }))
}

/// `etcd-overwrite ADDR N SIZE`: N puts of one key.
pub fn overwrite(addr: &str, n: usize, size: usize) -> Result<Value> {
    let mut c = Client::connect(addr)?;
    let value = B64.encode(payload(size));
    let start = Instant::now();
    for _ in 0..n {
        put(&mut c, "/ow", &value)?;
    }
    Ok(json!({ "n": n, "per_s": n as f64 / start.elapsed().as_secs_f64() }))
}
