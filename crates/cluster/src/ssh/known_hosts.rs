//! The merged `known_hosts` of the cluster (`/etc/pve/priv/known_hosts`).
//!
//! Entry format: `<hosts> ssh-rsa <blob>[ <comment>]`, where `<hosts>` is a name, an address,
//! a comma-separated list, or a hashed entry `|1|<base64 salt>|<base64 HMAC-SHA1(salt, host)>`.
//! Only `ssh-rsa` entries are merged, as in the original.

use std::collections::HashSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::hash::MessageDigest;

use crate::crypto::hmac;

/// A parsed `<hosts> ssh-rsa <blob>…` line.
struct RsaEntry<'a> {
    hosts: &'a str,
    /// `ssh-rsa <blob>`, normalised to one space.
    key: String,
}

/// Parses a known-hosts line of the form `<hosts><ws>ssh-rsa<ws><blob>[<ws>…]`.
fn parse_rsa_line(line: &str) -> Option<RsaEntry<'_>> {
    let (hosts, rest) = line.split_once(char::is_whitespace)?;
    let rest = rest.strip_prefix("ssh-rsa")?;
    let mut chars = rest.chars();
    if !chars.next()?.is_whitespace() {
        return None;
    }
    let blob = chars.as_str().split(char::is_whitespace).next()?;
    if hosts.is_empty() || blob.is_empty() {
        return None;
    }
    Some(RsaEntry {
        hosts,
        key: format!("ssh-rsa {blob}"),
    })
}

/// The `ssh-rsa <blob>` part of a host's `ssh_host_rsa_key.pub` (the first line that starts
/// with `ssh-rsa`), or `None` if there is none.
pub fn host_rsa_key(pub_text: &str) -> Option<String> {
    pub_text.lines().find_map(|l| {
        let rest = l.strip_prefix("ssh-rsa")?;
        let mut c = rest.chars();
        if !c.next()?.is_whitespace() {
            return None;
        }
        let blob = c.as_str().split(char::is_whitespace).next()?;
        (!blob.is_empty()).then(|| format!("ssh-rsa {blob}"))
    })
}

/// Whether a hashed host field `|1|salt|hash` stands for `name`.
pub fn hashed_host_matches(field: &str, name: &str) -> bool {
    let Some(rest) = field.strip_prefix("|1|") else {
        return false;
    };
    let Some((salt, digest)) = rest.split_once('|') else {
        return false;
    };
    let Ok(salt) = STANDARD.decode(salt) else {
        return false;
    };
    STANDARD.encode(hmac(MessageDigest::sha1(), &salt, name.as_bytes())) == digest
}

/// The content of `nodes/<node>/ssh_known_hosts`: `<node> ssh-rsa <blob>`, no newline.
pub fn node_known_hosts(node: &str, host_key: &str) -> String {
    format!("{node} {host_key}")
}

/// Merges known-hosts texts for this node (`node`, `ip`, its RSA host key `host_key` as
/// `ssh-rsa <blob>`):
///
/// * all lines of `cluster` (the current `priv/known_hosts`) and the `ssh-rsa` lines of
///   `system` (a regular `/etc/ssh/ssh_known_hosts`), in that order; blank lines and comments
///   are dropped, and of several `ssh-rsa` lines with the same host field only the first stays;
/// * entries for this node's name or IP (plain, compared case-insensitively, or hashed) stay
///   only if they carry `host_key` — stale keys of this node are dropped (the original drops
///   only stale hashed entries);
/// * `<node> <host_key>` and `<ip> <host_key>` are appended unless already present.
///
/// Node and IP are compared lower-cased, as ssh does.
pub fn merge(cluster: &str, system: Option<&str>, node: &str, ip: &str, host_key: &str) -> String {
    let node = node.to_lowercase();
    let ip = ip.to_lowercase();
    let mut seen = HashSet::new();
    let mut out = String::new();
    let (mut found_node, mut found_ip) = (false, false);
    let sources = [(cluster, true), (system.unwrap_or(""), false)];
    for (text, keep_other) in sources {
        for line in text.lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some(entry) = parse_rsa_line(line) else {
                if keep_other {
                    out.push_str(line);
                    out.push('\n');
                }
                continue;
            };
            if !seen.insert(entry.hosts.to_string()) {
                continue;
            }
            let ours = entry.key == host_key;
            let (is_node, is_ip) = if entry.hosts.starts_with("|1|") {
                (
                    hashed_host_matches(entry.hosts, &node),
                    hashed_host_matches(entry.hosts, &ip),
                )
            } else {
                let h = entry.hosts.to_lowercase();
                (h == node, h == ip)
            };
            if is_node || is_ip {
                if !ours {
                    continue;
                }
                found_node |= is_node;
                found_ip |= is_ip;
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    if !found_node {
        out.push_str(&format!("{node} {host_key}\n"));
    }
    if !found_ip {
        out.push_str(&format!("{ip} {host_key}\n"));
    }
    out
}

/// Removes the entries of hosts (names or addresses, plain or hashed, also inside
/// comma-separated host lists) from a known-hosts text — e.g. for a deleted node. Other
/// lines stay; a host list loses only the matching names.
pub fn remove_hosts(text: &str, hosts: &[&str]) -> String {
    let wanted: Vec<String> = hosts.iter().map(|h| h.to_lowercase()).collect();
    let matches = |h: &str| {
        wanted
            .iter()
            .any(|w| h.to_lowercase() == *w || hashed_host_matches(h, w))
    };
    let mut out = String::new();
    for line in text.lines() {
        let Some((field, rest)) = line
            .split_once(char::is_whitespace)
            .filter(|_| !line.starts_with('#') && !line.starts_with('@'))
        else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let kept: Vec<&str> = field.split(',').filter(|h| !matches(h)).collect();
        if kept.is_empty() {
            continue;
        }
        out.push_str(&kept.join(","));
        out.push(' ');
        out.push_str(rest);
        out.push('\n');
    }
    out
}
