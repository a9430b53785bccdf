//! The private file system view of a lab host: which paths are its own, and the script that
//! sets them up inside its new mount + UTS namespace.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::layout::Lab;

/// Node path → name of its backing directory (or file) under `<host dir>/fs/`.
pub const PRIVATE_DIRS: [(&str, &str); 8] = [
    ("/etc/corosync", "etc-corosync"),
    ("/etc/pve", "etc-pve"),
    ("/etc/ssh", "etc-ssh"),
    ("/etc/cron.d", "etc-cron.d"),
    ("/root", "root"),
    ("/var/lib/corosync", "var-lib-corosync"),
    ("/var/lib/pve-cluster", "var-lib-pve-cluster"),
    ("/var/log", "var-log"),
];
pub const PRIVATE_FILES: [(&str, &str); 2] = [("/etc/hosts", "hosts"), ("/etc/shadow", "shadow")];

/// Creates the host-side backing store of `host` (directories, /etc/hosts, /etc/shadow, /etc/ssh).
pub fn prepare_backing(lab: &Lab, host: &str, marker_json: &str) -> Result<PathBuf> {
    let fs_dir = lab.host_dir(host).join("fs");
    for (_, name) in PRIVATE_DIRS {
        fs::create_dir_all(fs_dir.join(name))
            .with_context(|| format!("cannot create {}", fs_dir.join(name).display()))?;
    }
    fs::set_permissions(fs_dir.join("root"), fs::Permissions::from_mode(0o700))?;
    fs::create_dir_all(fs_dir.join("var-log/quorate-lab"))?;
    fs::create_dir_all(lab.services_dir(host))?;
    fs::write(fs_dir.join("hosts"), hosts_file(lab))?;
    // The host's users, but never the host's root password: root starts locked in a node.
    copy_file_or_empty(Path::new("/etc/shadow"), &fs_dir.join("shadow"), 0o640)?;
    let shadow = fs::read_to_string(fs_dir.join("shadow")).unwrap_or_default();
    fs::write(
        fs_dir.join("shadow"),
        crate::daemons::with_root_hash(&shadow, "!"),
    )?;
    copy_ssh_config(Path::new("/etc/ssh"), &fs_dir.join("etc-ssh"))?;
    let marker = lab.host_dir(host).join("marker.json");
    fs::write(&marker, marker_json)?;
    Ok(fs_dir)
}

/// /etc/hosts of every lab host: all lab names resolve to their link-0 address.
pub fn hosts_file(lab: &Lab) -> String {
    let mut text = String::from("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n");
    for host in lab.hosts() {
        let (_, addr) = lab.addresses(&host)[0];
        text.push_str(&format!("{addr} {host}\n"));
    }
    text
}

/// The shell script run inside the host's fresh mount + UTS namespace (and its netns).
pub fn setup_script(host: &str, fs_dir: &Path, marker: &Path) -> String {
    let mut script = format!("set -e\nhostname {host}\nmount -t sysfs sysfs /sys\n");
    for (target, name) in PRIVATE_DIRS.iter().chain(PRIVATE_FILES.iter()) {
        script.push_str(&format!(
            "mount --bind '{}' '{target}'\n",
            fs_dir.join(name).display()
        ));
    }
    script.push_str("mount -t tmpfs -o mode=0755 tmpfs /run\n");
    script.push_str("mount -t tmpfs -o mode=1777 tmpfs /dev/shm\n");
    script.push_str(&format!(
        "cp '{}' '{}'\n",
        marker.display(),
        service_control::LAB_MARKER
    ));
    script
}

/// The node paths that must exist on the host as mount points.
pub fn mount_points() -> impl Iterator<Item = &'static str> {
    PRIVATE_DIRS.iter().map(|(target, _)| *target)
}

fn copy_file_or_empty(from: &Path, to: &Path, mode: u32) -> Result<()> {
    match fs::copy(from, to) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::write(to, "")?,
        Err(e) => return Err(e).with_context(|| format!("cannot copy {}", from.display())),
    }
    fs::set_permissions(to, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Copies the host's ssh configuration, but not its host keys: each node makes its own.
fn copy_ssh_config(from: &Path, to: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(from) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("ssh_host_") {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            fs::create_dir_all(to.join(&name))?;
            copy_ssh_config(&entry.path(), &to.join(&name))?;
        } else if kind.is_file() {
            fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_lists_every_host_on_link_0() {
        let lab = Lab {
            name: "t".into(),
            nodes: 2,
            links: 2,
            qnetd: true,
            root_password: None,
            corosync_normal_priority: false,
        };
        assert_eq!(
            hosts_file(&lab),
            "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n\
             10.99.0.1 node1\n10.99.0.2 node2\n10.99.0.250 qnetd\n"
        );
    }

    #[test]
    fn setup_script_binds_every_private_path_and_writes_the_marker() {
        let script = setup_script("node2", Path::new("/s/fs"), Path::new("/s/marker.json"));
        assert!(script.starts_with("set -e\nhostname node2\n"));
        for (target, name) in PRIVATE_DIRS.iter().chain(PRIVATE_FILES.iter()) {
            assert!(
                script.contains(&format!("mount --bind '/s/fs/{name}' '{target}'\n")),
                "{target}"
            );
        }
        assert!(script.contains("tmpfs /run\n"));
        assert!(script.contains("tmpfs /dev/shm\n"));
        assert!(script.ends_with("cp '/s/marker.json' '/run/quorate-lab-node.json'\n"));
    }
}
