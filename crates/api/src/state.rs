//! What every handler needs: where `/etc/pve` is, who we are, how logins are checked.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use cluster::PveDir;

use crate::tasks::{Tasks, DEFAULT_TASK_DIR};

/// The PAM service logins are checked with (see [`crate::auth::pam`]).
pub const DEFAULT_PAM_SERVICE: &str = "proxmox-ve-auth";
/// How long a failed login waits before it is answered.
pub const DEFAULT_LOGIN_FAILURE_DELAY: Duration = Duration::from_secs(3);

/// Daemon settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The cluster file system (`/etc/pve`).
    pub pve: PveDir,
    /// This node's name (the short host name).
    pub nodename: String,
    /// PAM service for `@pam` logins.
    pub pam_service: String,
    /// Wait before answering a failed login.
    pub login_failure_delay: Duration,
    /// Whether `/cluster/status` may ask the running corosync when `.members` is missing.
    pub query_corosync: bool,
    /// Running tasks and the directory of task logs.
    pub tasks: Tasks,
}

impl Settings {
    /// Settings for `nodename` with the defaults for everything else.
    pub fn new(pve: PveDir, nodename: impl Into<String>) -> Self {
        Settings {
            pve,
            nodename: nodename.into(),
            pam_service: DEFAULT_PAM_SERVICE.into(),
            login_failure_delay: DEFAULT_LOGIN_FAILURE_DELAY,
            query_corosync: true,
            tasks: Tasks::new(DEFAULT_TASK_DIR),
        }
    }
}

/// Shared state of the router (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Settings>);

impl AppState {
    pub fn new(settings: Settings) -> Self {
        AppState(Arc::new(settings))
    }
}

impl Deref for AppState {
    type Target = Settings;

    fn deref(&self) -> &Settings {
        &self.0
    }
}

/// The short host name: `uname -n` up to the first dot (how PVE names the local node).
pub fn short_hostname() -> String {
    // SAFETY: utsname is plain data filled by uname(2).
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid for the call.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return "localhost".into();
    }
    // SAFETY: uname NUL-terminates nodename.
    let name = unsafe { std::ffi::CStr::from_ptr(uts.nodename.as_ptr()) };
    let name = name.to_string_lossy();
    name.split('.').next().unwrap_or("").to_string()
}
