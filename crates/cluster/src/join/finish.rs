//! `finish_join`: install the cluster's corosync key and configuration, replace the node's
//! pmxcfs database by the cluster's (the old one is moved to a backup so the restarted pmxcfs
//! imports `/etc/corosync/corosync.conf` into a fresh database and syncs from the cluster),
//! restart corosync and pmxcfs, wait for quorum, renew the node files and certificate.
//!
//! A failure undoes the local changes ([`Undo::run`]): corosync stopped, the old database and
//! files back, pmxcfs restarted in its previous mode.

use std::path::{Path, PathBuf};
use std::time::Instant;

use service_control::{Action, Service};

use super::JoinEnv;
use crate::services::Services;
use crate::updatecerts::{self as uc, Options};
use crate::{cfs, fsutil, Error, Result};

/// What finish_join changed so far.
#[derive(Debug, Default)]
pub(super) struct Undo {
    /// (path, previous content) of replaced files in /etc/corosync.
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
    /// (original, backup) of moved database files.
    moved: Vec<(PathBuf, PathBuf)>,
    db: PathBuf,
    services: bool,
}

impl Undo {
    pub(super) fn run(self, services: &dyn Services, out: &mut dyn FnMut(&str)) -> bool {
        let mut complete = true;
        let mut step = |r: Result<()>, what: &str, out: &mut dyn FnMut(&str)| match r {
            Ok(()) => out(&format!("rollback: {what}")),
            Err(e) => {
                complete = false;
                out(&format!("rollback: {what} failed: {e}"));
            }
        };
        if self.services {
            step(
                services.run(Action::Stop, Service::Corosync),
                "stop corosync",
                out,
            );
            step(
                services.run(Action::Stop, Service::Pmxcfs),
                "stop pmxcfs",
                out,
            );
        }
        if !self.moved.is_empty() {
            for suffix in ["", "-wal", "-shm"] {
                let _ = fsutil::remove_optional(&with_suffix(&self.db, suffix));
            }
        }
        for (from, to) in self.moved.iter().rev() {
            let r = std::fs::rename(to, from).map_err(|e| Error::io("cannot restore", to, e));
            step(r, &format!("restore {}", from.display()), out);
        }
        for (path, old) in self.files.iter().rev() {
            let r = match old {
                Some(data) => fsutil::write_atomic(path, data, 0o644),
                None => fsutil::remove_optional(path),
            };
            step(r, &format!("restore {}", path.display()), out);
        }
        if self.services {
            step(
                services.run(Action::Start, Service::Pmxcfs),
                "start pmxcfs",
                out,
            );
        }
        complete
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn install(undo: &mut Undo, path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let old = fsutil::read_optional(path)?;
    undo.files.push((path.to_path_buf(), old));
    fsutil::write_atomic(path, data, mode)?;
    // write_atomic keeps the mode of an existing file; the key must be root-only
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(|e| Error::io("cannot chmod", path, e))
}

/// Moves the database (and its WAL files) into `backup/`; returns the new name of the DB.
fn backup_db(undo: &mut Undo, db: &Path) -> Result<Option<PathBuf>> {
    undo.db = db.to_path_buf();
    if !db.exists() {
        return Ok(None);
    }
    let dir = db.with_file_name("backup");
    fsutil::ensure_dir(&dir)?;
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(|e| Error::io("cannot chmod", &dir, e))?;
    let target = dir.join(format!("config-{}.db", crate::unix_now()));
    for suffix in ["", "-wal", "-shm"] {
        let from = with_suffix(db, suffix);
        if from.exists() {
            let to = with_suffix(&target, suffix);
            std::fs::rename(&from, &to).map_err(|e| Error::io("cannot move", &from, e))?;
            undo.moved.push((from, to));
        }
    }
    Ok(Some(target))
}

/// The steps of finish_join; `undo` records what to take back.
pub(super) fn finish_join(
    env: &JoinEnv,
    services: &dyn Services,
    node: &str,
    conf: &str,
    authkey: &[u8],
    undo: &mut Undo,
    out: &mut dyn FnMut(&str),
) -> Result<()> {
    fsutil::ensure_dir(&env.corosync_dir)?;
    install(undo, &env.corosync_dir.join("authkey"), authkey, 0o400)?;
    install(
        undo,
        &env.corosync_dir.join("corosync.conf"),
        conf.as_bytes(),
        0o644,
    )?;

    out("stopping pve-cluster service");
    undo.services = true;
    services.run(Action::Stop, Service::Pmxcfs)?;
    if let Some(backup) = backup_db(undo, &env.db)? {
        out(&format!("backup old database to '{}'", backup.display()));
    }
    services.run(Action::Restart, Service::Corosync)?;
    services.run(Action::Start, Service::Pmxcfs)?;

    let deadline = Instant::now() + env.quorum_timeout;
    let mut said = false;
    let quorate = cfs::poll_until(
        deadline,
        || services.quorate(),
        |_| {
            if !said {
                out("waiting for quorum...");
                said = true;
            }
        },
    );
    if !quorate {
        return Err(Error::Invalid(format!(
            "no quorum within {} s - check that corosync on the cluster nodes reloaded the new \
             configuration and that the link addresses are reachable",
            env.quorum_timeout.as_secs()
        )));
    }
    if said {
        out("OK");
    }

    let uc_env = uc::Env {
        ssh: env.ssh.clone(),
        ..uc::Env::system()
    };
    let opts = Options {
        force: true,
        ..Options::default()
    };
    let mut warnings = Vec::new();
    uc::updatecerts(&uc_env, node, opts, out, &mut |w| {
        warnings.push(w.to_string())
    })?;
    for w in warnings {
        out(&w);
    }
    let backups = env.db.with_file_name("backup");
    if backups.is_dir() {
        if let Err(e) = super::backups::prune(&backups, super::backups::KEEP) {
            out(&format!("warning: cannot remove old database backups: {e}"));
        }
    }
    out("generated new node certificate, restart pveproxy and pvedaemon services");
    if let Err(e) = services.run(Action::Restart, Service::Api) {
        out(&format!("warning: cannot restart the API daemon: {e}"));
    }
    Ok(())
}
