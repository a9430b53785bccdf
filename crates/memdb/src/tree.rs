//! The pure in-memory tree: entries, inode map, lookups and the read side.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::path::{self, components};
pub use crate::rows::{Row, RowChange, RowRef};
use crate::vmlist::VmList;
use crate::Errno;

/// Largest file (bytes): `offset + count` must not exceed it.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;
/// SQLite `type` value of directories (`DT_DIR`).
pub const TYPE_DIR: u8 = 4;
/// SQLite `type` value of regular files (`DT_REG`).
pub const TYPE_FILE: u8 = 8;
/// Name of the pseudo row that stores the root's version, writer and mtime.
pub const VERSION_ROW_NAME: &str = "__version__";

/// Kind of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
}

impl Kind {
    /// The numeric `type` (4 directory, 8 file) used in rows, digests and UPDATE records.
    pub fn code(self) -> u8 {
        match self {
            Kind::Dir => TYPE_DIR,
            Kind::File => TYPE_FILE,
        }
    }
}

/// Metadata of one entry as seen by readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryInfo {
    /// Inode number (root: 0).
    pub inode: u64,
    /// Parent inode (root: 0).
    pub parent: u64,
    /// Global version at the entry's last modification.
    pub version: u64,
    /// Node id of the last modifier.
    pub writer: u32,
    /// Unix seconds of the last modification.
    pub mtime: u32,
    /// File length (directories: 0).
    pub size: u32,
    /// Directory or file.
    pub kind: Kind,
}

/// `statfs` numbers (§2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFs {
    /// Block size: 4096.
    pub bsize: u64,
    /// Total blocks: 32768 (128 MiB).
    pub blocks: u64,
    /// Free blocks: `blocks - ceil(total_file_bytes / 4096)`.
    pub bfree: u64,
    /// Same as `bfree`.
    pub bavail: u64,
    /// Total inodes: 262144.
    pub files: u64,
    /// `files - number_of_entries` (root included).
    pub ffree: u64,
    /// 256.
    pub namemax: u64,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Dir(BTreeMap<String, u64>),
    File(Vec<u8>),
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub parent: u64,
    pub version: u64,
    pub writer: u32,
    pub mtime: u32,
    pub name: String,
    pub node: Node,
    /// Index digest (§2.6), computed on first use; every change of the fields above
    /// except a directory's children must reset it ([`Entry::stamp`], [`Tree::root_mut`]).
    pub digest: OnceLock<[u8; 32]>,
}

impl Entry {
    /// A new entry (its digest is computed when first needed).
    pub fn new(
        parent: u64,
        name: String,
        node: Node,
        version: u64,
        writer: u32,
        mtime: u32,
    ) -> Self {
        Entry {
            parent,
            version,
            writer,
            mtime,
            name,
            node,
            digest: OnceLock::new(),
        }
    }

    /// Records a modification: new version, writer and mtime, and a digest to recompute.
    pub fn stamp(&mut self, version: u64, writer: u32, mtime: u32) {
        (self.version, self.writer, self.mtime) = (version, writer, mtime);
        self.digest = OnceLock::new();
    }

    pub fn kind(&self) -> Kind {
        match self.node {
            Node::Dir(_) => Kind::Dir,
            Node::File(_) => Kind::File,
        }
    }

    pub fn data(&self) -> &[u8] {
        match &self.node {
            Node::File(d) => d,
            Node::Dir(_) => &[],
        }
    }

    pub fn info(&self, inode: u64) -> EntryInfo {
        EntryInfo {
            inode,
            parent: self.parent,
            version: self.version,
            writer: self.writer,
            mtime: self.mtime,
            size: self.data().len() as u32,
            kind: self.kind(),
        }
    }

    /// The entry as a row (UPDATE record) with this inode, borrowed.
    pub fn row_ref(&self, inode: u64) -> RowRef<'_> {
        RowRef {
            inode,
            parent: self.parent,
            version: self.version,
            writer: self.writer,
            mtime: self.mtime,
            kind: self.kind().code(),
            name: &self.name,
            data: self.data(),
        }
    }

    pub fn children(&self) -> Option<&BTreeMap<String, u64>> {
        match &self.node {
            Node::Dir(c) => Some(c),
            Node::File(_) => None,
        }
    }
}

/// The versioned file tree. All state is in memory; modifications go through
/// [`Tree::apply`](crate::Tree::apply), which returns the rows to persist.
#[derive(Debug, Clone)]
pub struct Tree {
    pub(crate) entries: BTreeMap<u64, Entry>,
    pub(crate) vmlist: VmList,
    pub(crate) errors: bool,
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new(0)
    }
}

impl Tree {
    /// An empty tree as for a brand-new database: root version 1, writer 0, given mtime.
    pub fn new(mtime: u32) -> Tree {
        let root = Entry::new(0, String::new(), Node::Dir(BTreeMap::new()), 1, 0, mtime);
        Tree {
            entries: BTreeMap::from([(0, root)]),
            vmlist: VmList::default(),
            errors: false,
        }
    }

    pub(crate) fn root(&self) -> &Entry {
        &self.entries[&0]
    }

    /// The root entry, for a change: its digest is reset.
    pub(crate) fn root_mut(&mut self) -> &mut Entry {
        let root = self.entries.get_mut(&0).expect("root entry always exists");
        root.digest = OnceLock::new();
        root
    }

    /// Global version (the root entry's version).
    pub fn version(&self) -> u64 {
        self.root().version
    }

