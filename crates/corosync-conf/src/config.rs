//! [`Config`]: a parsed corosync.conf, its original text and whether it was edited.

use crate::ast::{self, Section};
use crate::parse::{self, ParseError};
use crate::view::ConfView;
use crate::{extract, write};

/// A corosync.conf document.
///
/// Holds the lossless tree and, when parsed, the exact original text. [`Config::to_text`]
/// returns that text unchanged as long as nothing was edited, so a file we did not change is
/// never rewritten; after an edit it returns the canonical layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) root: Section,
    pub(crate) original: Option<String>,
    pub(crate) modified: bool,
}

impl Config {
    /// Parses corosync.conf text with corosync's grammar.
    pub fn parse(text: &str) -> Result<Config, ParseError> {
        Ok(Config {
            root: parse::parse(text)?,
            original: Some(text.to_string()),
            modified: false,
        })
    }

    /// A configuration built from a tree (no original text; counts as modified).
    pub fn from_root(root: Section) -> Config {
        Config {
            root,
            original: None,
            modified: true,
        }
    }

    /// The document tree.
    pub fn root(&self) -> &Section {
        &self.root
    }

    /// The text this configuration was parsed from, if it was parsed.
    pub fn original_text(&self) -> Option<&str> {
        self.original.as_deref()
    }

    /// Whether the tree differs from what was parsed (always true for built configurations).
    pub fn is_modified(&self) -> bool {
        self.modified || self.original.is_none()
    }

    /// The text to write: the original text byte-for-byte when nothing was edited, else the
    /// canonical layout.
    pub fn to_text(&self) -> String {
        match (&self.original, self.modified) {
            (Some(text), false) => text.clone(),
            _ => self.to_canonical_text(),
        }
    }

    /// The canonical (Proxmox) layout, comments kept.
    pub fn to_canonical_text(&self) -> String {
        write::write(&self.root)
    }

    /// The same configuration with its entries in canonical order, i.e. the tree that
    /// parsing [`Config::to_canonical_text`] gives back (node and interface order included).
    pub fn sorted(&self) -> Config {
        Config::from_root(write::sorted(&self.root))
    }

    /// The typed view, derived from the tree now.
    pub fn view(&self) -> ConfView {
        extract::view(&self.root)
    }

    /// The value corosync would use for `key` in the section at `path` (e.g.
    /// `get(&["totem"], "token")`): the last occurrence in file order across repeated
    /// sections.
    pub fn get(&self, path: &[&str], key: &str) -> Option<&str> {
        let mut found = None;
        ast::visit_path(&self.root, path, &mut |s| {
            if let Some(v) = s.get(key) {
                found = Some(v);
            }
        });
        found
    }

    /// Sets `key: value` in the section at `path`, creating sections as needed.
    ///
    /// Every existing occurrence of the key at that path is updated (so readers that take the
    /// first match, like pmxcfs's `config_version` lookup, agree with corosync's last match);
    /// if there is none, the pair is added to the last section of that path. Values are not
    /// checked here: [`Config::validate`] reports values corosync cannot read. Inside
    /// `nodelist.node`, use the node methods instead.
    pub fn set(&mut self, path: &[&str], key: &str, value: &str) {
        let (mut found, mut changed) = (false, false);
        ast::visit_path_mut(&mut self.root, path, &mut |s| {
            let (f, c) = s.replace_all(key, value);
            found |= f;
            changed |= c;
        });
        if !found {
            ast::ensure_path(&mut self.root, path).push_value(key, value);
            changed = true;
        }
        self.modified |= changed;
    }

    /// Shorthand for `set(&["totem"], key, value)`.
    pub fn set_totem(&mut self, key: &str, value: &str) {
        self.set(&["totem"], key, value);
    }

    /// Removes every `key` in the sections at `path`; returns whether any was removed.
    pub fn remove(&mut self, path: &[&str], key: &str) -> bool {
        let mut removed = 0;
        ast::visit_path_mut(&mut self.root, path, &mut |s| {
            removed += s.remove_values(key)
        });
        self.modified |= removed > 0;
        removed > 0
    }

    /// Removes every section at `path` (e.g. `&["quorum", "device"]`); returns whether any
    /// was removed. An empty path removes nothing.
    pub fn remove_section(&mut self, path: &[&str]) -> bool {
        let Some((last, parent)) = path.split_last() else {
            return false;
        };
        let mut removed = 0;
        ast::visit_path_mut(&mut self.root, parent, &mut |s| {
            removed += s.remove_entries(
                |item| matches!(item, ast::Item::Section(sec) if sec.name == *last),
            );
        });
        self.modified |= removed > 0;
        removed > 0
    }

    /// Mutable tree access for the edit module; marks the configuration modified.
    pub(crate) fn root_mut(&mut self) -> &mut Section {
        self.modified = true;
        &mut self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "totem {\n\tversion: 2\n\tconfig_version: 3\n}\n\n\n# end\n";

    #[test]
    fn unedited_text_is_returned_byte_for_byte() {
        let c = Config::parse(TEXT).unwrap();
        assert!(!c.is_modified());
        assert_eq!(c.original_text(), Some(TEXT));
        assert_eq!(c.to_text(), TEXT);
        assert_eq!(
            c.to_canonical_text(),
            "totem {\n  config_version: 3\n  version: 2\n}\n\n# end\n"
        );
    }

    #[test]
    fn edits_switch_to_canonical() {
        let mut c = Config::parse(TEXT).unwrap();
        c.set(&["totem"], "version", "2");
        assert!(!c.is_modified(), "setting the same value changes nothing");
        c.set_totem("token", "3000");
        assert!(c.is_modified());
        assert_eq!(c.get(&["totem"], "token"), Some("3000"));
        assert_eq!(c.to_text(), c.to_canonical_text());
        assert_eq!(c.original_text(), Some(TEXT));
    }

    #[test]
    fn set_updates_every_occurrence_and_creates_paths() {
        let mut c = Config::parse("totem {\nk: 1\n}\ntotem {\nk: 2\n}\n").unwrap();
        c.set(&["totem"], "k", "3");
        assert_eq!(c.to_text(), "totem {\n  k: 3\n}\n\ntotem {\n  k: 3\n}\n\n");
        c.set(&["quorum", "device", "net"], "host", "10.0.0.9");
        assert_eq!(
            c.get(&["quorum", "device", "net"], "host"),
            Some("10.0.0.9")
        );
    }

    #[test]
    fn remove_keys_and_sections() {
        let mut c =
            Config::parse("quorum {\nprovider: corosync_votequorum\ndevice {\nmodel: net\n}\n}\n")
                .unwrap();
        assert!(!c.remove(&["quorum"], "nothing"));
        assert!(!c.is_modified());
        assert!(c.remove_section(&["quorum", "device"]));
        assert!(c.view().quorum.device.is_none());
        assert!(c.remove(&["quorum"], "provider"));
        assert_eq!(c.to_text(), "quorum {\n}\n\n");
        assert!(!c.remove_section(&[]));
    }
}
