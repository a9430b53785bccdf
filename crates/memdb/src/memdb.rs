//! `Memdb`: the tree plus its database, shareable between threads.
//!
//! Locking: a writer takes the tree write lock, applies the operation in memory, takes the
//! database mutex, releases the tree lock and commits; readers only need the tree read lock,
//! so they are never blocked by a slow SQLite commit (they may see a change a moment before
//! it is durable; its writer is answered only after the commit).
//!
//! Batches ([`Memdb::begin_batch`]/[`Memdb::end_batch`]): the DFSM dispatch thread applies
//! every message of one delivery round in memory and commits their rows in one transaction
//! at the end, before any writer of the round is answered; one SQLite commit per round
//! instead of per message, and nothing acknowledged is ever missing from the database.
//!
//! Commit failures: the in-memory change stays, the memdb enters its error state (like the
//! original) and every later modification — including ones already applied in memory and
//! waiting for the database — fails with `EIO` without writing anything. The database thus
//! holds a consistent earlier state and a restart reloads it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::digest::Index;
use crate::load::LoadError;
use crate::locks::LockTable;
use crate::path::{components, is_lock_path};
use crate::store::{Database, StoreError};
use crate::sync::SyncStage;
use crate::tree::{Entry, Kind, RowChange, Tree};
use crate::vmlist::{render_vmlist, VmList};
use crate::{EntryInfo, Errno, Op, StatFs};

/// SQLite page cache of the database connection, in KiB (a negative `cache_size`).
const SQLITE_CACHE_KIB: i64 = -512;

/// Error of [`Memdb::open`].
pub type OpenError = StoreError;

/// Why a sync commit (§1.12.4) failed; the memdb is in its error state afterwards.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The memdb was already in its error state.
    #[error("memdb is in its error state")]
    ErrorState,
    /// Database failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The resulting rows do not form a valid tree (or have duplicate VMIDs).
    #[error("rebuilt tree is invalid: {0}")]
    Load(#[from] LoadError),
    /// The rebuilt tree's index differs from the leader's.
    #[error("rebuilt index does not match the leader's (version {ours} vs {leader})")]
    IndexMismatch {
        /// Our rebuilt version.
        ours: u64,
        /// Leader's version.
        leader: u64,
    },
}

struct State {
    tree: Tree,
    locks: LockTable,
}

/// The memdb: a [`Tree`], its lock bookkeeping and an optional [`Database`].
pub struct Memdb {
    state: RwLock<State>,
    pub(crate) db: Mutex<Option<Database>>,
    /// Rows applied in memory but not committed yet while a batch is open (under `db`'s
    /// lock order: taken after it).
    batch: Mutex<Option<Vec<RowChange>>>,
    failed: AtomicBool,
    last_error: Mutex<Option<String>>,
    path: Option<PathBuf>,
}

/// Current Unix time in seconds (u32, as the original).
pub fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

impl Memdb {
    /// Opens or creates the database at `path` (refused if another instance holds it).
    pub fn open(path: impl AsRef<Path>) -> Result<Memdb, OpenError> {
        Memdb::open_waiting(path, Duration::ZERO)
    }

    /// Like [`Memdb::open`], waiting up to `wait` for the instance lock.
    pub fn open_waiting(path: impl AsRef<Path>, wait: Duration) -> Result<Memdb, OpenError> {
        let (mut db, (mut tree, fresh)) =
            Database::open_with(path.as_ref(), wait, Tree::from_rows_fresh)?;
        // Every read is served from the tree, so SQLite's cache only speeds up writes, which
        // touch a few B-tree pages; its default 2 MiB would be a tenth of the daemon's RSS.
        db.conn
            .pragma_update(None, "cache_size", SQLITE_CACHE_KIB)
            .map_err(|source| StoreError::Sqlite {
                path: path.as_ref().to_path_buf(),
                source,
            })?;
        if fresh {
            let root = tree.root_mut();
            root.mtime = unix_now();
            let change = RowChange::Version {
                version: root.version,
                writer: root.writer,
                mtime: root.mtime,
            };
            db.commit(&[change])?;
        }
        let path = Some(db.path().to_path_buf());
        Ok(Memdb::build(tree, Some(db), path))
    }

