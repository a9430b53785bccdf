//! Figure 2's bound for any design: the least a FUSE file system on CPG must do when, like
//! pmxcfs, `close()` returns only after the file's data came back in agreed order and was
//! committed to SQLite, and every node stores every file. `minfs-serve` runs on every node:
//! a FUSE mount that keeps names in a hash map (nothing else of a tree), sends one CPG
//! message per file (from its first write: no create message, no version row), commits each
//! delivery round's files as one row each in one transaction (WAL, `synchronous=NORMAL`, as
//! the memdb; with `STORAGE` `none` it stores nothing at all, the bound of every design that
//! keeps the data anywhere), and answers a write once its own message is committed (or, without
//! storage, delivered). Names and attributes
//! are cached by the kernel for a second and there are no permission checks, so a create
//! costs the fewest FUSE requests the kernel allows. It checks nothing a real file system
//! must, so it says only how fast the machine lets such a system go, never how it should be
//! built.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, OpenFlags,
    ReplyAttr, ReplyCreate, ReplyEmpty, ReplyEntry, ReplyWrite, Request, WriteFlags,
};
use rust_corosync::cpg::{self, Address, Handle};
use rust_corosync::{CsError, DispatchFlags, NodeId};
use serde_json::{json, Value};

use crate::cpg::cs;

const GROUP: &str = "quorate_bench_minfs";
/// Where every node mounts it, and its database (next to the node's own, as local mode's).
pub const MOUNTPOINT: &str = "/run/quorate-bench-minfs";
const DATABASE: &str = "/var/lib/pve-cluster/quorate-bench-minfs.db";
/// Header bytes in front of path and data, so a message is as large as pmxcfs's WRITE.
const HEADER: usize = 44;
const TTL: Duration = Duration::from_secs(1);

/// One delivered file: whether this process sent it, and the message.
type Delivery = (bool, Vec<u8>);

/// Deliveries of the current dispatch (the callbacks are plain `fn`s).
static DELIVERIES: Mutex<Vec<Delivery>> = Mutex::new(Vec::new());
static MEMBERS: AtomicU32 = AtomicU32::new(0);
static OWN_NODE: AtomicU32 = AtomicU32::new(0);

fn deliver(_h: &Handle, _g: String, node: NodeId, pid: u32, msg: &[u8], _l: usize) {
    let own = u32::from(node) == OWN_NODE.load(Ordering::SeqCst) && pid == std::process::id();
    DELIVERIES.lock().unwrap().push((own, msg.to_vec()));
}

fn confchg(_h: &Handle, _g: &str, members: Vec<Address>, _l: Vec<Address>, _j: Vec<Address>) {
    MEMBERS.store(members.len() as u32, Ordering::SeqCst);
}

/// What the FUSE thread and the dispatch thread share.
struct Shared {
    /// libcpg has no locking of its own.
    cpg: Mutex<Handle>,
    /// Own messages sent, and own messages committed (CPG keeps a sender's order).
    sent: Mutex<u64>,
    committed: Mutex<Committed>,
    progress: Condvar,
}

#[derive(Default)]
struct Committed {
    own: u64,
    all: u64,
    open_files: u64,
}

struct MinFs {
    shared: Arc<Shared>,
    names: Mutex<HashMap<(u64, OsString), (u64, FileType)>>,
    nodes: Mutex<HashMap<u64, (String, FileType)>>,
    next_ino: AtomicU64,
}

