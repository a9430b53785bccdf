//! Undoing a failed `create`: what it wrote is removed, the previous `/etc/corosync/
//! corosync.conf` is put back, corosync is stopped and pmxcfs restarted into local mode.

use std::path::{Path, PathBuf};

use service_control::{Action, Service};

use super::CreateEnv;
use crate::services::Services;
use crate::{fsutil, Result};

/// What a `create` run changed so far.
#[derive(Debug)]
pub(super) struct Undo {
    created: Vec<PathBuf>,
    local_conf: PathBuf,
    previous_local_conf: Option<Vec<u8>>,
    wrote_local_conf: bool,
    services: Vec<Service>,
}

/// The outcome of a rollback, one line per action.
#[derive(Debug)]
pub(super) struct Report {
    pub lines: Vec<String>,
    pub complete: bool,
}

impl Undo {
    pub fn new(local_conf: &Path) -> Result<Self> {
        Ok(Undo {
            created: Vec::new(),
            local_conf: local_conf.to_path_buf(),
            previous_local_conf: fsutil::read_optional(local_conf)?,
            wrote_local_conf: false,
            services: Vec::new(),
        })
    }

    /// `path` did not exist before and may have been written by this run.
    pub fn created(&mut self, path: PathBuf) {
        self.created.push(path);
    }

    /// `/etc/corosync/corosync.conf` is about to be replaced.
    pub fn wrote_local_conf(&mut self) {
        self.wrote_local_conf = true;
    }

    /// `service` was (or is about to be) restarted by this run.
    pub fn touched(&mut self, service: Service) {
        self.services.push(service);
    }

    pub fn run(self, env: &CreateEnv, services: &dyn Services) -> Report {
        let mut report = Report {
            lines: Vec::new(),
            complete: true,
        };
        let mut step = |ok: std::result::Result<(), String>, what: String| match ok {
            Ok(()) => report.lines.push(format!("rollback: {what}")),
            Err(e) => {
                report.complete = false;
                report.lines.push(format!("rollback: {what} failed: {e}"));
            }
        };
        // while pmxcfs may still be quorate, remove the cluster configuration first
        for path in self.created.iter().rev() {
            if path.exists() {
                let ok = fsutil::remove_optional(path).map_err(|e| e.to_string());
                step(ok, format!("remove {}", path.display()));
            }
        }
        if self.services.contains(&Service::Corosync) {
            let ok = services
                .run(Action::Stop, Service::Corosync)
                .map_err(|e| e.to_string());
            step(ok, "stop corosync".into());
        }
        if self.wrote_local_conf {
            let ok = match &self.previous_local_conf {
                Some(old) => fsutil::write_atomic(&self.local_conf, old, 0o644),
                None => fsutil::remove_optional(&self.local_conf),
            }
            .map_err(|e| e.to_string());
            step(ok, format!("restore {}", self.local_conf.display()));
        }
        if self.services.contains(&Service::Pmxcfs) {
            let ok = services
                .run(Action::Restart, Service::Pmxcfs)
                .map_err(|e| e.to_string());
            step(ok, "restart pmxcfs in local mode".into());
        }
        if env.pve_conf().exists() {
            report.complete = false;
            report.lines.push(format!(
                "rollback: {} is still present; start pmxcfs in local mode ('pmxcfs -l') and \
                 remove it",
                env.pve_conf().display()
            ));
        }
        report
    }
}