    /// A memdb without persistence (root version 1, mtime now).
    pub fn in_memory() -> Memdb {
        Memdb::from_tree(Tree::new(unix_now()))
    }

    /// A memdb without persistence around an existing tree.
    pub fn from_tree(tree: Tree) -> Memdb {
        Memdb::build(tree, None, None)
    }

    fn build(tree: Tree, db: Option<Database>, path: Option<PathBuf>) -> Memdb {
        let locks = LockTable::rebuild(&tree, Instant::now());
        Memdb {
            failed: AtomicBool::new(tree.has_errors()),
            state: RwLock::new(State { tree, locks }),
            db: Mutex::new(db),
            batch: Mutex::new(None),
            last_error: Mutex::new(None),
            path,
        }
    }

    fn read_state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_db(&self) -> MutexGuard<'_, Option<Database>> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The database file, if persistent.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// True once the memdb entered its error state.
    pub fn has_errors(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Message of the database failure that caused the error state.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn fail(&self, message: String) {
        self.failed.store(true, Ordering::SeqCst);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
    }

    /// Applies `op` (writer node id, mtime) and persists it before returning the result
    /// (bytes written for writes, else 0).
    pub fn apply(&self, op: &Op, writer: u32, mtime: u32) -> Result<u64, Errno> {
        let mut st = self.write_state();
        if self.has_errors() {
            st.tree.set_error();
            return Err(Errno::Eio);
        }
        let State { tree, locks } = &mut *st;
        let applied = tree.apply(op, writer, mtime)?;
        locks.observe(tree, op, Instant::now());
        let mut db = self.lock_db();
        drop(st);
        let Some(database) = db.as_mut() else {
            return Ok(applied.result);
        };
        if self.has_errors() {
            return Err(Errno::Eio);
        }
        if let Some(batch) = self.lock_batch().as_mut() {
            batch.extend(applied.changes);
            return Ok(applied.result);
        }
        if let Err(e) = database.commit(&applied.changes) {
            self.fail(e.to_string());
            drop(db);
            self.write_state().tree.set_error();
            return Err(Errno::Eio);
        }
        Ok(applied.result)
    }

    fn lock_batch(&self) -> MutexGuard<'_, Option<Vec<RowChange>>> {
        self.batch.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a batch: until [`Memdb::end_batch`], [`Memdb::apply`] changes the tree at once
    /// but only collects the rows; its results must not be reported before `end_batch`.
    pub fn begin_batch(&self) {
        let _db = self.lock_db();
        self.lock_batch().get_or_insert_with(Vec::new);
    }

    /// Commits the rows of the open batch in one transaction and closes it. On failure the
    /// memdb enters its error state (every operation of the batch must then count as
    /// failed) and `Err(Errno::Eio)` is returned.
    pub fn end_batch(&self) -> Result<(), Errno> {
        let mut db = self.lock_db();
        let Some(changes) = self.lock_batch().take() else {
            return Ok(());
        };
        let changes = RowChange::last_per_row(changes);
        let result = self.commit_locked(&mut db, &changes);
        drop(db);
        if result.is_err() {
            self.write_state().tree.set_error();
            return result;
        }
        // The digests a STATE message (sync start) will need, while they are cheap to get:
        // hashing thousands of new entries only then would delay every node's STATE.
        let changed = changes.iter().filter_map(|change| match change {
            RowChange::Replace(row) => Some(row.inode),
            RowChange::Version { .. } => Some(0),
            RowChange::Delete(_) => None,
        });
        self.with_tree(|tree| tree.warm_digests(changed));
        result
    }

    /// Commits rows collected by an open batch now (the batch stays open).
    fn commit_batched(&self, db: &mut Option<Database>) -> Result<(), Errno> {
        let changes = match self.lock_batch().as_mut() {
            Some(batch) => RowChange::last_per_row(std::mem::take(batch)),
            None => return Ok(()),
        };
        self.commit_locked(db, &changes)
    }

    /// Commits `changes`; a failure puts the memdb into its error state (the caller marks
    /// the tree, whose lock must not be taken while `db` is held).
    fn commit_locked(&self, db: &mut Option<Database>, changes: &[RowChange]) -> Result<(), Errno> {
        let Some(database) = db.as_mut() else {
            return Ok(());
        };
        if changes.is_empty() {
            return Ok(());
        }
        if self.has_errors() {
            return Err(Errno::Eio);
        }
        database.commit(changes).map_err(|e| {
            self.fail(e.to_string());
            Errno::Eio
        })
    }

    /// Runs `f` with shared access to the tree.
    pub fn with_tree<R>(&self, f: impl FnOnce(&Tree) -> R) -> R {
        f(&self.read_state().tree)
    }

    /// See [`Tree::lookup`].
    pub fn lookup(&self, path: &str) -> Option<EntryInfo> {
        self.with_tree(|t| t.lookup(path))
    }

    /// See [`Tree::read`].
    pub fn read(&self, path: &str, offset: u64, size: usize) -> Result<Vec<u8>, Errno> {
        self.with_tree(|t| t.read(path, offset, size))
    }

    /// See [`Tree::readdir`].
    pub fn readdir(&self, path: &str) -> Result<Vec<(String, EntryInfo)>, Errno> {
        self.with_tree(|t| t.readdir(path))
    }

    /// See [`Tree::statfs`].
    pub fn statfs(&self) -> StatFs {
        self.with_tree(Tree::statfs)
    }

    /// Global version.
    pub fn version(&self) -> u64 {
        self.with_tree(Tree::version)
    }

    /// Index (STATE blob content).
    pub fn index(&self) -> Index {
        self.with_tree(Tree::index)
    }

    /// Whole-tree checksum (VERIFY).
    pub fn checksum(&self) -> [u8; 32] {
        self.with_tree(Tree::checksum)
    }

    /// A copy of the VM list.
    pub fn vmlist(&self) -> VmList {
        self.with_tree(|t| t.vmlist().clone())
    }

    /// The `.vmlist` file content.
    pub fn vmlist_text(&self) -> String {
        self.with_tree(|t| render_vmlist(t.vmlist()))
    }

    /// Current entry checksum of a lock directory `priv/lock/<name>`, if it is one.
    fn lock_checksum(tree: &Tree, path: &str) -> Option<[u8; 32]> {
        let is_dir = tree.lookup(path)?.kind == Kind::Dir;
        (is_dir && is_lock_path(&components(path)))
            .then(|| tree.entry_checksum(path))
            .flatten()
    }

    /// UNLOCK_REQUEST evaluation (lowest node only): true if `path` is a lock directory
    /// whose checksum is `csum` and which is expired by local bookkeeping at `now`.
    pub fn unlock_request_expired(&self, path: &str, csum: &[u8; 32], now: Instant) -> bool {
        let mut st = self.write_state();
        let State { tree, locks } = &mut *st;
        Memdb::lock_checksum(tree, path) == Some(*csum) && locks.is_expired(path, csum, now)
    }

    /// UNLOCK: deletes the lock directory if its checksum is still `csum`.
    /// Returns whether it was deleted.
    pub fn unlock(
        &self,
        path: &str,
        csum: &[u8; 32],
        writer: u32,
        mtime: u32,
    ) -> Result<bool, Errno> {
        if self.with_tree(|t| Memdb::lock_checksum(t, path)) != Some(*csum) {
            return Ok(false);
        }
        let op = Op::Delete {
            path: path.to_string(),
        };
        self.apply(&op, writer, mtime).map(|_| true)
    }

    /// Local mode `utime(path, 0, 0)`: deletes the lock directory (writer 0) if it is
    /// expired by local bookkeeping. Returns whether it was deleted.
    pub fn unlock_expired_local(
        &self,
        path: &str,
        mtime: u32,
        now: Instant,
    ) -> Result<bool, Errno> {
        let Some(csum) = self.with_tree(|t| Memdb::lock_checksum(t, path)) else {
            return Ok(false);
        };
        if !self.unlock_request_expired(path, &csum, now) {
            return Ok(false);
        }
        self.unlock(path, &csum, 0, mtime)
    }

    /// Lock directories expired at `now` (checksum unchanged for more than 120 s).
    pub fn expired_locks(&self, now: Instant) -> Vec<(String, [u8; 32])> {
        let st = self.read_state();
        st.locks.expired(&st.tree, now)
    }

    /// Sync commit (§1.12.4): deletes local inodes absent from `leader`, stores the records
    /// of `received` (the last record of an inode wins), builds the resulting tree and
    /// requires its index to equal `leader`; then swaps the tree in and rebuilds the VM
    /// list and lock bookkeeping. A rejected tree is not shown: the memdb keeps the old one
    /// and enters its error state.
    ///
    /// Readers get the new tree as soon as it passed the check, before SQLite has its rows
    /// (the leader's data, already durable there); later changes wait for the database lock
    /// held until the commit, so nothing reaches the database before it. If the database
    /// write fails, it is rolled back and the memdb enters its error state (reads fail with
    /// `EIO`); a restart reloads the database and syncs again.
    pub fn apply_sync(&self, leader: &Index, received: SyncStage) -> Result<(), SyncError> {
        let mut st = self.write_state();
        if self.has_errors() {
            return Err(SyncError::ErrorState);
        }
        let mut db = self.lock_db();
        if self.commit_batched(&mut db).is_err() {
            drop(db);
            st.tree.set_error();
            return Err(SyncError::ErrorState);
        }
        let deletes = st.tree.inodes_absent_from(leader);
        let SyncStage {
            rows,
            root,
            entries,
        } = received;
        match synced_checked(&st.tree, &deletes, root, entries, leader) {
            Ok(tree) => install(st, tree),
            Err(e) => {
                drop(db);
                self.fail(e.to_string());
                st.tree.set_error();
                return Err(e);
            }
        }
        let Some(database) = db.as_mut() else {
            return Ok(());
        };
        let deleted = deletes.into_iter().map(RowChange::Delete);
        let changes: Vec<RowChange> = deleted
            .chain(rows.into_iter().map(RowChange::Replace))
            .collect();
        if let Err(e) = database.commit(&changes) {
            drop(db);
            self.fail(e.to_string());
            self.write_state().tree.set_error();
            return Err(e.into());
        }
        Ok(())
    }
}

/// Shows `tree` to readers, rebuilds the lock bookkeeping for it and releases the tree
/// lock; the old tree is freed after that, without blocking readers.
fn install(mut st: RwLockWriteGuard<'_, State>, tree: Tree) {
    st.locks = LockTable::rebuild(&tree, Instant::now());
    let old = std::mem::replace(&mut st.tree, tree);
    drop(st);
    drop(old);
}

/// The tree after the sync, required to have the leader's index.
fn synced_checked(
    old: &Tree,
    deletes: &[u64],
    root: Option<(u64, u32, u32)>,
    received: BTreeMap<u64, Entry>,
    leader: &Index,
) -> Result<Tree, SyncError> {
    let tree = old.synced(deletes, root, received)?;
    let ours = tree.index();
    if ours != *leader {
        return Err(SyncError::IndexMismatch {
            ours: ours.version,
            leader: leader.version,
        });
    }
    Ok(tree)
}
