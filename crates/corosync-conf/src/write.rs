//! The canonical writer: Proxmox VE's corosync.conf layout, plus our comments.
//!
//! Rules (PVE's `write_conf`): entries of every section sorted by key name in byte order,
//! scalars and sections mixed; `nodelist.node` entries ordered by node name (or `ring0_addr`
//! for nameless nodes) and `totem.interface` entries by their link number taken as a string
//! (`linknumber`, or `ringnumber` when absent), like PVE's hash-key sort; two spaces of
//! indentation per level; `key: value`; `name {` ... `}`; one empty line after every
//! top-level section. Sorting is stable, so duplicates keep their relative order and the
//! value corosync uses ("last wins") stays the same.
//!
//! Difference from PVE: comments are kept, each on its own line at its entry's indentation
//! right before the entry; comments before a closing brace stay before it; a file header
//! (comments at the top followed by an empty line) stays at the top, followed by one empty
//! line.

use crate::ast::{Entry, Item, Section};

/// Sort key of an entry inside the section reached by `path`.
fn sort_key<'a>(path: &[&str], entry: &'a Entry) -> (&'a str, &'a str) {
    let name = entry.name();
    let secondary = match (&entry.item, path) {
        (Item::Section(s), ["nodelist"]) if s.name == "node" => {
            s.get("name").or_else(|| s.get("ring0_addr")).unwrap_or("")
        }
        (Item::Section(s), ["totem"]) if s.name == "interface" => s
            .get("linknumber")
            .or_else(|| s.get("ringnumber"))
            .unwrap_or(""),
        _ => "",
    };
    (name, secondary)
}

/// Returns a copy of the tree with every section's entries in canonical order.
pub(crate) fn sorted(root: &Section) -> Section {
    let mut root = root.clone();
    sort_in_place(&mut root, &mut Vec::new());
    root
}

fn sort_in_place(section: &mut Section, path: &mut Vec<String>) {
    {
        let path_refs: Vec<&str> = path.iter().map(String::as_str).collect();
        section
            .entries
            .sort_by(|a, b| sort_key(&path_refs, a).cmp(&sort_key(&path_refs, b)));
    }
    for entry in &mut section.entries {
        if let Item::Section(child) = &mut entry.item {
            path.push(child.name.clone());
            sort_in_place(child, path);
            path.pop();
        }
    }
}

/// Writes the tree in canonical layout.
pub(crate) fn write(root: &Section) -> String {
    let sorted = sorted(root);
    let mut out = String::new();
    if !sorted.header_comments.is_empty() {
        for comment in &sorted.header_comments {
            push_line(&mut out, 0, comment);
        }
        out.push('\n');
    }
    write_body(&mut out, &sorted, 0);
    out
}

fn write_body(out: &mut String, section: &Section, depth: usize) {
    for entry in &section.entries {
        for comment in &entry.comments {
            push_line(out, depth, comment);
        }
        match &entry.item {
            Item::Value { key, value } => push_line(out, depth, &value_line(key, value)),
            Item::Section(child) => {
                push_line(out, depth, &format!("{} {{", child.name));
                write_body(out, child, depth + 1);
                push_line(out, depth, "}");
                if depth == 0 {
                    out.push('\n');
                }
            }
        }
    }
    for comment in &section.trailing_comments {
        push_line(out, depth, comment);
    }
}

/// `key: value`, written so that corosync reads back the same key: the empty key needs the
/// value right after the colon (`:v`), the key `:` needs a blank after it (`: v`).
fn value_line(key: &str, value: &str) -> String {
    match (key, value.is_empty()) {
        ("", _) => format!(":{value}"),
        (":", false) => format!(": {value}"),
        (_, true) => format!("{key}:"),
        _ => format!("{key}: {value}"),
    }
}

/// Appends one indented line. Corosync drops one `\r` before the newline, so a line whose
/// content really ends in `\r` gets a second one to survive reading.
fn push_line(out: &mut String, depth: usize, content: &str) {
    for _ in 0..depth {
        out.push_str("  ");
    }
    out.push_str(content);
    if content.ends_with('\r') {
        out.push('\r');
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    #[test]
    fn sorts_and_indents_like_pve() {
        let text = "totem {\nversion: 2\ninterface {\nlinknumber: 1\n}\ninterface {\nlinknumber: 0\n}\ncluster_name: x\n}\nlogging {\nto_syslog: yes\ndebug: off\n}\n";
        let out = write(&parse(text).unwrap());
        assert_eq!(
            out,
            "logging {\n  debug: off\n  to_syslog: yes\n}\n\ntotem {\n  cluster_name: x\n  interface {\n    linknumber: 0\n  }\n  interface {\n    linknumber: 1\n  }\n  version: 2\n}\n\n"
        );
    }

    #[test]
    fn nodes_by_name_then_ring0_addr() {
        let text = "nodelist {\nnode {\nname: b\n}\nnode {\nring0_addr: 10.0.0.1\n}\nnode {\nname: a\n}\n}\n";
        let out = write(&parse(text).unwrap());
        let order: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("name:") || l.contains("addr:"))
            .map(str::trim)
            .collect();
        assert_eq!(order, vec!["ring0_addr: 10.0.0.1", "name: a", "name: b"]);
    }

    #[test]
    fn interfaces_sort_as_strings_and_fall_back_to_ringnumber() {
        let text = "totem {\ninterface {\nlinknumber: 2\n}\ninterface {\nlinknumber: 10\n}\ninterface {\nringnumber: 1\n}\n}\n";
        let out = write(&parse(text).unwrap());
        let order: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("number"))
            .map(str::trim)
            .collect();
        assert_eq!(
            order,
            vec!["ringnumber: 1", "linknumber: 10", "linknumber: 2"]
        );
    }

    #[test]
    fn comments_travel_with_their_entries() {
        let text = "# b section\nb {\n  # y\n  y: 1\n  # x\n  x: 2\n  # end of b\n}\na: 1\n# eof\n";
        let out = write(&parse(text).unwrap());
        assert_eq!(
            out,
            "a: 1\n# b section\nb {\n  # x\n  x: 2\n  # y\n  y: 1\n  # end of b\n}\n\n# eof\n"
        );
    }

    #[test]
    fn header_stays_on_top() {
        let text = "# header\n\n# z section\nz: 1\na: 2\n";
        let out = write(&parse(text).unwrap());
        assert_eq!(out, "# header\n\na: 2\n# z section\nz: 1\n");
        assert_eq!(write(&parse(&out).unwrap()), out);
    }

    #[test]
    fn stable_for_duplicates_and_empty_values() {
        let text = "t {\nk: 1\nj:\nk: 2\n}\n";
        assert_eq!(
            write(&parse(text).unwrap()),
            "t {\n  j:\n  k: 1\n  k: 2\n}\n\n"
        );
    }

    #[test]
    fn odd_keys_read_back() {
        for text in [":v\n", ": v\n", ":\n", "a:\n", ":  :x\n"] {
            let root = parse(text).unwrap();
            assert_eq!(parse(&write(&root)).unwrap(), root, "{text:?}");
        }
    }

    #[test]
    fn carriage_return_at_end_survives() {
        let root = parse("k: v\r\r\n").unwrap();
        assert_eq!(root.get("k"), Some("v\r"));
        let out = write(&root);
        assert_eq!(parse(&out).unwrap(), root);
    }
}
