//! Checks on single values, names and lines: typed keys corosync refuses at parse time,
//! values and names that cannot be written back or stored in cmap, and over-long lines.

use crate::ast::{Item, Section};
use crate::parse::KEYNAME_MAXLEN;
use crate::schema::{self, ValueType};
use crate::Problem;

/// Longest line corosync reads (its buffer is 512 bytes including newline and NUL).
pub(crate) const MAX_LINE: usize = 510;

/// Characters cmap allows in key names.
fn is_cmap_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':')
}

pub(crate) fn values(root: &Section, out: &mut Vec<Problem>) {
    walk(root, &mut Vec::new(), None, out);
}

/// `node_index`: position of the enclosing `nodelist.node` in its nodelist (corosync names
/// its keys `nodelist.node.<index>.<key>` in messages).
fn walk<'a>(
    section: &'a Section,
    path: &mut Vec<&'a str>,
    node_index: Option<usize>,
    out: &mut Vec<Problem>,
) {
    let dotted = |path: &[&str], node_index: Option<usize>, key: &str| {
        let mut parts: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        if let Some(i) = node_index {
            parts.push(i.to_string());
        }
        parts.push(key.to_string());
        parts.join(".")
    };
    let mut nodes_seen = 0;
    for entry in &section.entries {
        match &entry.item {
            Item::Value { key, value } => {
                let full = dotted(path, node_index, key);
                check_name(path, key, true, out);
                check_value(&full, value, out);
                if let Some(t) = schema::value_type(path, key) {
                    check_typed(t, &full, value, out);
                }
            }
            Item::Section(child) => {
                check_name(path, &child.name, false, out);
                let index = if path.as_slice() == ["nodelist"] && child.name == "node" {
                    nodes_seen += 1;
                    Some(nodes_seen - 1)
                } else {
                    node_index
                };
                path.push(&child.name);
                walk(child, path, index, out);
                path.pop();
            }
        }
    }
}

fn check_typed(t: ValueType, key: &str, value: &str, out: &mut Vec<Problem>) {
    if schema::accepts(t, value) {
        return;
    }
    let (key, value) = (key.to_string(), value.to_string());
    out.push(match t {
        ValueType::Int { min, max } => Problem::InvalidInteger {
            key,
            value,
            min,
            max,
        },
        ValueType::U64 => Problem::InvalidUnsigned { key, value },
        ValueType::Choice(allowed) => Problem::InvalidChoice {
            key,
            value,
            allowed: allowed.join(", "),
        },
    });
}

fn check_value(key: &str, value: &str, out: &mut Vec<Problem>) {
    let reason = if value.contains('{') {
        "it contains '{', which starts a section"
    } else if value.contains('\n') {
        "it contains a line break"
    } else if value.contains('\0') {
        "it contains a NUL byte"
    } else if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        "it starts or ends with a blank, which corosync trims"
    } else {
        return;
    };
    out.push(Problem::UnwritableValue {
        key: key.to_string(),
        reason,
    });
}

fn check_name(path: &[&str], name: &str, is_key: bool, out: &mut Vec<Problem>) {
    let parent = if path.is_empty() {
        "the top level".to_string()
    } else {
        path.join(".")
    };
    let path_len = path.iter().map(|p| p.len()).sum::<usize>() + path.len().saturating_sub(1);
    let reason = if name.is_empty() {
        "it is empty (corosync 3.1.10 and later refuse empty key names)"
    } else if !name.chars().all(is_cmap_char) {
        "only letters, digits and . _ / : - are allowed"
    } else if is_key && name != ":" && name.contains(':') {
        "a ':' in a key name would end the key when read back"
    } else if !is_key && name.len() > 1 && name.ends_with(':') {
        "a trailing ':' is dropped from section names when read back"
    } else if path_len + name.len() + 1 >= KEYNAME_MAXLEN {
        "the dotted path would be 255 bytes or longer"
    } else if is_key && path_len + usize::from(path_len > 0) + name.len() < 3 {
        "cmap key names are at least 3 bytes long"
    } else {
        return;
    };
    out.push(Problem::InvalidName {
        path: parent,
        name: name.to_string(),
        reason,
    });
}

/// Line-level checks on the text that would be written.
pub(crate) fn text(text: &str, out: &mut Vec<Problem>) {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return;
    }
    for (i, line) in body.split('\n').enumerate() {
        if line.contains('\0') {
            out.push(Problem::NulByte { line: i + 1 });
        }
        if line.len() > MAX_LINE {
            out.push(Problem::LineTooLong {
                line: i + 1,
                length: line.len(),
            });
        }
    }
}
