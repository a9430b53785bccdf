//! The receiving side of a sync commit (§1.12.4). Each UPDATE record is checked, turned
//! into the entry it becomes and hashed as it arrives ([`SyncStage::receive`]), while the
//! node waits for the next one anyway; the commit after the last record then only links
//! the tree ([`Tree::synced`]) and compares indexes before readers see it.

use std::collections::{BTreeMap, HashSet};

use crate::load::{check_row, entry_of_row, LoadError};
use crate::tree::{Entry, Node, Row, Tree};

/// The records of one sync received so far, for [`Memdb::apply_sync`](crate::Memdb::apply_sync).
#[derive(Debug, Default)]
pub struct SyncStage {
    /// Every record in its stored form, in arrival order (written to the database).
    pub(crate) rows: Vec<Row>,
    /// The root's stamp from the last `__version__` record.
    pub(crate) root: Option<(u64, u32, u32)>,
    /// The last record of every other inode, as the entry it becomes, digest computed.
    pub(crate) entries: BTreeMap<u64, Entry>,
}

impl SyncStage {
    /// An empty stage.
    pub fn new() -> SyncStage {
        SyncStage::default()
    }

    /// Number of records received.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True if nothing was received.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Takes one UPDATE record: checks it like a stored row (an invalid one is refused)
    /// and keeps its row and the entry it becomes.
    pub fn receive(&mut self, record: Row) -> Result<(), LoadError> {
        let row = record.into_stored();
        check_row(&row)?;
        if row.inode == 0 {
            self.root = Some((row.version, row.writer, row.mtime));
        } else {
            let entry = entry_of_row(row.clone());
            entry.index_digest();
            self.entries.insert(row.inode, entry);
        }
        self.rows.push(row);
        Ok(())
    }
}

impl Entry {
    /// A copy of the entry as [`Tree::link`] expects it: a directory without children.
    fn detached(&self) -> Entry {
        let node = match &self.node {
            Node::Dir(_) => Node::Dir(BTreeMap::new()),
            Node::File(data) => Node::File(data.clone()),
        };
        Entry {
            parent: self.parent,
            version: self.version,
            writer: self.writer,
            mtime: self.mtime,
            name: self.name.clone(),
            node,
            digest: self.digest.clone(),
        }
    }
}

impl Tree {
    /// The tree a sync commit leads to: this tree without the `deletes` inodes, with the
    /// received entries and root stamp; the VM list counters continue. Kept entries bring
    /// their cached digests and received ones were hashed on arrival, so the result's
    /// [`Tree::index`] hashes only the root.
    pub(crate) fn synced(
        &self,
        deletes: &[u64],
        root: Option<(u64, u32, u32)>,
        mut received: BTreeMap<u64, Entry>,
    ) -> Result<Tree, LoadError> {
        let deleted: HashSet<u64> = deletes.iter().copied().filter(|i| *i != 0).collect();
        let mut entries: BTreeMap<u64, Entry> = self
            .entries
            .iter()
            .filter(|(inode, _)| !deleted.contains(inode) && !received.contains_key(inode))
            .map(|(inode, e)| (*inode, e.detached()))
            .collect();
        entries.append(&mut received);
        let mut tree = Tree {
            entries,
            vmlist: self.vmlist.clone(),
            errors: false,
        };
        if let Some((version, writer, mtime)) = root {
            tree.root_mut().stamp(version, writer, mtime);
        }
        tree.link()?;
        Ok(tree)
    }
}