fn attr(ino: u64, kind: FileType, size: u64) -> FileAttr {
    let t = SystemTime::now();
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: size.div_ceil(4096),
        atime: t,
        mtime: t,
        ctime: t,
        crtime: t,
        kind,
        perm: if kind == FileType::Directory {
            0o755
        } else {
            0o640
        },
        nlink: if kind == FileType::Directory { 2 } else { 1 },
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

impl MinFs {
    fn add(&self, parent: INodeNo, name: &OsStr, kind: FileType) -> Result<u64, Errno> {
        let parent_path = self.nodes.lock().unwrap().get(&parent.0).cloned();
        let (parent_path, _) = parent_path.ok_or(Errno::ENOENT)?;
        let ino = self.next_ino.fetch_add(1, Ordering::SeqCst);
        let path = format!("{parent_path}/{}", name.to_string_lossy());
        self.names
            .lock()
            .unwrap()
            .insert((parent.0, name.to_owned()), (ino, kind));
        self.nodes.lock().unwrap().insert(ino, (path, kind));
        Ok(ino)
    }

    /// Multicasts the file's message and waits until it is committed here.
    fn replicate(&self, ino: u64, data: &[u8]) -> Result<(), Errno> {
        let node = self.nodes.lock().unwrap().get(&ino).cloned();
        let (path, _) = node.ok_or(Errno::ENOENT)?;
        let mut msg = vec![0u8; HEADER];
        msg.extend_from_slice(path.as_bytes());
        msg.push(0);
        msg.extend_from_slice(data);
        let shared = &self.shared;
        let target = {
            let mut sent = shared.sent.lock().unwrap();
            mcast(&shared.cpg, &msg).map_err(|_| Errno::EIO)?;
            *sent += 1;
            *sent
        };
        let mut committed = shared.committed.lock().unwrap();
        while committed.own < target {
            committed = shared.progress.wait(committed).unwrap();
        }
        Ok(())
    }
}

fn mcast(cpg: &Mutex<Handle>, msg: &[u8]) -> Result<()> {
    loop {
        let result = cpg::mcast_joined(&cpg.lock().unwrap(), cpg::Guarantee::TypeAgreed, msg);
        match result {
            Err(CsError::CsErrTryAgain) => std::thread::sleep(Duration::from_micros(200)),
            other => return other.map_err(cs("cpg_mcast_joined")),
        }
    }
}

impl Filesystem for MinFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let found = self
            .names
            .lock()
            .unwrap()
            .get(&(parent.0, name.to_owned()))
            .copied();
        match found {
            Some((ino, kind)) => reply.entry(&TTL, &attr(ino, kind, 0), Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let kind = self
            .nodes
            .lock()
            .unwrap()
            .get(&ino.0)
            .map(|(_, kind)| *kind);
        match kind {
            Some(kind) => reply.attr(&TTL, &attr(ino.0, kind, 0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        match self.add(parent, name, FileType::Directory) {
            Ok(ino) => reply.entry(&TTL, &attr(ino, FileType::Directory, 0), Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        match self.add(parent, name, FileType::RegularFile) {
            Ok(ino) => {
                self.shared.committed.lock().unwrap().open_files += 1;
                reply.created(
                    &TTL,
                    &attr(ino, FileType::RegularFile, 0),
                    Generation(0),
                    FileHandle(0),
                    FopenFlags::FOPEN_DIRECT_IO,
                )
            }
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.replicate(ino.0, data) {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: fuser::LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok()
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
        let mut committed = self.shared.committed.lock().unwrap();
        committed.open_files = committed.open_files.saturating_sub(1);
        self.shared.progress.notify_all();
    }
}

fn open_database() -> Result<rusqlite::Connection> {
    let _ = std::fs::remove_file(DATABASE);
    let db = rusqlite::Connection::open(DATABASE).with_context(|| format!("open {DATABASE}"))?;
    db.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE tree (inode INTEGER PRIMARY KEY NOT NULL, parent INTEGER NOT NULL,
           version INTEGER NOT NULL, writer INTEGER NOT NULL, mtime INTEGER NOT NULL,
           type INTEGER NOT NULL, name TEXT NOT NULL, data BLOB);",
    )?;
    Ok(db)
}

/// Commits one dispatch's deliveries as one transaction; returns (own, all) counted.
fn commit(db: &mut rusqlite::Connection, next_row: &mut u64, batch: &[Delivery]) -> Result<u64> {
    let tx = db.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR REPLACE INTO tree (inode, parent, version, writer, mtime, type, name, data)
             VALUES (?1, 0, ?1, 0, 0, 8, ?2, ?3)",
        )?;
        for (_, msg) in batch {
            let body = &msg[HEADER.min(msg.len())..];
            let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
            let name = String::from_utf8_lossy(&body[..end]);
            *next_row += 1;
            insert.execute(rusqlite::params![*next_row as i64, name, &body[end..]])?;
        }
    }
    tx.commit()?;
    Ok(batch.iter().filter(|(own, _)| *own).count() as u64)
}

/// Dispatches and commits until `stop`; every round's rows in one transaction.
fn dispatch_loop(shared: &Shared, fd: i32, stop: &AtomicU32, durable: bool) -> Result<()> {
    let mut db = if durable {
        Some(open_database()?)
    } else {
        None
    };
    let mut next_row = 0;
    while stop.load(Ordering::SeqCst) == 0 {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, 50) } <= 0 {
            continue;
        }
        match cpg::dispatch(&shared.cpg.lock().unwrap(), DispatchFlags::All) {
            Ok(()) | Err(CsError::CsErrTryAgain) => {}
            Err(e) => bail!("cpg_dispatch failed: {e}"),
        }
        let batch = std::mem::take(&mut *DELIVERIES.lock().unwrap());
        if batch.is_empty() {
            continue;
        }
        let own = match db.as_mut() {
            Some(db) => commit(db, &mut next_row, &batch)?,
            None => batch.iter().filter(|(own, _)| *own).count() as u64,
        };
        let mut committed = shared.committed.lock().unwrap();
        committed.own += own;
        committed.all += batch.len() as u64;
        shared.progress.notify_all();
    }
    Ok(())
}

static DISPATCH_ERROR: OnceLock<String> = OnceLock::new();

/// How `minfs-serve` keeps what it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Storage {
    /// One SQLite transaction per delivery round, as the memdb.
    Sqlite,
    /// Nothing: a write returns once its message is delivered.
    None,
}

/// `minfs-serve MEMBERS FILES STORAGE TIMEOUT_S`: mounts [`MOUNTPOINT`], says `ready` on stderr
/// once MEMBERS servers are in the group, serves until FILES files (from all nodes) are
/// committed here and every local file is closed, then unmounts and reports its CPU time.
pub fn serve(members: u32, files: u64, storage: Storage, timeout_s: u64) -> Result<Value> {
    // Deliveries are only read in `dispatch`, after the node id is known.
    let (handle, fd) = crate::cpg::join_group(GROUP, deliver, confchg)?;
    OWN_NODE.store(
        u32::from(cpg::local_get(&handle).map_err(cs("cpg_local_get"))?),
        Ordering::SeqCst,
    );
    let shared = Arc::new(Shared {
        cpg: Mutex::new(handle),
        sent: Mutex::new(0),
        committed: Mutex::default(),
        progress: Condvar::new(),
    });
    let stop = Arc::new(AtomicU32::new(0));
    let dispatcher = {
        let (shared, stop) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            if let Err(e) = dispatch_loop(&shared, fd, &stop, storage == Storage::Sqlite) {
                let _ = DISPATCH_ERROR.set(format!("{e:#}"));
                shared.progress.notify_all();
            }
        })
    };
    let result = mount_and_serve(&shared, members, files, timeout_s);
    stop.store(1, Ordering::SeqCst);
    let _ = dispatcher.join();
    let _ = cpg::leave(&shared.cpg.lock().unwrap(), GROUP);
    let _ = std::fs::remove_file(DATABASE);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{DATABASE}{suffix}"));
    }
    result
}

