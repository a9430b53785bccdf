//! What the kernel is shown of an entry: its attributes and how long it may cache them, the
//! inode number `stat` reports, and the content of the synthetic files.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{FileAttr, FileType, INodeNo};
use memdb::Kind;

use super::{Node, PveFs};
use crate::namespace::{self, StatusFile, Synthetic};

/// How long the kernel may cache file names and attributes: not at all. File node ids are
/// memdb inodes, and other nodes change the tree behind the kernel's back (a replicated rename
/// gives a name another inode), so a cached file name could lead to the wrong file; asking
/// every time also keeps `stat` sizes fresh on every node.
pub(super) const TTL: Duration = Duration::ZERO;
/// How long the kernel may cache a directory's name and attributes: as long as the original
/// does (libfuse's default). Directory node ids stand for paths ([`super::dirs`]), so a cached
/// name leads to whatever directory is at that path now, as in the original. Without this
/// the kernel asks for every directory of a path on every open (3 of the 9 requests of a
/// small-file create in `/etc/pve/nodes/NAME/qemu-server`), and with `default_permissions`
/// it checks each one. What may lag by up to a second, as in the original: a directory
/// another node removed still resolves (its operations then fail with ENOENT), a `mkdir` of a
/// name the kernel still caches fails with EEXIST, and a directory's mode after a quorum
/// change (writes are refused by the daemon all the same).
const DIR_TTL: Duration = Duration::from_secs(1);
/// How long the kernel may cache a file it just created the blocking way (pipelined creates
/// answer with a provisional node id, whose attributes must not be cached): long enough for the permission check
/// of the open that created it (otherwise one more request per create), far too short for
/// another node's change of the same name to matter (the kernel rounds it up to one or two
/// clock ticks, 4–8 ms).
pub(super) const CREATE_TTL: Duration = Duration::from_millis(1);

fn time_of(secs: u32) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::from(secs))
}

impl PveFs {
    pub(super) fn synthetic_content(&self, entry: Synthetic) -> Vec<u8> {
        match entry {
            Synthetic::Link(_, suffix) => {
                namespace::link_target(&self.status.nodename, suffix).into_bytes()
            }
            Synthetic::Debug => crate::vfiles::debug(self.status.debug())
                .as_bytes()
                .to_vec(),
            Synthetic::Status(file) => match file {
                StatusFile::Members => match &self.cluster {
                    Some(cluster) => cluster.members_text(),
                    None => self.status.members_text(),
                },
                StatusFile::Version => {
                    let vmlist = self.memdb.with_tree(|t| t.vmlist().version());
                    let block = self.cluster.as_ref().map(|c| c.version_block());
                    self.status.version_text(vmlist, block)
                }
                StatusFile::Vmlist => self.memdb.vmlist_text(),
                StatusFile::Clusterlog => match &self.cluster {
                    Some(cluster) => cluster.clusterlog_text(),
                    None => self.status.clusterlog_text(),
                },
                // Nothing feeds RRD samples in local mode.
                StatusFile::Rrd => self
                    .cluster
                    .as_ref()
                    .map(|c| c.rrd_text())
                    .unwrap_or_default(),
            }
            .into_bytes(),
        }
    }

    pub(super) fn attr(&self, ino: INodeNo, node: &Node) -> FileAttr {
        let quorate = self.status.is_quorate();
        let (kind, perm, size, mtime) = match node {
            Node::Memdb(path, info) => match info.kind {
                Kind::Dir if info.inode == 0 => (FileType::Directory, 0o755, 0, info.mtime),
                Kind::Dir => (
                    FileType::Directory,
                    namespace::dir_mode(path, quorate),
                    0,
                    info.mtime,
                ),
                Kind::File => (
                    FileType::RegularFile,
                    namespace::file_mode(path, quorate),
                    u64::from(info.size),
                    info.mtime,
                ),
            },
            Node::Synthetic(entry) => {
                let size = self.synthetic_content(*entry).len() as u64;
                let mtime = self.memdb.with_tree(|t| t.root_info().mtime);
                match entry {
                    Synthetic::Link(..) => (
                        FileType::Symlink,
                        namespace::link_mode(quorate),
                        size,
                        mtime,
                    ),
                    _ => (
                        FileType::RegularFile,
                        namespace::virtual_mode(*entry),
                        size,
                        mtime,
                    ),
                }
            }
        };
        let t = time_of(mtime);
        FileAttr {
            ino,
            size,
            blocks: size.div_ceil(4096),
            atime: t,
            mtime: t,
            ctime: t,
            crtime: t,
            kind,
            perm,
            nlink: if kind == FileType::Directory { 2 } else { 1 },
            uid: 0,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    /// How long the kernel may cache `node`'s name and attributes.
    pub(super) fn cache_ttl(node: &Node) -> Duration {
        match node {
            Node::Memdb(_, info) if info.kind == Kind::Dir => DIR_TTL,
            Node::Memdb(..) => TTL,
            // Virtual content is regenerated for every request, so never cached.
            Node::Synthetic(_) => Duration::ZERO,
        }
    }
}

/// The inode number `stat` shows for `node` asked for as `ino`: always the memdb inode's
/// FUSE number, so a file opened through a pipelined create's provisional inode shows the
/// same number in `fstat` as its path does in `stat`.
pub(super) fn shown_ino(ino: INodeNo, node: &Node) -> INodeNo {
    match node {
        Node::Memdb(_, info) => INodeNo(info.inode + 1),
        Node::Synthetic(_) => ino,
    }
}
