//! The no-replication ceiling: the same pmxcfs binary in local mode (`-l`, no Corosync), on a
//! mount point and database of its own inside node1 (on the same file system as the node's
//! own database), running figures 1–3. Whatever a file system costs here (FUSE requests, the
//! tree, SQLite commits) a replicated write pays too.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::worker;

/// A local-mode pmxcfs started by this process; stopped (SIGTERM, so it unmounts) on drop.
struct LocalPmxcfs {
    child: Child,
    dir: PathBuf,
    mountpoint: PathBuf,
}

impl LocalPmxcfs {
    fn start(pmxcfs: &Path) -> Result<LocalPmxcfs> {
        let dir = fresh_dir()?;
        let mountpoint = dir.join("mnt");
        fs::create_dir(&mountpoint)?;
        let log = fs::File::create(dir.join("pmxcfs.log"))?;
        let child = Command::new(pmxcfs)
            .args(["-f", "-l", "--mountpoint"])
            .arg(&mountpoint)
            .arg("--db")
            .arg(dir.join("config.db"))
            .arg("--pidfile")
            .arg(dir.join("pmxcfs.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e).with_context(|| format!("cannot start {}", pmxcfs.display()));
            }
        };
        let mut local = LocalPmxcfs {
            child,
            dir,
            mountpoint,
        };
        local.wait_mounted()?;
        Ok(local)
    }

    fn cpu_s(&self) -> Option<f64> {
        crate::cpu::process_s(self.child.id())
    }

    fn mounted(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let dev = |p: &Path| fs::metadata(p).map(|m| m.dev()).ok();
        // A dead FUSE mount fails stat (ENOTCONN): still mounted.
        dev(&self.mountpoint) != dev(&self.dir)
    }

    fn wait_mounted(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.mounted() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = fs::read_to_string(self.dir.join("pmxcfs.log")).unwrap_or_default();
                bail!("local-mode pmxcfs ended ({status}): {}", log.trim());
            }
            if Instant::now() > deadline {
                bail!(
                    "local-mode pmxcfs did not mount {}",
                    self.mountpoint.display()
                );
            }
            sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

/// A new private directory next to the node's own database (so both sit on the same file
/// system), named after this process and the time; it must not exist yet.
fn fresh_dir() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let dir = PathBuf::from(format!(
        "/var/lib/pve-cluster/quorate-bench-local-{}-{nanos}",
        std::process::id()
    ));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

impl Drop for LocalPmxcfs {
    fn drop(&mut self) {
        // SAFETY: signalling our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            sleep(Duration::from_millis(20));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // Also after a crash, whose mount stays behind.
        if self.mounted() {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(&self.mountpoint)
                .status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `local-ceiling FILES OVERWRITES`: figures 1–3 against a local-mode pmxcfs (the binary next
/// to this one): FILES sequential creates of 512 B, then 3 writers at once (threads, FILES
/// each), then OVERWRITES rewrites of a 4 KiB file.
pub fn ceiling(files: usize, overwrites: usize) -> Result<Value> {
    let exe = std::env::current_exe()?;
    let pmxcfs = exe.with_file_name("pmxcfs");
    let local = LocalPmxcfs::start(&pmxcfs)?;
    let root = local.mountpoint.clone();
    let seq = worker::create(&root.join("seq"), files, 512)?;
    let cpu_before = (crate::cpu::self_s(), local.cpu_s());
    let writers: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|k| {
                let dir = root.join(format!("w{k}"));
                scope.spawn(move || worker::create(&dir, files, 512))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("writer thread"))
            .collect::<Result<_>>()
    })?;
    let start = writers.iter().filter_map(|w| w["start_ns"].as_u64()).min();
    let end = writers.iter().filter_map(|w| w["end_ns"].as_u64()).max();
    let (Some(start), Some(end)) = (start, end) else {
        bail!("writers reported no times");
    };
    let three = (3 * files) as f64 / ((end - start) as f64 / 1e9);
    let per_file_us = |s: f64| s * 1e6 / (3 * files) as f64;
    let cpu_3w = json!({
        "writers": per_file_us(crate::cpu::self_s() - cpu_before.0),
        "pmxcfs": cpu_before.1.zip(local.cpu_s()).map(|(before, after)| per_file_us(after - before)),
    });
    let ow = worker::overwrite(&root.join("ow.bin"), overwrites, 4096)?;
    drop(local);
    Ok(
        json!({ "create_seq": seq["per_s"], "create_3w": three, "overwrite": ow["per_s"],
               "cpu_3w_us_per_file": cpu_3w }),
    )
}
