//! Rows of the `tree` table and the changes operations ask to persist.

use crate::tree::VERSION_ROW_NAME;

/// One row of the `tree` table (also the payload of a DFSM UPDATE record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `inode` column.
    pub inode: u64,
    /// `parent` column.
    pub parent: u64,
    /// `version` column.
    pub version: u64,
    /// `writer` column.
    pub writer: u32,
    /// `mtime` column.
    pub mtime: u32,
    /// `type` column: 4 directory, 8 file.
    pub kind: u8,
    /// `name` column.
    pub name: String,
    /// `data` column (`None` = SQL NULL).
    pub data: Option<Vec<u8>>,
}

impl Row {
    /// The row as stored in the `tree` table: the root record (inode 0) of a DFSM UPDATE
    /// becomes the `__version__` row (keeping its type, normally 4); others unchanged.
    pub fn into_stored(self) -> Row {
        if self.inode == 0 {
            RowChange::version_row(self.version, self.writer, self.mtime, self.kind)
        } else {
            self
        }
    }
}

/// A row borrowed from the tree: what an UPDATE record is encoded from without a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRef<'a> {
    /// Inode.
    pub inode: u64,
    /// Parent inode.
    pub parent: u64,
    /// Version of the last change.
    pub version: u64,
    /// Writer of the last change.
    pub writer: u32,
    /// Mtime of the last change.
    pub mtime: u32,
    /// 4 directory, 8 file.
    pub kind: u8,
    /// Name (empty for the root).
    pub name: &'a str,
    /// File content (empty for directories).
    pub data: &'a [u8],
}

impl RowRef<'_> {
    /// The owned row (empty data becomes `None`).
    pub fn to_row(&self) -> Row {
        Row {
            inode: self.inode,
            parent: self.parent,
            version: self.version,
            writer: self.writer,
            mtime: self.mtime,
            kind: self.kind,
            name: self.name.to_string(),
            data: (!self.data.is_empty()).then(|| self.data.to_vec()),
        }
    }
}

impl Row {
    /// The row borrowed (`None` data as empty).
    pub fn borrowed(&self) -> RowRef<'_> {
        RowRef {
            inode: self.inode,
            parent: self.parent,
            version: self.version,
            writer: self.writer,
            mtime: self.mtime,
            kind: self.kind,
            name: &self.name,
            data: self.data.as_deref().unwrap_or_default(),
        }
    }
}

/// A change to persist, produced by [`Tree::apply`](crate::Tree::apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowChange {
    /// `REPLACE` this row.
    Replace(Row),
    /// `DELETE` the row with this inode.
    Delete(u64),
    /// `REPLACE` the `__version__` row (inode 0, type 8, no data).
    Version {
        /// New global version.
        version: u64,
        /// Writer of the operation.
        writer: u32,
        /// Mtime of the operation.
        mtime: u32,
    },
}

impl RowChange {
    /// The inode of the row this change writes (0 for the `__version__` row).
    pub fn inode(&self) -> u64 {
        match self {
            RowChange::Replace(row) => row.inode,
            RowChange::Delete(inode) => *inode,
            RowChange::Version { .. } => 0,
        }
    }

    /// Keeps only the last change of every row, in their order: each change replaces or
    /// deletes a whole row by its primary key, so in one transaction the earlier ones are
    /// overwritten anyway. A delivery round often holds a file's CREATE and WRITE, each with
    /// its `__version__` bump: four statements, of which two decide the outcome.
    pub fn last_per_row(changes: Vec<RowChange>) -> Vec<RowChange> {
        let mut seen = std::collections::HashSet::with_capacity(changes.len());
        let mut kept: Vec<RowChange> = changes
            .into_iter()
            .rev()
            .filter(|change| seen.insert(change.inode()))
            .collect();
        kept.reverse();
        kept
    }

    /// Builds the `__version__` pseudo row (inode 0, parent 0, no data) of the given type.
    pub fn version_row(version: u64, writer: u32, mtime: u32, kind: u8) -> Row {
        Row {
            inode: 0,
            parent: 0,
            version,
            writer,
            mtime,
            kind,
            name: VERSION_ROW_NAME.to_string(),
            data: None,
        }
    }
}
