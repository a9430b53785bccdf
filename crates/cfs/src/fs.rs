//! The FUSE front: kernel requests → memdb operations and virtual files.
//!
//! FUSE node ids: the root is 1, a file's is its memdb inode `n` plus one (memdb inodes are
//! never reused, so neither are ours), a directory's is bound to its path ([`dirs`]), and
//! the synthetic root entries and pipelined creates use ranges of their own.

use std::ffi::OsStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fuser::{
    Errno, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use memdb::{EntryInfo, Kind, Memdb, Op};

use crate::cluster::ClusterService;
use crate::namespace::{self, Synthetic, SYNTHETIC};
use crate::pipeline::Pipeline;
use crate::status::Status;

mod attrs;
mod dirs;
mod pipelined;
mod truncates;

use attrs::{shown_ino, CREATE_TTL, TTL};
use dirs::DirIds;
pub use truncates::Truncates;

/// First FUSE inode of the synthetic root entries.
const SYNTHETIC_BASE: u64 = 1 << 62;

pub struct PveFs {
    pub memdb: Arc<Memdb>,
    pub status: Arc<Status>,
    /// Group `www-data`, owner group of every entry.
    pub gid: u32,
    /// Replication, in cluster mode; `None` in local mode (writes go straight to the memdb).
    pub cluster: Option<Arc<ClusterService>>,
    /// Creates answered before their delivery (cluster mode).
    pub pipeline: Pipeline,
    /// Node ids of the directories the kernel knows.
    pub dirs: DirIds,
    /// Truncating opens whose truncation has not gone out yet (cluster mode).
    pub truncates: Truncates,
}

enum Node {
    Memdb(String, EntryInfo),
    Synthetic(Synthetic),
}

fn memdb_ino(inode: u64) -> INodeNo {
    INodeNo(inode + 1)
}

fn errno(e: memdb::Errno) -> Errno {
    Errno::from_i32(e.raw())
}

fn seconds(t: TimeOrNow) -> u32 {
    match t {
        TimeOrNow::Now => memdb::unix_now(),
        TimeOrNow::SpecificTime(t) => t
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs().min(u64::from(u32::MAX)) as u32)
            .unwrap_or(0),
    }
}

impl PveFs {
    fn node(&self, ino: INodeNo) -> Option<Node> {
        if ino.0 >= SYNTHETIC_BASE {
            let i = (ino.0 - SYNTHETIC_BASE) as usize;
            return SYNTHETIC.get(i).map(|(_, s)| Node::Synthetic(*s));
        }
        if DirIds::is_dir_id(ino) {
            let path = self.dirs.path(ino)?;
            self.pipeline_barrier();
            self.truncation_barrier();
            // A stale id never shows a file that replaced its directory: the kernel would
            // take the changed type for a corrupt inode.
            let info = self.memdb.lookup(&path).filter(|i| i.kind == Kind::Dir)?;
            return Some(Node::Memdb(path, info));
        }
        let inode = if Pipeline::is_provisional(ino) {
            self.settle(ino)?.ok()?
        } else {
            self.pipeline_barrier();
            self.truncation_barrier();
            ino.0.checked_sub(1)?
        };
        self.memdb.with_tree(|t| {
            let info = t.get(inode)?;
            let path = t.path_of(inode)?;
            Some(Node::Memdb(path, info))
        })
    }

    fn dir_path(&self, ino: INodeNo) -> Result<String, Errno> {
        self.dir(ino).map(|(path, _)| path)
    }

    fn dir(&self, ino: INodeNo) -> Result<(String, EntryInfo), Errno> {
        match self.node(ino) {
            Some(Node::Memdb(path, info)) if info.kind == Kind::Dir => Ok((path, info)),
            Some(Node::Memdb(..)) => Err(Errno::ENOTDIR),
            Some(Node::Synthetic(_)) => Err(Errno::EACCES),
            None => Err(Errno::ENOENT),
        }
    }

