//! What each service is inside a lab host: its command line and the runtime state it needs.

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use service_control::Service;

use crate::sys;

/// The command line of `service` in the foreground (the supervisor keeps it attached).
pub fn command_line(service: Service) -> Result<Vec<String>> {
    let argv: Vec<String> = match service {
        Service::Corosync => vec!["corosync".into(), "-f".into()],
        Service::CorosyncQdevice => vec!["corosync-qdevice".into(), "-f".into()],
        // As the Debian unit does: qnetd runs as coroqnetd. The supervisor opens the log as root
        // before the privileges are dropped.
        Service::CorosyncQnetd => vec![
            "setpriv".into(),
            "--reuid=coroqnetd".into(),
            "--regid=coroqnetd".into(),
            "--init-groups".into(),
            "corosync-qnetd".into(),
            "-f".into(),
        ],
        Service::Sshd => vec!["/usr/sbin/sshd".into(), "-D".into(), "-e".into()],
        Service::Pmxcfs => vec![own_binary("pmxcfs")?, "-f".into()],
        Service::Api => vec![own_binary("quorate-api")?],
    };
    Ok(argv)
}

/// Creates what `service` expects to exist at start (runs inside the host, as root).
pub fn prepare(service: Service) -> Result<()> {
    match service {
        Service::CorosyncQdevice => runtime_dir("/run/corosync-qdevice", None, 0o755),
        Service::CorosyncQnetd => {
            runtime_dir("/run/corosync-qnetd", Some("coroqnetd:coroqnetd"), 0o770)
        }
        Service::Sshd => {
            runtime_dir("/run/sshd", None, 0o755)?;
            sys::run("ssh-keygen", &["-A"]).map(|_| ())
        }
        Service::Corosync | Service::Pmxcfs | Service::Api => Ok(()),
    }
}

fn runtime_dir(path: &str, owner: Option<&str>, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path).with_context(|| format!("cannot create {path}"))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    if let Some(owner) = owner {
        sys::run("chown", &[owner, path])?;
    }
    Ok(())
}

/// One of our own daemons, built next to `quorate-lab`.
fn own_binary(name: &str) -> Result<String> {
    let path: PathBuf = std::env::current_exe()?
        .parent()
        .map(|dir| dir.join(name))
        .context("cannot locate quorate-lab's directory")?;
    if !path.exists() {
        bail!(
            "{name} is not built (expected at {}): run `cargo build --workspace`",
            path.display()
        );
    }
    Ok(path.to_string_lossy().into_owned())
}
