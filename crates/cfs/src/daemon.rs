//! Start-up and shutdown of `pmxcfs`: identity checks, the database, the mount, the pid file
//! and signals.

use std::ffi::CStr;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use fuser::{Config, MountOption, SessionACL};
use memdb::Memdb;

use crate::cluster::{ClusterPaths, ClusterService};
use crate::fs::PveFs;
use crate::status::Status;

/// Everything the command line decides.
#[derive(Debug, Clone)]
pub struct Options {
    pub foreground: bool,
    pub local: bool,
    pub debug: bool,
    pub mountpoint: PathBuf,
    pub db: PathBuf,
    pub pidfile: PathBuf,
}

const COROSYNC_CONF: &str = "/etc/corosync/corosync.conf";
/// pmxcfs's runtime directory (the replication summary `dcdb.json` lives here).
const RUN_DIR: &str = "/run/pve-cluster";

/// Environment variable carrying the readiness pipe from the launching parent to the daemon.
const READY_FD_ENV: &str = "PMXCFS_READY_FD";

/// Whether debug messages are logged: `-d`, or `1` written to `/etc/pve/.debug`.
static DEBUG_LOG: AtomicBool = AtomicBool::new(false);

pub fn set_debug_log(on: bool) {
    DEBUG_LOG.store(on, Ordering::Relaxed);
}

fn logged(priority: &str) -> bool {
    priority != "debug" || DEBUG_LOG.load(Ordering::Relaxed)
}

/// Logs one line to stderr; debug messages only while debugging is on, as the original.
pub fn log(domain: &str, priority: &str, msg: &str) {
    if logged(priority) {
        eprintln!("[{domain}] {priority}: {msg}");
    }
}

/// Runs pmxcfs: in the background (the parent returns once the file system is mounted) or,
/// with `-f`, in the foreground until SIGTERM/SIGINT or an unmount.
pub fn run(opts: &Options) -> Result<()> {
    if !opts.foreground && std::env::var_os(READY_FD_ENV).is_none() {
        return launch_background();
    }
    serve(opts)
}

/// Starts this program again as a detached daemon and waits until it reports readiness.
fn launch_background() -> Result<()> {
    let mut fds = [0; 2];
    // SAFETY: a valid array of two descriptors for pipe(2).
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot create a pipe");
    }
    // SAFETY: pipe(2) just returned these descriptors; each is owned exactly once.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(std::env::args_os().skip(1))
        .env(READY_FD_ENV, fds[1].to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("cannot start the pmxcfs daemon")?;
    drop(write_end);
    let mut byte = [0u8; 1];
    let mut reader = fs::File::from(read_end);
    match reader.read(&mut byte) {
        Ok(1) if byte[0] == b'1' => Ok(()),
        _ => {
            let status = child.wait()?;
            bail!("pmxcfs failed to start ({status})")
        }
    }
}

/// Tells the launching parent (if any) that the file system is ready, then detaches stderr.
fn signal_ready() {
    let Some(fd) = std::env::var(READY_FD_ENV)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    // SAFETY: the descriptor was inherited from the parent for exactly this purpose.
    let mut pipe = unsafe { fs::File::from_raw_fd(fd) };
    let _ = pipe.write_all(b"1");
    if let Ok(null) = fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: both descriptors are valid; stderr is replaced, not closed.
        unsafe { libc::dup2(null.as_raw_fd(), 2) };
    }
}

fn serve(opts: &Options) -> Result<()> {
    limit_allocator_arenas();
    let nodename = nodename()?;
    let gid = www_data_gid()?;
    // SAFETY: umask(2) cannot fail.
    unsafe { libc::umask(0o027) };
    if let Some(dir) = opts.db.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let new_db = !opts.db.exists();
    let memdb = Arc::new(
        Memdb::open_waiting(&opts.db, Duration::from_secs(10))
            .with_context(|| format!("cannot open {}", opts.db.display()))?,
    );
    if new_db && !opts.local {
        import_corosync_conf(&memdb)?;
    }
    let has_cluster_conf = memdb.lookup("corosync.conf").is_some();
    if opts.local && has_cluster_conf {
        log(
            "main",
            "notice",
            "forcing local mode (although corosync.conf exists)",
        );
    }
    let cluster_mode = has_cluster_conf && !opts.local;

    let status = Arc::new(Status::new(
        &nodename,
        memdb::unix_now().into(),
        !cluster_mode,
    ));
    status.set_debug(opts.debug);
    let cluster = if cluster_mode {
        fs::create_dir_all(RUN_DIR)?;
        let paths = ClusterPaths {
            corosync_conf: PathBuf::from(COROSYNC_CONF),
            state_file: Path::new(RUN_DIR).join("dcdb.json"),
        };
        let cluster = ClusterService::start(memdb.clone(), status.clone(), &nodename, paths)?;
        cluster.log("root", "cluster", 6, "starting cluster log");
        Some(cluster)
    } else {
        status.log("root", "cluster", 6, "starting cluster log");
        create_node_dirs(&memdb, &nodename)?;
        None
    };

    prepare_mountpoint(&opts.mountpoint)?;
    let signals = block_termination_signals();
    let filesystem = PveFs {
        memdb,
        status,
        gid,
        cluster,
        pipeline: Default::default(),
        dirs: Default::default(),
        truncates: Default::default(),
    };
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("pmxcfs".into()),
        MountOption::DefaultPermissions,
    ];
    config.acl = SessionACL::All;
    config.n_threads = Some(4);
    let mut session = fuser::Session::new(filesystem, &opts.mountpoint, &config)
        .with_context(|| format!("cannot mount {}", opts.mountpoint.display()))?;
    let mut unmounter = session.unmount_callable();
    let mountpoint = opts.mountpoint.clone();
    std::thread::spawn(move || {
        let signal = wait_for_signal(&signals);
        log(
            "main",
            "notice",
            &format!("received signal {signal}, unmounting"),
        );
        if unmounter.unmount().is_err() {
            force_unmount(&mountpoint);
        }
    });
    write_pidfile(&opts.pidfile)?;
    let mode = if cluster_mode {
        "cluster mode"
    } else {
        "local mode"
    };
    log(
        "main",
        "notice",
        &format!("serving {} ({mode})", opts.mountpoint.display()),
    );
    signal_ready();
    let result = session.run();
    let _ = fs::remove_file(&opts.pidfile);
    log("main", "notice", "exit proxmox configuration filesystem");
    result.context("FUSE session failed")
}

