//! Corosync link options (`--link0` … `--link7`) and the node/cluster name rules.
//!
//! A link is a Proxmox property string `[address=]<IP or host name>[,priority=<0..255>]`:
//! `address` is the default key (so `10.0.0.1,priority=5` and `address=10.0.0.1,priority=5`
//! mean the same), `priority` is used only when creating a cluster (knet link priority; a
//! higher number is preferred) and ignored when a node joins. Printed back in the original's
//! order: the address bare, then `priority=N`.
//!
//! Name rules come from `corosync_conf::names` (one definition for the workspace); here they
//! get error messages that say what is wrong and what to do.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use corosync_conf::names;

/// Highest link number (links 0..=7).
pub const MAX_LINK: u8 = 7;

/// One parsed `--linkN` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// An IP address or a DNS name.
    pub address: String,
    /// knet link priority (create only).
    pub priority: Option<u8>,
}

/// Link number → link, as given on the command line or to the API.
pub type Links = BTreeMap<u8, Link>;

/// A problem with a link option or a name; the message names the problem and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

fn err(msg: impl Into<String>) -> InputError {
    InputError(msg.into())
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)?;
        if let Some(p) = self.priority {
            write!(f, ",priority={p}")?;
        }
        Ok(())
    }
}

/// Whether `s` is a DNS name by Proxmox's `address` format: dot-separated LDH labels (letters,
/// digits, inner hyphens).
pub fn is_dns_name(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(names::is_valid_node_name)
}

/// Checks a link address: an IPv4/IPv6 address or a DNS name.
pub fn check_address(addr: &str) -> Result<(), InputError> {
    if addr.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let dotted_numbers = addr.split('.').count() == 4
        && addr
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if dotted_numbers {
        return Err(err(format!(
            "'{addr}' is not a valid IPv4 address: each of the four numbers must be 0..255 \
             without leading zeros"
        )));
    }
    if addr.contains(':') {
        return Err(err(format!(
            "'{addr}' is not a valid IPv6 address: write it without brackets, zone or prefix \
             length (e.g. 'fd00::1')"
        )));
    }
    if !is_dns_name(addr) {
        return Err(err(format!(
            "'{addr}' is neither an IP address nor a host name: host names consist of labels \
             of letters, digits and inner hyphens separated by dots; an IP address is \
             recommended"
        )));
    }
    Ok(())
}

/// Parses a link property string.
pub fn parse_link(value: &str) -> Result<Link, InputError> {
    let mut address = None;
    let mut priority = None;
    for part in value.split(',') {
        if part.trim().is_empty() {
            continue;
        }
        let (key, val) = match part.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => ("address", part.trim()),
        };
        match key {
            "address" => {
                if val.is_empty() {
                    return Err(err("address=: the address is empty; give an IP address"));
                }
                if address.replace(val.to_string()).is_some() {
                    return Err(err(format!(
                        "link '{value}' has more than one address; give one address per link \
                         and use --link0..--link7 for more links"
                    )));
                }
            }
            "priority" => {
                let p = val.parse::<u8>().map_err(|_| {
                    err(format!(
                        "invalid link priority '{val}': use a number from 0 to 255 \
                         (higher is preferred)"
                    ))
                })?;
                if priority.replace(p).is_some() {
                    return Err(err(format!("link '{value}' sets the priority twice")));
                }
            }
            other => {
                return Err(err(format!(
                    "unknown link property '{other}': only 'address' and 'priority' exist \
                     (e.g. '10.0.0.1,priority=10')"
                )))
            }
        }
    }
    let address = address.ok_or_else(|| {
        err(format!(
            "link '{value}' has no address: give an IP address, e.g. '10.0.0.1'"
        ))
    })?;
    check_address(&address)?;
    Ok(Link { address, priority })
}

/// The link number of an option name `link<N>` (also `--link<N>`), if it is one.
pub fn link_number(option: &str) -> Option<u8> {
    let digits = option.trim_start_matches('-').strip_prefix("link")?;
    if digits.len() != 1 {
        return None;
    }
    digits.parse::<u8>().ok().filter(|n| *n <= MAX_LINK)
}

/// Parses `(link number, value)` pairs; numbers must be 0..=7 and unique.
pub fn parse_links<'a>(args: impl IntoIterator<Item = (u8, &'a str)>) -> Result<Links, InputError> {
    let mut links = Links::new();
    for (n, value) in args {
        if n > MAX_LINK {
            return Err(err(format!(
                "link{n}: corosync supports links 0 to {MAX_LINK} only"
            )));
        }
        let link = parse_link(value).map_err(|e| err(format!("link{n}: {e}")))?;
        if links.insert(n, link).is_some() {
            return Err(err(format!("link{n} is given twice")));
        }
    }
    Ok(links)
}

/// Warnings for priorities given where they have no effect (joining a node).
pub fn ignored_priority_warnings(links: &Links) -> Vec<String> {
    links
        .iter()
        .filter(|(_, l)| l.priority.is_some())
        .map(|(n, _)| {
            format!(
                "link{n}: the priority is only used when creating a cluster and is ignored \
                 when adding a node; change knet_link_priority in corosync.conf instead"
            )
        })
        .collect()
}

