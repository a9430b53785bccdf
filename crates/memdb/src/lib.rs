//! The versioned file tree of `/etc/pve` (the pmxcfs "memdb") and its SQLite persistence,
//! using the same schema and row conventions as the original `config.db`.
//!
//! * [`Tree`] is the pure, sans-I/O core: entries, lookups, the modifying operations
//!   ([`Op`], applied with [`Tree::apply`] with the original errno semantics, returning the
//!   [`RowChange`]s to persist), loading from rows ([`Tree::from_rows`]), the index/STATE
//!   blob and checksums ([`Index`], [`Tree::checksum`]) and the VM list ([`VmList`]).
//! * [`LockTable`] is the node-local bookkeeping of `priv/lock/<name>` directories.
//! * [`Database`] is the thin SQLite edge (schema, single-instance lock, transactions).
//! * [`Memdb`] ties them together for a multi-threaded daemon (`Send + Sync`).
//!
//! Not for: FUSE, networking (DFSM), quorum — callers decide whether a write is allowed
//! and supply the writer node id and mtime of every operation.

mod digest;
mod errno;
mod load;
mod locks;
mod memdb;
mod ops;
pub mod path;
mod rows;
mod sql;
mod store;
mod sync;
mod tree;
mod vmlist;

#[cfg(test)]
mod tests;

pub use digest::{hex, Index, IndexEntry, IndexError, INDEX_ENTRY_LEN, INDEX_HEADER_LEN};
pub use errno::Errno;
pub use load::LoadError;
pub use locks::{LockInfo, LockTable, LOCK_TIMEOUT};
pub use memdb::{unix_now, Memdb, OpenError, SyncError};
pub use ops::{Applied, Op};
pub use path::{GuestConfig, VmType};
pub use store::{Database, StoreError, LOCK_FILE_NAME, SCHEMA};
pub use sync::SyncStage;
pub use tree::{
    EntryInfo, Kind, Row, RowChange, RowRef, StatFs, Tree, MAX_FILE_SIZE, TYPE_DIR, TYPE_FILE,
    VERSION_ROW_NAME,
};
pub use vmlist::{render_vmlist, DuplicateVmid, VmEntry, VmList};
