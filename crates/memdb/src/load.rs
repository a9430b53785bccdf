//! Building a tree from database rows (§2.10), with placeholders for parents that appear
//! after their children.

use std::collections::{BTreeMap, HashMap};

use crate::path::check_name;
use crate::tree::{Entry, Node, Row, Tree, TYPE_DIR, TYPE_FILE, VERSION_ROW_NAME};
use crate::vmlist::{DuplicateVmid, VmList};

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

/// A placeholder directory: a parent referenced before (or without) its own row.
const PLACEHOLDER: u8 = 0;

struct Slot {
    kind: u8,
    row: Option<Row>,
    children: BTreeMap<String, u64>,
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
        Tree::build(rows, VmList::default())
    }

    /// Loads rows; the VM list counters continue from `vmlist` (process-wide counters).
    pub(crate) fn build(rows: Vec<Row>, vmlist: VmList) -> Result<(Tree, bool), LoadError> {
        let mut tree = Tree::new(0);
        tree.vmlist = vmlist;
        tree.root_mut().version = 0;
        let mut slots: HashMap<u64, Slot> = HashMap::new();
        slots.insert(
            0,
            Slot {
                kind: TYPE_DIR,
                row: None,
                children: BTreeMap::new(),
            },
        );
        for row in rows {
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
                    return Err(LoadError::BadVersionRow(row.name));
                }
                let root = tree.root_mut();
                (root.version, root.writer, root.mtime) = (row.version, row.writer, row.mtime);
                continue;
            }
            if check_name(&row.name).is_err() {
                return Err(LoadError::BadName {
                    inode,
                    name: row.name,
                });
            }
            if row.parent == inode {
                return Err(LoadError::Unreachable(inode));
            }
            let parent = slots.entry(row.parent).or_insert(Slot {
                kind: PLACEHOLDER,
                row: None,
                children: BTreeMap::new(),
            });
            if parent.kind == TYPE_FILE {
                return Err(LoadError::ParentNotDir {
                    inode,
                    parent: row.parent,
                });
            }
            if parent.children.insert(row.name.clone(), inode).is_some() {
                return Err(LoadError::DuplicateName {
                    inode,
                    parent: row.parent,
                    name: row.name,
                });
            }
            match slots.get_mut(&inode) {
                Some(slot) if slot.kind == PLACEHOLDER && row.kind == TYPE_DIR => {
                    slot.kind = TYPE_DIR;
                    slot.row = Some(row);
                }
                Some(slot) if slot.kind == PLACEHOLDER => {
                    let child = slot.children.values().next().copied().unwrap_or(inode);
                    return Err(LoadError::ParentNotDir {
                        inode: child,
                        parent: inode,
                    });
                }
                Some(_) => return Err(LoadError::DuplicateInode(inode)),
                None => {
                    let slot = Slot {
                        kind: row.kind,
                        row: Some(row),
                        children: BTreeMap::new(),
                    };
                    slots.insert(inode, slot);
                }
            }
        }
        if let Some(i) = slots
            .iter()
            .filter(|(_, s)| s.kind == PLACEHOLDER)
            .map(|(i, _)| *i)
            .min()
        {
            return Err(LoadError::MissingDirectory(i));
        }
        let root_children = std::mem::take(&mut slots.get_mut(&0).expect("root").children);
        tree.entries.get_mut(&0).expect("root").node = Node::Dir(root_children);
        for (inode, slot) in slots.into_iter().filter(|(i, _)| *i != 0) {
            let row = slot.row.expect("non-placeholder slots have a row");
            let node = if row.kind == TYPE_DIR {
                Node::Dir(slot.children)
            } else {
                Node::File(row.data.unwrap_or_default())
            };
            let entry = Entry {
                parent: row.parent,
                version: row.version,
                writer: row.writer,
                mtime: row.mtime,
                name: row.name,
                node,
            };
            tree.entries.insert(inode, entry);
        }
        check_reachable(&tree)?;
        let fresh = tree.root().version == 0;
        if fresh {
            tree.root_mut().version = 1;
        }
        let mut vmlist = std::mem::take(&mut tree.vmlist);
        vmlist.rebuild(&tree)?;
        tree.vmlist = vmlist;
        Ok((tree, fresh))
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
