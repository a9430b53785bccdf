//! finish_join against a fake service manager: a join that never reaches quorum, or whose
//! corosync restart fails, leaves the node exactly as it was.

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use service_control::{Action, Service};

use super::finish::{finish_join, Undo};
use super::JoinEnv;
use crate::services::Services;
use crate::ssh::SshPaths;
use crate::{Error, Result};

/// Records every service action; fails the restart of corosync when asked to.
#[derive(Default)]
struct FakeServices {
    calls: RefCell<Vec<(Action, Service)>>,
    fail_corosync_restart: bool,
}

impl Services for FakeServices {
    fn run(&self, action: Action, service: Service) -> Result<()> {
        self.calls.borrow_mut().push((action, service));
        if self.fail_corosync_restart && (action, service) == (Action::Restart, Service::Corosync) {
            return Err(Error::Invalid("corosync failed to start".into()));
        }
        Ok(())
    }

    fn quorate(&self) -> bool {
        false
    }
}

fn env(root: &Path) -> JoinEnv {
    JoinEnv {
        ssh: SshPaths::under(root),
        corosync_dir: root.join("etc/corosync"),
        db: root.join("var/lib/pve-cluster/config.db"),
        lock: root.join("pvecm.lock"),
        quorum_timeout: Duration::from_millis(300),
    }
}

/// A stand-alone node: its own database (with WAL) and an unrelated file in /etc/corosync.
fn stand_alone(root: &Path) -> JoinEnv {
    let env = env(root);
    std::fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    std::fs::write(&env.db, "local database").unwrap();
    std::fs::write(root.join("var/lib/pve-cluster/config.db-wal"), "wal").unwrap();
    std::fs::create_dir_all(&env.corosync_dir).unwrap();
    std::fs::write(env.corosync_dir.join("README"), "keep me").unwrap();
    env
}

/// Every file below a directory with its content, sorted.
type Snapshot = Vec<(String, String)>;

fn tree(root: &Path) -> Snapshot {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// The node's files before and after a failed join plus rollback, and everything it said.
fn failed_join(services: &FakeServices) -> (Snapshot, Snapshot, String) {
    let dir = tempfile::tempdir().unwrap();
    let env = stand_alone(dir.path());
    let before = tree(dir.path());
    let mut undo = Undo::default();
    let mut lines = Vec::new();
    let err = finish_join(
        &env,
        services,
        "node2",
        "totem {\n  cluster_name: demo\n}\n",
        b"0123456789abcdef",
        &mut undo,
        &mut |l| lines.push(l.to_string()),
    )
    .unwrap_err();
    assert!(undo.run(services, &mut |l| lines.push(l.to_string())));
    let after = tree(dir.path());
    // the backup directory stays (empty): it is where old databases go
    assert!(dir.path().join("var/lib/pve-cluster/backup").is_dir());
    (before, after, format!("{err}\n{}", lines.join("\n")))
}

#[test]
fn no_quorum_rolls_the_node_back() {
    let services = FakeServices::default();
    let (before, after, log) = failed_join(&services);
    assert_eq!(after, before, "{log}");
    assert!(log.starts_with("no quorum within 0 s"), "{log}");
    assert!(log.contains("waiting for quorum..."), "{log}");
    assert!(log.contains("rollback: restore"), "{log}");
    let calls = services.calls.borrow();
    assert_eq!(
        calls[..],
        [
            (Action::Stop, Service::Pmxcfs),
            (Action::Restart, Service::Corosync),
            (Action::Start, Service::Pmxcfs),
            // rollback
            (Action::Stop, Service::Corosync),
            (Action::Stop, Service::Pmxcfs),
            (Action::Start, Service::Pmxcfs),
        ]
    );
}

#[test]
fn a_failed_corosync_restart_rolls_the_node_back() {
    let services = FakeServices {
        fail_corosync_restart: true,
        ..FakeServices::default()
    };
    let (before, after, log) = failed_join(&services);
    assert_eq!(after, before, "{log}");
    assert!(log.starts_with("corosync failed to start"), "{log}");
    assert!(!log.contains("waiting for quorum"), "{log}");
    assert_eq!(
        services.calls.borrow().last(),
        Some(&(Action::Start, Service::Pmxcfs))
    );
}
