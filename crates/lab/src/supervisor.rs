//! Runs each lab service in the foreground of a supervisor process the lab owns.
//!
//! The supervisor (`quorate-lab __supervise`) lives inside the host's namespaces, starts the
//! service with its output appended to the service log, records the service's pid together with
//! the process start time (so a reused pid is never signalled), and when the service ends records
//! how it ended. A service that died stays down until started again.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use service_control::Service;

use crate::layout::Lab;
use crate::{hosts, services, sys};

/// A running service, as recorded by its supervisor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Running {
    pub pid: u32,
    pub start_time: u64,
    pub supervisor: u32,
}

fn record_path(lab: &Lab, host: &str, service: Service) -> PathBuf {
    lab.services_dir(host).join(format!("{service}.json"))
}

fn exit_path(lab: &Lab, host: &str, service: Service) -> PathBuf {
    lab.services_dir(host).join(format!("{service}.exit"))
}

/// The service's process if it is running (and is still the process the lab started).
pub fn running(lab: &Lab, host: &str, service: Service) -> Option<Running> {
    let bytes = fs::read(record_path(lab, host, service)).ok()?;
    let record: Running = serde_json::from_slice(&bytes).ok()?;
    (sys::process_start_time(record.pid) == Some(record.start_time)).then_some(record)
}

/// Starts `service` on `host` under a new supervisor; returns once it runs.
pub fn start(lab: &Lab, host: &str, service: Service, ctl: &Path) -> Result<()> {
    if let Some(r) = running(lab, host, service) {
        bail!("{service} is already running on {host} (pid {})", r.pid);
    }
    let _ = fs::remove_file(record_path(lab, host, service));
    let _ = fs::remove_file(exit_path(lab, host, service));
    let mut cmd = hosts::command_in(lab, host, ctl);
    cmd.args(["__supervise", host, service.name()])
        .env("QUORATE_LAB", &lab.name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid and close_range are async-signal-safe system calls. setsid detaches the
    // supervisor from our session so that signals aimed at the caller's process group never
    // reach the lab's daemons; closing every descriptor above stderr keeps the long-lived
    // daemons from holding the caller's files open (e.g. a `flock` lock around `up`).
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    let mut supervisor = cmd.spawn().context("cannot start the lab supervisor")?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if running(lab, host, service).is_some() {
            // A service that fails at once (bad configuration) should fail `start`, too.
            sleep(Duration::from_millis(300));
            if running(lab, host, service).is_some() {
                return Ok(());
            }
        }
        if supervisor.try_wait()?.is_some() {
            break;
        }
        sleep(Duration::from_millis(50));
    }
    let _ = supervisor.try_wait();
    let why = fs::read_to_string(exit_path(lab, host, service))
        .unwrap_or_else(|_| "it did not report running in time".into());
    bail!(
        "{service} on {host} did not start: {}; see `quorate-lab logs {host} {service}`",
        why.trim()
    )
}

/// Body of `quorate-lab __supervise HOST SERVICE` (already inside the host's namespaces).
pub fn supervise(lab: &Lab, host: &str, service: Service) -> Result<()> {
    let exit_file = exit_path(lab, host, service);
    let result = run_supervised(lab, host, service);
    let ending = match &result {
        Ok(status) => format!("exited: {status}"),
        Err(e) => format!("failed: {e:#}"),
    };
    let _ = fs::write(&exit_file, format!("{ending}\n"));
    let _ = fs::remove_file(record_path(lab, host, service));
    if let Ok(mut log) = open_log(lab, host, service) {
        let _ = writeln!(log, "--- quorate-lab: {service} {ending}");
    }
    result.map(|_| ())
}

fn run_supervised(lab: &Lab, host: &str, service: Service) -> Result<std::process::ExitStatus> {
    services::prepare(service)?;
    let argv = services::command_line(service)?;
    let log = open_log(lab, host, service)?;
    writeln!(
        &log,
        "--- quorate-lab: starting {service}: {}",
        argv.join(" ")
    )?;
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot run {}", argv[0]))?;
    let record = Running {
        pid: child.id(),
        start_time: sys::process_start_time(child.id()).context("service vanished at start")?,
        supervisor: std::process::id(),
    };
    let path = record_path(lab, host, service);
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, serde_json::to_vec(&record)?)?;
    fs::rename(&tmp, &path)?;
    Ok(child.wait()?)
}

fn open_log(lab: &Lab, host: &str, service: Service) -> Result<fs::File> {
    let path = lab.log_file(host, service.name());
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Stops `service` with `signal` (SIGTERM escalates to SIGKILL after a grace period).
/// Stopping a service that is not running succeeds, as `systemctl stop` does.
pub fn stop(lab: &Lab, host: &str, service: Service, signal: i32) -> Result<()> {
    let Some(record) = running(lab, host, service) else {
        return Ok(());
    };
    sys::signal(record.pid, signal);
    let gone = || sys::process_start_time(record.pid) != Some(record.start_time);
    if !wait_until(Duration::from_secs(20), gone) {
        sys::signal(record.pid, libc::SIGKILL);
        if !wait_until(Duration::from_secs(5), gone) {
            bail!("{service} on {host} (pid {}) does not die", record.pid);
        }
    }
    // Let the supervisor note the ending before the caller starts the service again.
    let path = record_path(lab, host, service);
    wait_until(Duration::from_secs(2), || !path.exists());
    let _ = fs::remove_file(path);
    Ok(())
}

/// Every service of `host` that is running now.
pub fn running_services(lab: &Lab, host: &str) -> Vec<(Service, Running)> {
    Service::ALL
        .into_iter()
        .filter_map(|svc| running(lab, host, svc).map(|r| (svc, r)))
        .collect()
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(50));
    }
}
