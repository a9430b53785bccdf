//! In-node workloads (`quorate-bench worker …`). Each runs inside a lab node through
//! `quorate-lab exec`, times itself, and prints one JSON object on stdout.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::clock::{mono_ns, p50_p99};

/// open(O_WRONLY|O_CREAT|O_TRUNC, 0640) + write + close, like a config-file writer.
pub fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o640)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    f.write_all(data)
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

pub fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Name of the `i`-th file `create` writes.
fn file_name(i: usize) -> String {
    format!("f{i:05}")
}

/// `create DIR N SIZE`: N sequential creates of SIZE-byte files in DIR (made first).
pub fn create(dir: &Path, n: usize, size: usize) -> Result<Value> {
    fs::create_dir_all(dir).with_context(|| format!("mkdir {}", dir.display()))?;
    let data = payload(size);
    let (start, cpu) = (mono_ns(), crate::cpu::self_s());
    for i in 0..n {
        write_file(&dir.join(file_name(i)), &data)?;
    }
    let (end, cpu) = (mono_ns(), crate::cpu::self_s() - cpu);
    Ok(
        json!({ "n": n, "start_ns": start, "end_ns": end, "cpu_s": cpu,
               "per_s": n as f64 / ((end - start) as f64 / 1e9) }),
    )
}

/// `overwrite PATH N SIZE`: N truncating rewrites of one file.
pub fn overwrite(path: &Path, n: usize, size: usize) -> Result<Value> {
    let data = payload(size);
    write_file(path, &data)?;
    let start = Instant::now();
    for _ in 0..n {
        write_file(path, &data)?;
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(json!({ "n": n, "per_s": n as f64 / secs }))
}

/// `writer DIR N SIZE GAP_MS`: N new files rNNNNN, GAP_MS apart; close() times in mono ns.
pub fn writer(dir: &Path, n: usize, size: usize, gap_ms: u64) -> Result<Value> {
    let data = payload(size);
    let mut ends = Vec::with_capacity(n);
    for i in 0..n {
        sleep(Duration::from_millis(gap_ms));
        write_file(&dir.join(format!("r{i:05}")), &data)?;
        ends.push(mono_ns());
    }
    Ok(json!({ "ends_ns": ends }))
}

/// `poll DIR N SIZE TIMEOUT_S`: open+read rNNNNN in order until SIZE bytes arrive (stat would
/// see stale FUSE attributes); mono ns when each became readable.
pub fn poll(dir: &Path, n: usize, size: usize, timeout_s: u64) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    let mut seen = Vec::with_capacity(n);
    let mut buf = Vec::with_capacity(size);
    for i in 0..n {
        let path = dir.join(format!("r{i:05}"));
        loop {
            buf.clear();
            if let Ok(mut f) = fs::File::open(&path) {
                if f.read_to_end(&mut buf).is_ok() && buf.len() >= size {
                    break;
                }
            }
            if Instant::now() > deadline {
                bail!("timed out waiting for {}", path.display());
            }
            sleep(Duration::from_micros(200));
        }
        seen.push(mono_ns());
    }
    Ok(json!({ "seen_ns": seen }))
}

/// Digest over sorted names and contents of the files directly in DIR.
fn tree_digest(dir: &Path) -> Result<(String, usize)> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .with_context(|| format!("readdir {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let mut h = Sha256::new();
    for name in &names {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(fs::read(dir.join(name))?);
        h.update([0]);
    }
    let hex = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, names.len()))
}

/// `digest DIR`
pub fn digest(dir: &Path) -> Result<Value> {
    let (digest, files) = tree_digest(dir)?;
    Ok(json!({ "digest": digest, "files": files }))
}

/// Pause between two opens of the catch-up's last file. Each failed open is a FUSE lookup
/// served by the catching-up pmxcfs on the cores Corosync needs for the sync: at 0.2 ms
/// (until session 5) the watcher alone took about a fifth of a core. 1 ms bounds the
/// error to 1 ms of a ≈ 300 ms figure.
const CATCHUP_POLL: Duration = Duration::from_millis(1);

/// Polls DIR until it holds N entries and its digest equals DIGEST. Returns the mono ns at
/// which an open of the last file (`f{N-1}`, the writer's last) first succeeded in the pass
/// whose listing then showed N entries and whose digest matched, and the end of that digest.
/// The time is taken after the open returns: an open blocked behind a sync commit counts
/// only once the commit let it through.
fn wait_tree_ns(dir: &Path, n: usize, want: &str, timeout_s: u64) -> Result<(u64, u64)> {
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    let last = dir.join(file_name(n.saturating_sub(1)));
    loop {
        if fs::File::open(&last).is_ok() {
            let seen = mono_ns();
            let count = fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
            if count >= n && tree_digest(dir).is_ok_and(|(d, _)| d == want) {
                return Ok((seen, mono_ns()));
            }
        }
        if Instant::now() > deadline {
            let count = fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
            bail!(
                "{}: {count} of {n} files, digest not matched",
                dir.display()
            );
        }
        sleep(CATCHUP_POLL);
    }
}

/// `catchup-watch DIR N DIGEST MEMBERS TIMEOUT_S`: tracks Corosync's quorum (prints `ready`
/// on stderr once tracking), then waits in `wait_tree_ns`; adds the mono ns at which this node
/// first saw a quorate membership of MEMBERS nodes.
pub fn catchup_watch(
    dir: &Path,
    n: usize,
    want: &str,
    members: usize,
    timeout_s: u64,
) -> Result<Value> {
    crate::membership::start(members)?;
    if crate::membership::formed().is_some() {
        bail!("membership of {members} already formed before the heal");
    }
    eprintln!("ready");
    let (complete, matched) = wait_tree_ns(dir, n, want, timeout_s)?;
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    let formed = loop {
        if let Some((ns, _)) = crate::membership::formed() {
            break ns;
        }
        if Instant::now() > deadline {
            bail!("tree matched but no quorate membership of {members} was seen");
        }
        sleep(Duration::from_millis(1));
    };
    Ok(json!({ "formed_ns": formed, "complete_ns": complete, "match_ns": matched }))
}

/// `time-cmd N CMD…`: runs CMD N times; latency p50/p99 in ms and whether all succeeded.
pub fn time_cmd(n: usize, cmd: &[String]) -> Result<Value> {
    let (prog, args) = cmd.split_first().context("no command")?;
    let mut ms = Vec::with_capacity(n);
    let mut ok = true;
    for _ in 0..n {
        let start = Instant::now();
        let status = Command::new(prog)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("run {prog}"))?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        ok &= status.success();
    }
    let (p50, p99) = p50_p99(&mut ms);
    Ok(json!({ "p50_ms": p50, "p99_ms": p99, "ok": ok }))
}