    /// The memdb path for `name` in directory `parent`; synthetic root names are refused.
    fn child_path(&self, parent: INodeNo, name: &OsStr) -> Result<String, Errno> {
        let dir = self.dir_path(parent)?;
        let name = name.to_str().ok_or(Errno::EACCES)?;
        if dir.is_empty() && namespace::synthetic(name).is_some() {
            return Err(Errno::EACCES);
        }
        Ok(namespace::join(&dir, name))
    }

    fn quorate_or_eacces(&self) -> Result<(), Errno> {
        if self.status.is_quorate() {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    fn apply(&self, op: Op, path: &str) -> Result<u64, Errno> {
        self.quorate_or_eacces()?;
        let result = match &self.cluster {
            Some(cluster) => cluster.write(&op).map_err(Errno::from_i32)?,
            None => self.memdb.apply(&op, 0, memdb::unix_now()).map_err(errno)?,
        };
        self.status.path_changed(path);
        if let Op::Rename { from, .. } = &op {
            self.status.path_changed(from);
        }
        Ok(result)
    }

    /// The node id and entry of `path` for an entry reply (which the kernel counts as a
    /// lookup of that id).
    fn lookup_path(&self, path: &str) -> Result<(INodeNo, Node), Errno> {
        let info = self.memdb.lookup(path).ok_or(Errno::ENOENT)?;
        let ino = match info.kind {
            Kind::Dir if !path.is_empty() => self.dirs.acquire(path),
            _ => memdb_ino(info.inode),
        };
        Ok((ino, Node::Memdb(path.to_string(), info)))
    }

    fn reply_entry(&self, path: &str, reply: ReplyEntry) {
        match self.lookup_path(path) {
            Ok((ino, node)) => reply.entry_with_ttls(
                &Self::cache_ttl(&node),
                &Self::cache_ttl(&node),
                &self.attr(ino, &node),
                Generation(0),
            ),
            Err(e) => reply.error(e),
        }
    }

    fn set_attributes(
        &self,
        node: &Node,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        mtime: Option<TimeOrNow>,
    ) -> Result<(), Errno> {
        let Node::Memdb(path, info) = node else {
            return match (node, size) {
                // Truncating `.debug` succeeds (shell redirections truncate first).
                (Node::Synthetic(Synthetic::Debug), Some(_)) => Ok(()),
                _ => Err(Errno::EACCES),
            };
        };
        if let Some(mode) = mode {
            if !namespace::chmod_allowed(path, mode) {
                return Err(Errno::EPERM);
            }
        }
        if (uid.is_some() || gid.is_some()) && !namespace::chown_allowed(uid, gid, self.gid) {
            return Err(Errno::EPERM);
        }
        if let Some(size) = size {
            let op = Op::Write {
                path: path.clone(),
                offset: size,
                data: Vec::new(),
                truncate: true,
            };
            self.apply(op, path)?;
        }
        if let Some(mtime) = mtime {
            let mtime = seconds(mtime);
            if mtime == 0 && info.kind == Kind::Dir {
                // utime(0, 0) on a lock directory asks to remove it if it expired.
                self.quorate_or_eacces()?;
                match &self.cluster {
                    // The lowest node decides; the MTIME below then fails as in the original.
                    Some(cluster) => cluster.request_unlock(path),
                    None => {
                        let removed = self
                            .memdb
                            .unlock_expired_local(path, memdb::unix_now(), Instant::now())
                            .map_err(errno)?;
                        if removed {
                            return Ok(());
                        }
                    }
                }
            }
            let op = Op::Mtime {
                path: path.clone(),
                mtime,
            };
            self.apply(op, path)?;
        }
        Ok(())
    }
}

impl Filesystem for PveFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // `open(O_TRUNC)` arrives as one OPEN instead of OPEN and SETATTR (a kernel without
        // it sends the SETATTR, which works as well).
        let _ = config.add_capabilities(InitFlags::FUSE_ATOMIC_O_TRUNC);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        if parent == INodeNo::ROOT {
            if let Some((index, entry)) = name.to_str().and_then(namespace::synthetic) {
                let ino = INodeNo(SYNTHETIC_BASE + index as u64);
                let node = Node::Synthetic(entry);
                return reply.entry(&Duration::ZERO, &self.attr(ino, &node), Generation(0));
            }
        }
        match self.dir_path(parent) {
            Ok(dir) => match name.to_str() {
                Some(name) => self.reply_entry(&namespace::join(&dir, name), reply),
                None => reply.error(Errno::ENOENT),
            },
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        // The kernel asks right after create, before the first write: waiting here for the
        // create's delivery would put its round trip back in front of the write.
        if let Some(path) = self.pipeline.fresh_path(ino) {
            return reply.attr(&TTL, &self.provisional_attr(ino, &path));
        }
        match self.node(ino) {
            Some(node) => reply.attr(
                &Self::cache_ttl(&node),
                &self.attr(shown_ino(ino, &node), &node),
            ),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let Some(node) = self.node(ino) else {
            return reply.error(Errno::ENOENT);
        };
        if let Err(e) = self.set_attributes(&node, mode, uid, gid, size, mtime) {
            return reply.error(e);
        }
        match self.node(ino) {
            Some(node) => reply.attr(
                &Self::cache_ttl(&node),
                &self.attr(shown_ino(ino, &node), &node),
            ),
            // A lock directory removed by utime(0, 0).
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.node(ino) {
            Some(Node::Synthetic(entry @ Synthetic::Link(..))) => {
                reply.data(&self.synthetic_content(entry))
            }
            _ => reply.error(Errno::EINVAL),
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
        let result = self.child_path(parent, name).and_then(|path| {
            self.apply(Op::Mkdir { path: path.clone() }, &path)
                .map(|_| path)
        });
        match result {
            Ok(path) => self.reply_entry(&path, reply),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self
            .child_path(parent, name)
            .and_then(|path| self.apply(Op::Delete { path: path.clone() }, &path))
        {
            Ok(_) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.unlink(req, parent, name, reply)
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if !flags.is_empty() {
            return reply.error(Errno::EINVAL);
        }
        let result = self.child_path(parent, name).and_then(|from| {
            let to = self.child_path(newparent, newname)?;
            let op = Op::Rename {
                from: from.clone(),
                to: to.clone(),
            };
            self.apply(op, &to)?;
            self.dirs.renamed(&from, &to);
            Ok(())
        });
        match result {
            Ok(_) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match self.node(ino) {
            Some(Node::Memdb(_, info)) if info.kind == Kind::Dir && info.inode == 0 => {
                reply.error(Errno::EACCES)
            }
            Some(node) if flags.0 & libc::O_TRUNC != 0 => match self.open_truncating(&node) {
                Ok(fh) => reply.opened(fh, FopenFlags::FOPEN_DIRECT_IO),
                Err(e) => reply.error(e),
            },
            Some(_) => reply.opened(FileHandle(0), FopenFlags::FOPEN_DIRECT_IO),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyData,
    ) {
        match self.node(ino) {
            Some(Node::Memdb(path, _)) => match self.memdb.read(&path, offset, size as usize) {
                Ok(data) => reply.data(&data),
                Err(e) => reply.error(errno(e)),
            },
            Some(Node::Synthetic(entry)) => {
                let content = self.synthetic_content(entry);
                let start = (offset as usize).min(content.len());
                let end = start.saturating_add(size as usize).min(content.len());
                reply.data(&content[start..end])
            }
            None => reply.error(Errno::ENOENT),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyWrite,
    ) {
        if let Some(written) = self.first_write(ino, offset, data) {
            // Delivered behind the create, so the create's result is known now.
            return match (self.settle(ino), written) {
                (Some(Err(e)), _) | (_, Err(e)) => reply.error(e),
                (_, Ok(n)) => reply.written(n as u32),
            };
        }
        if let Some(written) = self.truncating_write(fh, offset, data) {
            return match written {
                Ok(n) => reply.written(n as u32),
                Err(e) => reply.error(e),
            };
        }
        let result = match self.node(ino) {
            Some(Node::Memdb(path, _)) => {
                let op = Op::Write {
                    path: path.clone(),
                    offset,
                    data: data.to_vec(),
                    truncate: false,
                };
                self.apply(op, &path)
            }
            Some(Node::Synthetic(Synthetic::Debug)) => {
                match crate::vfiles::parse_debug_write(offset, data) {
                    Some(on) => {
                        self.status.set_debug(on);
                        Ok(data.len() as u64)
                    }
                    None => Err(Errno::EIO),
                }
            }
            Some(Node::Synthetic(_)) => Err(Errno::EACCES),
            None => Err(Errno::ENOENT),
        };
        match result {
            Ok(n) => reply.written(n as u32),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let (dir, dir_ino) = match self.dir(ino) {
            Ok((path, info)) => (path, memdb_ino(info.inode)),
            Err(e) => return reply.error(e),
        };
        let children = match self.memdb.readdir(&dir) {
            Ok(children) => children,
            Err(e) => return reply.error(errno(e)),
        };
        let mut entries: Vec<(INodeNo, FileType, String)> = vec![
            (dir_ino, FileType::Directory, ".".into()),
            (dir_ino, FileType::Directory, "..".into()),
        ];
        if dir.is_empty() {
            for (i, (name, entry)) in SYNTHETIC.iter().enumerate() {
                let kind = match entry {
                    Synthetic::Link(..) => FileType::Symlink,
                    _ => FileType::RegularFile,
                };
                entries.push((INodeNo(SYNTHETIC_BASE + i as u64), kind, name.to_string()));
            }
        }
        for (name, info) in children {
            if dir.is_empty() && namespace::synthetic(&name).is_some() {
                continue;
            }
            let kind = match info.kind {
                Kind::Dir => FileType::Directory,
                Kind::File => FileType::RegularFile,
            };
            entries.push((memdb_ino(info.inode), kind, name));
        }
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(ino, (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok()
    }

    fn symlink(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _link_name: &OsStr,
        _target: &std::path::Path,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::ENOSYS)
    }

    fn link(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _newparent: INodeNo,
        _newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::ENOSYS)
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let s = self.memdb.statfs();
        reply.statfs(
            s.blocks,
            s.bfree,
            s.bavail,
            s.files,
            s.ffree,
            s.bsize as u32,
            256,
            s.bsize as u32,
        )
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let path = match self.child_path(parent, name) {
            Ok(path) => path,
            Err(e) => return reply.error(e),
        };
        match self.pipelined_create(&path, flags) {
            Some(Ok(ino)) => {
                // Uncached: the provisional node id is not the inode number `stat` shows once
                // the create landed, and `fstat` must show that one.
                return reply.created(
                    &TTL,
                    &self.provisional_attr(ino, &path),
                    Generation(0),
                    FileHandle(0),
                    FopenFlags::FOPEN_DIRECT_IO,
                );
            }
            Some(Err(e)) => return reply.error(e),
            None => {}
        }
        let result = self
            .apply(Op::Create { path: path.clone() }, &path)
            .and_then(|_| self.lookup_path(&path));
        match result {
            Ok((ino, node)) => reply.created(
                &CREATE_TTL,
                &self.attr(ino, &node),
                Generation(0),
                FileHandle(0),
                FopenFlags::FOPEN_DIRECT_IO,
            ),
            Err(e) => reply.error(e),
        }
    }

    /// close(): sends a truncation no write carried, and reports it or a pipelined create
    /// that failed (nothing else is buffered here).
    fn flush(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _lock_owner: fuser::LockOwner,
        reply: ReplyEmpty,
    ) {
        match (self.settle_truncation(fh), self.settle(ino)) {
            (Some(Err(e)), _) | (_, Some(Err(e))) => reply.error(e),
            _ => reply.ok(),
        }
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let _ = self.settle_truncation(fh);
        let _ = self.settle(ino);
        reply.ok()
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.dirs.forget(ino, nlookup);
        if let Some(cluster) = &self.cluster {
            self.pipeline.forget(ino, &**cluster);
        }
    }
}
