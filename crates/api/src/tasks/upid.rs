//! Task ids in PVE's UPID format:
//! `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:` (pid, pstart and starttime
//! in upper-case hex, 8 digits at least), and where a task's log file lives.

use std::fmt;
use std::path::{Path, PathBuf};

/// A decoded task id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upid {
    pub node: String,
    pub pid: u32,
    /// Start time of the process that runs the task, in clock ticks since boot.
    pub pstart: u64,
    /// When the task started (seconds since the epoch).
    pub starttime: u64,
    pub kind: String,
    pub id: String,
    pub user: String,
}

impl Upid {
    /// A new id for a task of `kind` on `id` run by `user` in this process, starting now.
    pub fn new(node: &str, kind: &str, id: &str, user: &str) -> Self {
        Upid {
            node: node.into(),
            pid: std::process::id(),
            pstart: own_start_ticks(),
            starttime: cluster::unix_now().max(0) as u64,
            kind: kind.into(),
            id: id.into(),
            user: user.into(),
        }
    }

    /// Decodes `text`; `None` unless it is a well-formed UPID whose fields are safe to use
    /// in a file name.
    pub fn parse(text: &str) -> Option<Upid> {
        let rest = text.strip_prefix("UPID:")?.strip_suffix(':')?;
        let f: Vec<&str> = rest.split(':').collect();
        let [node, pid, pstart, starttime, kind, id, user] = f[..] else {
            return None;
        };
        let hex = |s: &str, max: usize| {
            (8..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
        };
        let field_ok = |s: &str| !s.contains(['/', '\0']) && !s.chars().any(char::is_whitespace);
        if cluster::links::check_node_name(node).is_err()
            || !hex(pid, 8)
            || !hex(pstart, 9)
            || !hex(starttime, 8)
            || kind.is_empty()
            || user.is_empty()
            || ![kind, id, user].into_iter().all(field_ok)
        {
            return None;
        }
        Some(Upid {
            node: node.into(),
            pid: u32::from_str_radix(pid, 16).ok()?,
            pstart: u64::from_str_radix(pstart, 16).ok()?,
            starttime: u64::from_str_radix(starttime, 16).ok()?,
            kind: kind.into(),
            id: id.into(),
            user: user.into(),
        })
    }

    /// The task's log file below the task directory (`/var/log/pve/tasks`): in the
    /// sub-directory named after the last hex digit of the start time, as PVE keeps them.
    pub fn log_path(&self, task_dir: &Path) -> PathBuf {
        let bucket = format!("{:X}", self.starttime % 16);
        task_dir.join(bucket).join(self.to_string())
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UPID:{}:{:08X}:{:08X}:{:08X}:{}:{}:{}:",
            self.node, self.pid, self.pstart, self.starttime, self.kind, self.id, self.user
        )
    }
}

/// Field 22 of `/proc/self/stat`: this process's start time in clock ticks since boot.
fn own_start_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after_name = s.rsplit_once(')')?.1.to_string();
            after_name.split_whitespace().nth(19)?.parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_back() {
        let u = Upid::new("n1", "clustercreate", "demo", "root@pam");
        let text = u.to_string();
        let f: Vec<&str> = text.split(':').collect();
        assert_eq!(f.len(), 9, "{text}");
        assert_eq!(
            (f[0], f[1], f[5], f[6], f[7], f[8]),
            ("UPID", "n1", "clustercreate", "demo", "root@pam", "")
        );
        assert!(f[2..5].iter().all(|h| h.len() >= 8), "{text}");
        assert_eq!(Upid::parse(&text), Some(u));
    }

    #[test]
    fn parses_a_pve_upid_and_finds_its_log() {
        let u = Upid::parse("UPID:pve1:0000A1B2:0012C0DE:6560F00D:clusterjoin::root@pam:").unwrap();
        assert_eq!(
            (u.pid, u.pstart, u.starttime),
            (0xA1B2, 0x12C0DE, 0x6560F00D)
        );
        assert_eq!((u.kind.as_str(), u.id.as_str()), ("clusterjoin", ""));
        assert_eq!(
            u.log_path(Path::new("/var/log/pve/tasks")),
            Path::new(
                "/var/log/pve/tasks/D/UPID:pve1:0000A1B2:0012C0DE:6560F00D:clusterjoin::root@pam:"
            )
        );
    }

    #[test]
    fn refuses_malformed_or_unsafe_ids() {
        for bad in [
            "",
            "UPID:pve1:0000A1B2:0012C0DE:6560F00D:clusterjoin::root@pam",
            "UPID:pve1:A1B2:0012C0DE:6560F00D:clusterjoin::root@pam:",
            "UPID:pve1:0000A1B2:0012C0DE:6560F00D:cluster/../join::root@pam:",
            "UPID:pve1:0000A1B2:0012C0DE:6560F00D:clusterjoin:x y:root@pam:",
            "UPID:pve1:0000A1B2:0012C0DE:6560F00D:::root@pam:",
            "UPID:-bad:0000A1B2:0012C0DE:6560F00D:clusterjoin::root@pam:",
            "UPID:pve1:0000A1B2:0012C0DE:6560F00D:clusterjoin::root@pam:extra:",
            "UPID:pve1:0000A1B2:0012C0DE:6560F00Z:clusterjoin::root@pam:",
        ] {
            assert_eq!(Upid::parse(bad), None, "{bad}");
        }
    }
}
