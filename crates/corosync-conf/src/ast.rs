//! The lossless document tree: sections holding ordered entries, each entry carrying the
//! comment lines written above it.
//!
//! The tree keeps everything corosync reads (names, keys, values, duplicates, order) plus the
//! comments. It does not keep indentation or blank lines: those belong to the layout, and the
//! original text is kept separately by [`crate::Config`].

/// A section: `name { ... }`. The document itself is a section with an empty name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// Section name as corosync sees it (blanks and trailing `:` trimmed).
    pub name: String,
    /// Entries in file order; duplicates are kept.
    pub entries: Vec<Entry>,
    /// Comment lines between the last entry and the closing brace (or the end of the file for
    /// the document), each without its indentation.
    pub trailing_comments: Vec<String>,
    /// Only used by the document: comment blocks at the very top that are followed by an
    /// empty line (a file header). They stay at the top when entries are reordered.
    pub header_comments: Vec<String>,
}

/// One entry of a section together with the comment lines that precede it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Comment lines (starting with `#`, indentation removed) written right above the entry.
    pub comments: Vec<String>,
    /// The entry itself.
    pub item: Item,
}

/// A `key: value` pair or a subsection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `key: value`.
    Value {
        /// Key name (blanks trimmed).
        key: String,
        /// Value (leading and trailing blanks removed; may be empty).
        value: String,
    },
    /// `name { ... }`.
    Section(Section),
}

impl Entry {
    /// A `key: value` entry without comments.
    pub fn value(key: impl Into<String>, value: impl Into<String>) -> Entry {
        Entry {
            comments: Vec::new(),
            item: Item::Value {
                key: key.into(),
                value: value.into(),
            },
        }
    }

    /// A subsection entry without comments.
    pub fn section(section: Section) -> Entry {
        Entry {
            comments: Vec::new(),
            item: Item::Section(section),
        }
    }

    /// The key or section name of this entry.
    pub fn name(&self) -> &str {
        match &self.item {
            Item::Value { key, .. } => key,
            Item::Section(s) => &s.name,
        }
    }
}

impl Section {
    /// An empty section called `name`.
    pub fn new(name: impl Into<String>) -> Section {
        Section {
            name: name.into(),
            ..Section::default()
        }
    }

    /// All `key: value` pairs of this section (not of subsections), in file order.
    pub fn values(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().filter_map(|e| match &e.item {
            Item::Value { key, value } => Some((key.as_str(), value.as_str())),
            Item::Section(_) => None,
        })
    }

    /// The value corosync uses for `key` in this section: the last occurrence wins.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .last()
    }

    /// All direct subsections, in file order.
    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.entries.iter().filter_map(|e| match &e.item {
            Item::Section(s) => Some(s),
            Item::Value { .. } => None,
        })
    }

    /// Direct subsections called `name`, in file order.
    pub fn sections_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Section> {
        self.sections().filter(move |s| s.name == name)
    }

    /// Mutable direct subsections called `name`, in file order.
    pub fn sections_named_mut<'a>(
        &'a mut self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a mut Section> {
        self.entries
            .iter_mut()
            .filter_map(move |e| match &mut e.item {
                Item::Section(s) if s.name == name => Some(s),
                _ => None,
            })
    }

    /// Appends `key: value`.
    pub fn push_value(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.push(Entry::value(key, value));
    }

    /// Appends a subsection.
    pub fn push_section(&mut self, section: Section) {
        self.entries.push(Entry::section(section));
    }

    /// Sets every occurrence of `key` in this section to `value`; returns whether any
    /// occurrence existed and whether anything changed.
    pub(crate) fn replace_all(&mut self, key: &str, new: &str) -> (bool, bool) {
        let (mut found, mut changed) = (false, false);
        for entry in &mut self.entries {
            if let Item::Value { key: k, value } = &mut entry.item {
                if k == key {
                    found = true;
                    if value != new {
                        *value = new.to_string();
                        changed = true;
                    }
                }
            }
        }
        (found, changed)
    }

    /// Removes every `key: value` with this key (their comments go to the next entry).
    /// Returns how many were removed.
    pub(crate) fn remove_values(&mut self, key: &str) -> usize {
        self.remove_entries(|item| matches!(item, Item::Value { key: k, .. } if k == key))
    }

    /// Removes the entries matching `pred`, moving their comments to the following entry (or
    /// to the trailing comments) so no comment is lost. Returns how many were removed.
    pub(crate) fn remove_entries(&mut self, mut pred: impl FnMut(&Item) -> bool) -> usize {
        let mut kept: Vec<Entry> = Vec::with_capacity(self.entries.len());
        let mut orphaned: Vec<String> = Vec::new();
        let mut removed = 0;
        for mut entry in std::mem::take(&mut self.entries) {
            if pred(&entry.item) {
                removed += 1;
                orphaned.append(&mut entry.comments);
            } else {
                if !orphaned.is_empty() {
                    orphaned.append(&mut entry.comments);
                    entry.comments = std::mem::take(&mut orphaned);
                }
                kept.push(entry);
            }
        }
        if !orphaned.is_empty() {
            orphaned.append(&mut self.trailing_comments);
            self.trailing_comments = orphaned;
        }
        self.entries = kept;
        removed
    }
}

