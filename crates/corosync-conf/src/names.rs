//! Proxmox's name rules for clusters and nodes.
//!
//! Both follow the "LDH" label rule `^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$` (letters,
//! digits and hyphens, not starting or ending with a hyphen, no dots); a cluster name is also
//! at most 15 characters long.

/// Longest cluster name Proxmox accepts.
pub const CLUSTER_NAME_MAX_LEN: usize = 15;

/// Whether `s` is one LDH label (the `pve-node` format).
fn is_ldh_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// Whether `name` is a valid node name (the short host name; no length limit).
pub fn is_valid_node_name(name: &str) -> bool {
    is_ldh_label(name)
}

/// Why `name` is not a valid cluster name, or `None` if it is.
pub fn cluster_name_problem(name: &str) -> Option<&'static str> {
    if !is_ldh_label(name) {
        Some("only letters, digits and '-' are allowed, and it must start and end with a letter or digit")
    } else if name.len() > CLUSTER_NAME_MAX_LEN {
        Some("it is longer than 15 characters")
    } else {
        None
    }
}

/// Whether `name` is a valid cluster name.
pub fn is_valid_cluster_name(name: &str) -> bool {
    cluster_name_problem(name).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names() {
        for ok in [
            "a",
            "pve1",
            "PVE-node-01",
            "1",
            "a-b",
            "x".repeat(100).as_str(),
        ] {
            assert!(is_valid_node_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a.b", "a_b", "a b", "ä", "-"] {
            assert!(!is_valid_node_name(bad), "{bad}");
        }
    }

    #[test]
    fn cluster_names() {
        assert!(is_valid_cluster_name("demo"));
        assert!(is_valid_cluster_name("abcdefghijklmno"));
        assert_eq!(
            cluster_name_problem("abcdefghijklmnop"),
            Some("it is longer than 15 characters")
        );
        assert!(!is_valid_cluster_name("my_cluster"));
        assert!(!is_valid_cluster_name(""));
    }
}