/// glibc gives every thread that allocates its own arena (FUSE workers, CPG dispatch,
/// timers): each keeps its own free space resident, and with the adaptive mmap threshold
/// large short-lived buffers (index blobs, sync updates) land in those arenas and leave holes.
/// Two arenas and a fixed threshold keep RSS close to the live heap; this daemon's threads
/// mostly wait on one memdb lock, so contention on two arenas is negligible.
fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// A brand-new database of a node that already runs corosync starts from its corosync.conf.
fn import_corosync_conf(memdb: &Memdb) -> Result<()> {
    let Ok(text) = fs::read(COROSYNC_CONF) else {
        return Ok(());
    };
    let now = memdb::unix_now();
    let path = "corosync.conf".to_string();
    let write = memdb::Op::Write {
        path: path.clone(),
        offset: 0,
        data: text,
        truncate: true,
    };
    memdb
        .apply(&memdb::Op::Create { path }, 0, now)
        .and_then(|_| memdb.apply(&write, 0, now))
        .map_err(|e| anyhow::anyhow!("cannot import {COROSYNC_CONF}: {e}"))?;
    log("main", "notice", &format!("imported {COROSYNC_CONF}"));
    Ok(())
}

/// The directories every node has (`nodes/<name>/{qemu-server,lxc,openvz,priv}`, `priv/lock`);
/// on Proxmox VE `pvecm updatecerts` creates them right after pmxcfs starts.
fn create_node_dirs(memdb: &Memdb, nodename: &str) -> Result<()> {
    for path in node_dirs(nodename) {
        if memdb.lookup(&path).is_none() {
            memdb
                .apply(
                    &memdb::Op::Mkdir { path: path.clone() },
                    0,
                    memdb::unix_now(),
                )
                .map_err(|e| anyhow::anyhow!("cannot create /{path}: {e}"))?;
        }
    }
    Ok(())
}

/// The directories every node has, parents first.
pub(crate) fn node_dirs(nodename: &str) -> Vec<String> {
    let node = format!("nodes/{nodename}");
    vec![
        "nodes".to_string(),
        node.clone(),
        format!("{node}/qemu-server"),
        format!("{node}/lxc"),
        format!("{node}/openvz"),
        format!("{node}/priv"),
        "priv".to_string(),
        "priv/lock".to_string(),
    ]
}

/// The node name: the host name up to the first dot, which must be a valid node name.
fn nodename() -> Result<String> {
    // SAFETY: utsname is plain data; uname fills it.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        bail!("uname failed");
    }
    // SAFETY: uname NUL-terminates nodename.
    let full = unsafe { CStr::from_ptr(uts.nodename.as_ptr()) }.to_string_lossy();
    let name = full.split('.').next().unwrap_or_default().to_string();
    if !memdb::path::is_ldh(&name) {
        bail!("the host name '{full}' is not a valid node name (letters, digits and '-' only)");
    }
    Ok(name)
}

fn www_data_gid() -> Result<u32> {
    // SAFETY: a valid NUL-terminated name; the result is read before any other call.
    let group = unsafe { libc::getgrnam(c"www-data".as_ptr()) };
    if group.is_null() {
        bail!("group 'www-data' does not exist: create it (e.g. `groupadd -g 33 www-data`)");
    }
    // SAFETY: non-null result of getgrnam.
    Ok(unsafe { (*group).gr_gid })
}

/// Creates the mount point if needed and detaches a stale mount left by a killed daemon.
fn prepare_mountpoint(mountpoint: &Path) -> Result<()> {
    let mounted = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(&*mountpoint.to_string_lossy()));
    if mounted {
        log("main", "notice", "unmounting stale file system");
        force_unmount(mountpoint);
    }
    if !mountpoint.exists() {
        fs::create_dir_all(mountpoint)?;
        fs::set_permissions(mountpoint, fs::Permissions::from_mode(0o750))?;
    }
    Ok(())
}

fn force_unmount(mountpoint: &Path) {
    if let Ok(path) = std::ffi::CString::new(mountpoint.as_os_str().as_encoded_bytes()) {
        // SAFETY: a valid NUL-terminated path.
        unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
    }
}

fn write_pidfile(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("pid.tmp");
    fs::write(&tmp, format!("{}\n", std::process::id()))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Blocks SIGTERM, SIGINT and SIGHUP in this thread and every thread started after it, so that
/// one thread can wait for them synchronously.
fn block_termination_signals() -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local set; pthread_sigmask on the calling thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_for_signal(set: &libc::sigset_t) -> i32 {
    let mut sig = 0;
    // SAFETY: `set` is initialised and its signals are blocked in every thread.
    unsafe { libc::sigwait(set, &mut sig) };
    sig
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_messages_are_logged_only_while_debugging_is_on() {
        set_debug_log(false);
        assert!(!logged("debug"));
        assert!(logged("notice") && logged("info"));
        set_debug_log(true);
        assert!(logged("debug"));
        set_debug_log(false);
    }
}