fn mount_and_serve(
    shared: &Arc<Shared>,
    members: u32,
    files: u64,
    timeout_s: u64,
) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    while MEMBERS.load(Ordering::SeqCst) < members {
        if Instant::now() > deadline {
            bail!("timed out waiting for {members} minfs servers");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // A server killed by an earlier, failed run leaves its mount behind, unusable.
    // SAFETY: a NUL-terminated path; failure (nothing mounted) is harmless.
    unsafe { libc::umount2(c"/run/quorate-bench-minfs".as_ptr(), libc::MNT_DETACH) };
    std::fs::create_dir_all(MOUNTPOINT)?;
    let fs = MinFs {
        shared: shared.clone(),
        names: Mutex::default(),
        nodes: Mutex::new(HashMap::from([(
            INodeNo::ROOT.0,
            (String::new(), FileType::Directory),
        )])),
        next_ino: AtomicU64::new(2),
    };
    let mut config = fuser::Config::default();
    config.mount_options = vec![fuser::MountOption::FSName("quorate-bench-minfs".into())];
    config.n_threads = Some(1);
    let session = fuser::Session::new(fs, Path::new(MOUNTPOINT), &config)
        .with_context(|| format!("cannot mount {MOUNTPOINT}"))?;
    let background = session.spawn()?;
    let cpu_before = crate::cpu::self_s();
    eprintln!("ready");
    let mut committed = shared.committed.lock().unwrap();
    while committed.all < files || committed.open_files > 0 {
        if let Some(e) = DISPATCH_ERROR.get() {
            bail!("{e}");
        }
        if Instant::now() > deadline {
            bail!("timed out: {} of {files} files committed", committed.all);
        }
        committed = shared
            .progress
            .wait_timeout(committed, Duration::from_millis(100))
            .unwrap()
            .0;
    }
    let (own, all) = (committed.own, committed.all);
    drop(committed);
    let cpu_s = crate::cpu::self_s() - cpu_before;
    drop(background);
    Ok(json!({ "own": own, "committed": all, "cpu_s": cpu_s }))
}