/// Calls `f` on every section reached from `root` by following `path` (every section with a
/// matching name at each level, so duplicates are all visited), in file order.
pub(crate) fn visit_path<'a>(root: &'a Section, path: &[&str], f: &mut dyn FnMut(&'a Section)) {
    match path.split_first() {
        None => f(root),
        Some((first, rest)) => {
            for s in root.sections().filter(|s| s.name == *first) {
                visit_path(s, rest, f);
            }
        }
    }
}

/// Mutable version of [`visit_path`].
pub(crate) fn visit_path_mut(root: &mut Section, path: &[&str], f: &mut dyn FnMut(&mut Section)) {
    match path.split_first() {
        None => f(root),
        Some((first, rest)) => {
            for entry in &mut root.entries {
                if let Item::Section(s) = &mut entry.item {
                    if s.name == *first {
                        visit_path_mut(s, rest, f);
                    }
                }
            }
        }
    }
}

/// The section at `path`, taking the last section of each name (the one whose keys win) and
/// creating missing sections at the end of their parent.
pub(crate) fn ensure_path<'a>(root: &'a mut Section, path: &[&str]) -> &'a mut Section {
    let Some((first, rest)) = path.split_first() else {
        return root;
    };
    let index = root
        .entries
        .iter()
        .rposition(|e| matches!(&e.item, Item::Section(s) if s.name == *first));
    let index = match index {
        Some(i) => i,
        None => {
            root.push_section(Section::new(*first));
            root.entries.len() - 1
        }
    };
    match &mut root.entries[index].item {
        Item::Section(s) => ensure_path(s, rest),
        Item::Value { .. } => unreachable!("index points at a section"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Section {
        let mut root = Section::new("");
        let mut totem = Section::new("totem");
        totem.push_value("token", "1");
        totem.push_value("token", "2");
        root.push_section(totem);
        let mut second = Section::new("totem");
        second.push_value("version", "2");
        root.push_section(second);
        root
    }

    #[test]
    fn last_value_wins() {
        let root = sample();
        let totem = root.sections_named("totem").next().unwrap();
        assert_eq!(totem.get("token"), Some("2"));
        assert_eq!(totem.get("missing"), None);
    }

    #[test]
    fn visit_path_sees_duplicates() {
        let root = sample();
        let mut count = 0;
        visit_path(&root, &["totem"], &mut |_| count += 1);
        assert_eq!(count, 2);
    }

    #[test]
    fn ensure_path_takes_last_and_creates() {
        let mut root = sample();
        ensure_path(&mut root, &["totem"]).push_value("x", "y");
        assert_eq!(
            root.sections_named("totem").nth(1).unwrap().get("x"),
            Some("y")
        );
        ensure_path(&mut root, &["quorum", "device"]).push_value("model", "net");
        let quorum = root.sections_named("quorum").next().unwrap();
        assert_eq!(
            quorum.sections_named("device").next().unwrap().get("model"),
            Some("net")
        );
    }

    #[test]
    fn removing_keeps_comments() {
        let mut s = Section::new("x");
        s.entries.push(Entry {
            comments: vec!["# about a".into()],
            item: Item::Value {
                key: "a".into(),
                value: "1".into(),
            },
        });
        s.push_value("b", "2");
        assert_eq!(s.remove_values("a"), 1);
        assert_eq!(s.entries[0].comments, vec!["# about a".to_string()]);
        assert_eq!(s.remove_values("b"), 1);
        assert_eq!(s.trailing_comments, vec!["# about a".to_string()]);
    }
}
