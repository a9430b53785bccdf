//! Building a tree from database rows (§2.10): each row is checked on its own, then the
//! entries are linked into directories (a parent may come after its children).

use std::collections::{btree_map, BTreeMap};

use crate::path::check_name;
use crate::tree::{Entry, Kind, Node, Row, Tree, TYPE_DIR, TYPE_FILE, VERSION_ROW_NAME};
use crate::vmlist::DuplicateVmid;

/// Why rows do not form a valid tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// A row with an empty name.
    #[error("inode {0}: entry without name")]
    EmptyName(u64),
    /// A name that can never be produced by a path (`.`, `..`, `/` or NUL inside).
    #[error("inode {inode}: invalid name {name:?}")]
    BadName {
        /// Inode.
        inode: u64,
        /// Name.
        name: String,
    },
    /// `type` is neither 4 nor 8.
    #[error("inode {inode}: unknown entry type {kind}")]
    BadType {
        /// Inode.
        inode: u64,
        /// Type value.
        kind: u8,
    },
    /// A directory row carrying data.
    #[error("inode {0}: directory with data")]
    DirWithData(u64),
    /// An inode-0 row other than `__version__`.
    #[error("inode 0 row must be named {VERSION_ROW_NAME:?}, found {0:?}")]
    BadVersionRow(String),
    /// A parent inode that is a file.
    #[error("inode {inode}: parent {parent} is not a directory")]
    ParentNotDir {
        /// Inode.
        inode: u64,
        /// Parent inode.
        parent: u64,
    },
    /// Two rows with the same inode (or a placeholder found to be a file).
    #[error("inode {0}: duplicate inode")]
    DuplicateInode(u64),
    /// Two entries with the same name in one directory.
    #[error("inode {inode}: found entry with duplicate name {name:?} in directory {parent}")]
    DuplicateName {
        /// Inode.
        inode: u64,
        /// Parent inode.
        parent: u64,
        /// Name.
        name: String,
    },
    /// A parent inode that no row defines.
    #[error("missing directory inode {0}")]
    MissingDirectory(u64),
    /// Entries not reachable from the root (a parent cycle; beyond the original).
    #[error("inode {0}: entry not reachable from the root (parent cycle)")]
    Unreachable(u64),
    /// A row value out of range (rejected by the storage layer).
    #[error("inode {inode}: {what}")]
    BadValue {
        /// Inode.
        inode: u64,
        /// Description.
        what: String,
    },
    /// Two guest configs with the same VMID.
    #[error(transparent)]
    DuplicateVmid(#[from] DuplicateVmid),
}

/// The checks a row passes before anything else is known: name, type, no data on a
/// directory, the `__version__` row's name, no entry being its own parent.
pub(crate) fn check_row(row: &Row) -> Result<(), LoadError> {
    let inode = row.inode;
    if row.name.is_empty() {
        return Err(LoadError::EmptyName(inode));
    }
    if row.kind != TYPE_DIR && row.kind != TYPE_FILE {
        return Err(LoadError::BadType {
            inode,
            kind: row.kind,
        });
    }
    let has_data = row.data.as_ref().is_some_and(|d| !d.is_empty());
    if row.kind == TYPE_DIR && has_data {
        return Err(LoadError::DirWithData(inode));
    }
    if inode == 0 {
        if row.name != VERSION_ROW_NAME {
            return Err(LoadError::BadVersionRow(row.name.clone()));
        }
        return Ok(());
    }
    if check_name(&row.name).is_err() {
        return Err(LoadError::BadName {
            inode,
            name: row.name.clone(),
        });
    }
    if row.parent == inode {
        return Err(LoadError::Unreachable(inode));
    }
    Ok(())
}

/// The entry a non-root row checked by [`check_row`] loads into (a directory without
/// children yet).
pub(crate) fn entry_of_row(row: Row) -> Entry {
    let node = if row.kind == TYPE_DIR {
        Node::Dir(BTreeMap::new())
    } else {
        Node::File(row.data.unwrap_or_default())
    };
    let (parent, version, writer, mtime) = (row.parent, row.version, row.writer, row.mtime);
    Entry::new(parent, row.name, node, version, writer, mtime)
}

impl Tree {
    /// Builds a tree from all rows of the `tree` table (any order). A missing or
    /// version-0 `__version__` row gives root version 1 (a brand-new database); see
    /// [`Tree::from_rows_fresh`] to learn whether that happened.
    pub fn from_rows(rows: Vec<Row>) -> Result<Tree, LoadError> {
        Tree::from_rows_fresh(rows).map(|(t, _)| t)
    }

    /// Like [`Tree::from_rows`]; the flag tells if the root version was missing/0 and the
    /// caller should write the `__version__` row.
    pub fn from_rows_fresh(rows: Vec<Row>) -> Result<(Tree, bool), LoadError> {
        let mut tree = Tree::new(0);
        tree.root_mut().version = 0;
        for row in rows {
            check_row(&row)?;
            let inode = row.inode;
            if inode == 0 {
                tree.root_mut().stamp(row.version, row.writer, row.mtime);
            } else if tree.entries.insert(inode, entry_of_row(row)).is_some() {
                return Err(LoadError::DuplicateInode(inode));
            }
        }
        let fresh = tree.root().version == 0;
        if fresh {
            tree.root_mut().version = 1;
        }
        tree.link()?;
        Ok((tree, fresh))
    }

    /// Fills the directories (all empty) from their entries' parents, checks that the
    /// entries form one tree and rebuilds the VM list.
    pub(crate) fn link(&mut self) -> Result<(), LoadError> {
        let mut links = Vec::with_capacity(self.entries.len());
        let mut missing: Option<u64> = None;
        for (inode, e) in self.entries.iter().skip(1) {
            match self.entries.get(&e.parent).map(Entry::kind) {
                Some(Kind::Dir) => links.push((e.parent, e.name.clone(), *inode)),
                Some(Kind::File) => {
                    return Err(LoadError::ParentNotDir {
                        inode: *inode,
                        parent: e.parent,
                    })
                }
                None => missing = Some(missing.map_or(e.parent, |m| m.min(e.parent))),
            }
        }
        if let Some(parent) = missing {
            return Err(LoadError::MissingDirectory(parent));
        }
        for (parent, name, inode) in links {
            let Some(Node::Dir(children)) = self.entries.get_mut(&parent).map(|e| &mut e.node)
            else {
                unreachable!("parents were checked to be directories");
            };
            match children.entry(name) {
                btree_map::Entry::Vacant(slot) => slot.insert(inode),
                btree_map::Entry::Occupied(taken) => {
                    return Err(LoadError::DuplicateName {
                        inode,
                        parent,
                        name: taken.key().clone(),
                    })
                }
            };
        }
        check_reachable(self)?;
        let mut vmlist = std::mem::take(&mut self.vmlist);
        vmlist.rebuild(self)?;
        self.vmlist = vmlist;
        Ok(())
    }
}

/// Every entry must be reachable from the root; rows forming a parent cycle are not.
fn check_reachable(tree: &Tree) -> Result<(), LoadError> {
    let mut reached = std::collections::HashSet::new();
    let mut stack = vec![0u64];
    while let Some(inode) = stack.pop() {
        reached.insert(inode);
        if let Some(children) = tree.entries[&inode].children() {
            stack.extend(children.values());
        }
    }
    match tree.entries.keys().find(|i| !reached.contains(i)) {
        Some(lost) => Err(LoadError::Unreachable(*lost)),
        None => Ok(()),
    }
}