/// Checks a node name (`pve-node` format).
pub fn check_node_name(name: &str) -> Result<(), InputError> {
    if names::is_valid_node_name(name) {
        Ok(())
    } else if name.contains('.') {
        Err(err(format!(
            "invalid node name '{name}': use the short host name without the domain \
             (the part before the first dot)"
        )))
    } else {
        Err(err(format!(
            "invalid node name '{name}': only letters, digits and '-' are allowed, and it \
             must start and end with a letter or digit"
        )))
    }
}

/// Checks a cluster name (`pve-node` format, at most 15 characters).
pub fn check_cluster_name(name: &str) -> Result<(), InputError> {
    match names::cluster_name_problem(name) {
        None => Ok(()),
        Some(problem) => Err(err(format!(
            "invalid cluster name '{name}': {problem}; choose a name like 'prod-central' \
             (it cannot be changed later)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_forms() {
        let l = parse_link("10.0.0.1").unwrap();
        assert_eq!(
            l,
            Link {
                address: "10.0.0.1".into(),
                priority: None
            }
        );
        assert_eq!(l.to_string(), "10.0.0.1");
        let l = parse_link("address=10.0.0.1,priority=15").unwrap();
        assert_eq!(l.priority, Some(15));
        assert_eq!(l.to_string(), "10.0.0.1,priority=15");
        assert_eq!(
            parse_link("priority=0,fd00::1").unwrap().to_string(),
            "fd00::1,priority=0"
        );
        assert_eq!(
            parse_link("pve1-corosync.example.com").unwrap().priority,
            None
        );
        assert_eq!(parse_link("10.0.0.1,,").unwrap().address, "10.0.0.1");
        assert_eq!(
            parse_link("priority=255,10.0.0.1").unwrap().priority,
            Some(255)
        );
    }

    #[test]
    fn link_errors_name_the_problem() {
        let e = |v: &str| parse_link(v).unwrap_err().to_string();
        assert!(e("").contains("has no address"), "{}", e(""));
        assert!(e("priority=3").contains("has no address"));
        assert!(e("10.0.0.1,priority=256").contains("0 to 255"));
        assert!(e("10.0.0.1,priority=-1").contains("0 to 255"));
        assert!(e("10.0.0.1,priority=x").contains("0 to 255"));
        assert!(e("10.0.0.1,10.0.0.2").contains("more than one address"));
        assert!(e("10.0.0.1,address=10.0.0.2").contains("more than one address"));
        assert!(e("10.0.0.1,priority=1,priority=2").contains("twice"));
        assert!(e("10.0.0.1,mtu=1400").contains("unknown link property 'mtu'"));
        assert!(e("10.0.0.300").contains("not a valid IPv4 address"));
        assert!(e("[fd00::1]").contains("IPv6"));
        assert!(e("fd00::1/64").contains("IPv6"));
        assert!(e("my_host").contains("neither an IP address nor a host name"));
        assert!(e("-host.example").contains("neither"));
        assert!(e("host..example").contains("neither"));
        assert!(e("address=").contains("empty"));
    }

    #[test]
    fn addresses() {
        for ok in [
            "10.0.0.1",
            "::1",
            "fd00::1",
            "pve1",
            "a.b-c.d",
            "1host.example",
        ] {
            check_address(ok).unwrap();
        }
        for bad in ["", "a b", "host-", "é.example", "10.0.0.1.", "1.2.3.04"] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn link_numbers_and_sets() {
        assert_eq!(link_number("link0"), Some(0));
        assert_eq!(link_number("--link7"), Some(7));
        assert_eq!(link_number("link8"), None);
        assert_eq!(link_number("link10"), None);
        assert_eq!(link_number("ring0"), None);
        let links = parse_links([(0, "10.0.0.1"), (1, "10.1.0.1,priority=20")]).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[&1].priority, Some(20));
        assert!(parse_links([(8, "10.0.0.1")])
            .unwrap_err()
            .0
            .contains("0 to 7"));
        assert!(parse_links([(1, "10.0.0.1"), (1, "10.0.0.2")])
            .unwrap_err()
            .0
            .contains("twice"));
        assert!(parse_links([(2, "x_y")])
            .unwrap_err()
            .0
            .starts_with("link2: "));
        let w = ignored_priority_warnings(&links);
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("link1: the priority is only used when creating"));
    }

    #[test]
    fn names() {
        check_node_name("pve1").unwrap();
        check_node_name("PVE-node-01").unwrap();
        assert!(check_node_name("pve1.example.com")
            .unwrap_err()
            .0
            .contains("short host name"));
        assert!(check_node_name("pve_1")
            .unwrap_err()
            .0
            .contains("only letters"));
        assert!(check_node_name("").is_err());
        assert!(check_node_name("-a").is_err());
        check_cluster_name("prod-central").unwrap();
        check_cluster_name("abcdefghijklmno").unwrap();
        assert!(check_cluster_name("abcdefghijklmnop")
            .unwrap_err()
            .0
            .contains("longer than 15"));
        assert!(check_cluster_name("my_cluster")
            .unwrap_err()
            .0
            .contains("only letters"));
        assert!(check_cluster_name("a.b").is_err());
    }
}
