//! A pmxcfs daemon mounted on a scratch directory for one test; unmounted when dropped.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub struct Pmxcfs {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
}

impl Pmxcfs {
    /// Starts `pmxcfs -f -l` on a fresh database and waits until it serves files.
    pub fn start() -> Pmxcfs {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("mnt")).unwrap();
        let mut fs = Pmxcfs { dir, child: None };
        fs.restart();
        fs
    }

    pub fn mnt(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("db/config.db")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.mnt().join(rel)
    }

    pub fn command(&self) -> Command {
        pmxcfs_at(&self.mnt(), &self.db(), &self.dir.path().join("pmxcfs.pid"))
    }

    /// Starts the daemon (again) in the foreground and waits for the mount.
    pub fn restart(&mut self) {
        let child = self
            .command()
            .args(["-f", "-l"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_mounted();
    }

    pub fn wait_mounted(&mut self) {
        let start = Instant::now();
        while !is_mounted(&self.mnt()) || !self.path(".members").exists() {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().unwrap() {
                    let mut err = String::new();
                    use std::io::Read;
                    child
                        .stderr
                        .take()
                        .unwrap()
                        .read_to_string(&mut err)
                        .unwrap();
                    panic!("pmxcfs exited ({status}): {err}");
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "pmxcfs did not mount"
            );
            sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (clean stop) or SIGKILL, then waits until the daemon and its mount are gone.
    pub fn stop(&mut self, signal: i32) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, signal) };
            let _ = child.wait();
        }
        if is_mounted(&self.mnt()) {
            let path = std::ffi::CString::new(self.mnt().to_str().unwrap()).unwrap();
            // SAFETY: a valid path; detaching a mount left by a killed daemon.
            unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

impl Drop for Pmxcfs {
    fn drop(&mut self) {
        self.stop(libc::SIGTERM);
    }
}

/// `pmxcfs` with explicit mount point, database and pid file.
pub fn pmxcfs_at(mnt: &Path, db: &Path, pidfile: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pmxcfs"));
    cmd.arg("--mountpoint")
        .arg(mnt)
        .arg("--db")
        .arg(db)
        .arg("--pidfile")
        .arg(pidfile)
        .stdin(Stdio::null());
    cmd
}

pub fn is_mounted(path: &Path) -> bool {
    let target = path.to_string_lossy();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(&*target))
}

/// The errno of a failed std::fs call.
pub fn errno<T: std::fmt::Debug>(result: std::io::Result<T>) -> i32 {
    result
        .expect_err("the operation should fail")
        .raw_os_error()
        .expect("an OS error")
}

/// Runs a shell command as user nobody (uid 65534) with the given group.
pub fn sh_as(gid: u32, script: &str) -> Output {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            &format!("--regid={gid}"),
            "--clear-groups",
            "sh",
            "-c",
            script,
        ])
        .output()
        .unwrap()
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).unwrap().mode() & 0o7777
}
