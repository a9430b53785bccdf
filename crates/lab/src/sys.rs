//! Small wrappers over the system calls and programs the lab uses.

use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Runs a program to completion; on failure the error names the command and its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    run_with_input(program, args, None)
}

/// Like [`run`], feeding `input` to the program's standard input.
pub fn run_with_input(program: &str, args: &[&str], input: Option<&str>) -> Result<String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {program}"))?;
    if let Some(text) = input {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cstr(path: &Path) -> Result<CString> {
    Ok(CString::new(path.as_os_str().as_bytes())?)
}

/// `mount --bind path path` + `mount --make-private path`: a place where namespace handles can
/// be bind-mounted without propagating anywhere.
pub fn make_private_mount(path: &Path) -> Result<()> {
    let p = cstr(path)?;
    // SAFETY: valid NUL-terminated strings; null fs type/data are allowed for these flags.
    unsafe {
        if libc::mount(
            p.as_ptr(),
            p.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        ) != 0
        {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("cannot bind-mount {}", path.display()));
        }
        if libc::mount(
            std::ptr::null(),
            p.as_ptr(),
            std::ptr::null(),
            libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("cannot make {} private", path.display()));
        }
    }
    Ok(())
}

/// Detaches whatever is mounted at `path`; true if something was.
pub fn unmount(path: &Path) -> bool {
    let Ok(p) = cstr(path) else { return false };
    // SAFETY: valid NUL-terminated path.
    unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) == 0 }
}

/// Mount points at or below `dir` in this mount namespace, deepest first.
pub fn mounts_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut found: Vec<_> = info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| std::path::PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

/// An exclusive lock held until dropped (serializes `up`/`down` of one lab).
pub struct Lock(#[allow(dead_code)] File);

pub fn lock(path: &Path) -> Result<Lock> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    // SAFETY: a valid open descriptor.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot lock the lab");
    }
    Ok(Lock(file))
}

/// The start time of a process (clock ticks since boot), which tells a pid's reuse apart.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    // Fields after the name start at field 3 (state); the start time is field 22.
    after_name.split(' ').nth(19)?.parse().ok()
}

/// Sends `signal` to `pid`.
pub fn signal(pid: u32, signal: i32) -> bool {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid as libc::pid_t, signal) == 0 }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Finds `program` on PATH.
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .map(|m| {
                    m.is_file()
                        && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
                })
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_stable_and_unknown_pids_have_none() {
        let me = std::process::id();
        let first = process_start_time(me).expect("own stat");
        assert_eq!(process_start_time(me), Some(first));
        assert_eq!(process_start_time(u32::MAX - 1), None);
    }
}