    /// Metadata of the root entry (its writer/mtime are those of the last modification).
    pub fn root_info(&self) -> EntryInfo {
        self.root().info(0)
    }

    /// Highest inode number in the tree.
    pub fn last_inode(&self) -> u64 {
        self.entries.keys().next_back().copied().unwrap_or(0)
    }

    /// Number of entries, root included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if only the root exists.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 1
    }

    /// True once a database write failed: every later modification fails with `EIO`.
    pub fn has_errors(&self) -> bool {
        self.errors
    }

    /// Enter the error state (used by the storage edge when a commit fails).
    pub fn set_error(&mut self) {
        self.errors = true;
    }

    /// Inode of the entry reached by walking `comps` from the root.
    pub(crate) fn lookup_comps(&self, comps: &[&str]) -> Option<u64> {
        let mut inode = 0;
        for comp in comps {
            inode = *self.entries.get(&inode)?.children()?.get(*comp)?;
        }
        Some(inode)
    }

    pub(crate) fn lookup_inode(&self, path: &str) -> Option<u64> {
        path::validate(path).ok()?;
        self.lookup_comps(&components(path))
    }

    /// Metadata of the entry at `path`; `None` if it does not exist (or the path is invalid).
    pub fn lookup(&self, path: &str) -> Option<EntryInfo> {
        let inode = self.lookup_inode(path)?;
        Some(self.entries[&inode].info(inode))
    }

    /// Metadata of the entry with this inode.
    pub fn get(&self, inode: u64) -> Option<EntryInfo> {
        self.entries.get(&inode).map(|e| e.info(inode))
    }

    /// Up to `size` bytes of the file at `path` starting at `offset`.
    /// Directories and missing paths → `ENOENT`; error state → `EIO`.
    pub fn read(&self, path: &str, offset: u64, size: usize) -> Result<Vec<u8>, Errno> {
        let data = self.read_all(path)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let end = start.saturating_add(size).min(data.len());
        Ok(data[start..end].to_vec())
    }

    /// The whole content of the file at `path` (borrowed).
    pub fn read_all(&self, path: &str) -> Result<&[u8], Errno> {
        if self.errors {
            return Err(Errno::Eio);
        }
        let inode = self.lookup_inode(path).ok_or(Errno::Enoent)?;
        match &self.entries[&inode].node {
            Node::File(data) => Ok(data),
            Node::Dir(_) => Err(Errno::Enoent),
        }
    }

    /// Children of the directory at `path`, sorted by name (without `.`/`..`).
    /// Missing → `ENOENT`, a file → `ENOTDIR`, error state → `EIO`.
    pub fn readdir(&self, path: &str) -> Result<Vec<(String, EntryInfo)>, Errno> {
        if self.errors {
            return Err(Errno::Eio);
        }
        let inode = self.lookup_inode(path).ok_or(Errno::Enoent)?;
        let children = self.entries[&inode].children().ok_or(Errno::Enotdir)?;
        Ok(children
            .iter()
            .map(|(name, ino)| (name.clone(), self.entries[ino].info(*ino)))
            .collect())
    }

    /// File-system statistics reported to `statfs`.
    pub fn statfs(&self) -> StatFs {
        let bytes: u64 = self.entries.values().map(|e| e.data().len() as u64).sum();
        let blocks = 32768;
        let free = blocks - bytes.div_ceil(4096).min(blocks);
        let files = 262_144;
        StatFs {
            bsize: 4096,
            blocks,
            bfree: free,
            bavail: free,
            files,
            ffree: files - (self.entries.len() as u64).min(files),
            namemax: 256,
        }
    }

    /// Full path (no leading slash) of an inode, `""` for the root.
    pub fn path_of(&self, inode: u64) -> Option<String> {
        let mut parts = Vec::new();
        let mut cur = inode;
        while cur != 0 {
            let e = self.entries.get(&cur)?;
            parts.push(e.name.as_str());
            cur = e.parent;
        }
        parts.reverse();
        Some(parts.join("/"))
    }

    /// The row (UPDATE record) of an entry. The root gives inode 0, empty name, type 4.
    pub fn row(&self, inode: u64) -> Option<Row> {
        self.row_ref(inode).map(|r| r.to_row())
    }

    /// [`Tree::row`], borrowed.
    pub fn row_ref(&self, inode: u64) -> Option<RowRef<'_>> {
        Some(self.entries.get(&inode)?.row_ref(inode))
    }

    /// All rows as stored in the database: the `__version__` row (type 8) then every
    /// non-root entry by inode.
    pub fn to_rows(&self) -> Vec<Row> {
        let root = self.root();
        let version = RowChange::version_row(root.version, root.writer, root.mtime, TYPE_FILE);
        let entries = self.entries.iter().skip(1);
        std::iter::once(version)
            .chain(entries.map(|(inode, e)| e.row_ref(*inode).to_row()))
            .collect()
    }

    /// Inodes of this tree (the root included) that `index` does not list.
    pub fn inodes_absent_from(&self, index: &crate::Index) -> Vec<u64> {
        let listed: std::collections::HashSet<u64> =
            index.entries.iter().map(|e| e.inode).collect();
        self.entries
            .keys()
            .copied()
            .filter(|i| !listed.contains(i))
            .collect()
    }

    /// Entry checksum (§2.8) of the entry at `path`.
    pub fn entry_checksum(&self, path: &str) -> Option<[u8; 32]> {
        let inode = self.lookup_inode(path)?;
        Some(crate::digest::entry_checksum(self, inode))
    }

    /// The current VM list.
    pub fn vmlist(&self) -> &VmList {
        &self.vmlist
    }
}
