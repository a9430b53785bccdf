//! The no-replication ceiling: the same pmxcfs binary in local mode (`-l`, no Corosync), on a
//! mount point and database of its own inside node1, running figures 1–3. Whatever a file
//! system costs here (FUSE requests, the tree, SQLite commits) a replicated write pays too.

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
        let dir = PathBuf::from(format!("/tmp/quorate-bench-local-{}", std::process::id()));
        let mountpoint = dir.join("mnt");
        fs::create_dir_all(&mountpoint)?;
        let child = Command::new(pmxcfs)
            .args(["-f", "-l", "--mountpoint"])
            .arg(&mountpoint)
            .arg("--db")
            .arg(dir.join("config.db"))
            .arg("--pidfile")
            .arg(dir.join("pmxcfs.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", pmxcfs.display()))?;
        let local = LocalPmxcfs {
            child,
            dir,
            mountpoint,
        };
        local.wait_mounted()?;
        Ok(local)
    }

    /// Mounted once the mount point's device differs from its parent's.
    fn wait_mounted(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let parent = fs::metadata(&self.dir)?.dev();
        let deadline = Instant::now() + Duration::from_secs(20);
        while fs::metadata(&self.mountpoint).map(|m| m.dev()).ok() == Some(parent) {
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
    let ow = worker::overwrite(&root.join("ow.bin"), overwrites, 4096)?;
    drop(local);
    Ok(json!({ "create_seq": seq["per_s"], "create_3w": three, "overwrite": ow["per_s"] }))
}
