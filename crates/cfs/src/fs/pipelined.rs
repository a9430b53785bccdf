//! The FUSE side of pipelined creates (see [`crate::pipeline`]): sending a create without
//! waiting, the first write right behind it, and settling a provisional inode; and of
//! truncating opens ([`super::truncates`]).

use fuser::{Errno, FileAttr, FileHandle, INodeNo};
use memdb::{EntryInfo, Kind, Op};

use super::{Node, PveFs};
use crate::cluster::ClusterService;
use crate::namespace::Synthetic;
use crate::pipeline::SentResults;

fn write_op(path: &str, offset: u64, data: &[u8], truncate: bool) -> Op {
    Op::Write {
        path: path.to_string(),
        offset,
        data: data.to_vec(),
        truncate,
    }
}

fn truncation(path: &str) -> Op {
    write_op(path, 0, &[], true)
}

impl PveFs {
    /// Waits for the create behind a provisional inode (`None`: not one of ours).
    pub(super) fn settle(&self, ino: INodeNo) -> Option<Result<u64, Errno>> {
        let cluster = self.cluster.as_ref()?;
        self.pipeline
            .settle(ino, &**cluster, |path| match self.memdb.lookup(path) {
                Some(info) if info.kind == Kind::File => Ok(info.inode),
                Some(_) => Err(Errno::EEXIST),
                None => Err(Errno::ENOENT),
            })
    }

    /// Lets this node's pipelined creates land before anything reads the tree.
    pub(super) fn pipeline_barrier(&self) {
        if let Some(cluster) = &self.cluster {
            self.pipeline.barrier(&**cluster);
        }
    }

    /// Sends a create without waiting for it when that is safe (see [`crate::pipeline`]):
    /// `Some` provisional inode (or the error of sending), `None` to create the blocking way.
    /// O_EXCL creates block: a late EEXIST must not let the following write clobber the file.
    pub(super) fn pipelined_create(
        &self,
        path: &str,
        flags: i32,
    ) -> Option<Result<INodeNo, Errno>> {
        let cluster = self.cluster.as_ref()?;
        if flags & libc::O_EXCL != 0 || self.memdb.with_tree(|t| t.check_create(path)).is_err() {
            return None;
        }
        let send = || {
            self.quorate_or_eacces()?;
            let op = Op::Create {
                path: path.to_string(),
            };
            let count = cluster.send(&op).map_err(Errno::from_i32)?;
            self.status.path_changed(path);
            let truncate = flags & libc::O_TRUNC != 0;
            Ok(self.pipeline.insert(path.to_string(), count, truncate))
        };
        Some(send())
    }

    /// The first write to a file whose pipelined create is still on its way: sent right
    /// behind it and waited for. `None`: write the usual way.
    pub(super) fn first_write(
        &self,
        ino: INodeNo,
        offset: u64,
        data: &[u8],
    ) -> Option<Result<u64, Errno>> {
        let cluster = self.cluster.as_ref()?;
        let sent = self
            .pipeline
            .send_first_write(ino, offset, |path, truncate| {
                self.send_op(cluster, &write_op(path, offset, data, truncate), path)
            })?;
        Some(sent.and_then(|(path, count)| self.sent_result(cluster, &path, count)))
    }

    /// Waits for message `count` (about `path`), sent without waiting; its result.
    fn sent_result(&self, cluster: &ClusterService, path: &str, count: u64) -> Result<u64, Errno> {
        let result = cluster.wait_sent(count).unwrap_or(Err(libc::EBUSY));
        cluster.discard_sent(count);
        self.status.path_changed(path);
        result.map_err(Errno::from_i32)
    }

    /// Sends `op` about `path` without waiting; the path and the message's counter.
    fn send_op(
        &self,
        cluster: &ClusterService,
        op: &Op,
        path: &str,
    ) -> Result<(String, u64), Errno> {
        self.quorate_or_eacces()?;
        let count = cluster.send(op).map_err(Errno::from_i32)?;
        Ok((path.to_string(), count))
    }

    /// `open(O_TRUNC)` of `node`: the file handle to answer with. In cluster mode a file's
    /// truncation is only recorded, for the handle's first write or close to carry; in local
    /// mode it is applied now.
    pub(super) fn open_truncating(&self, node: &Node) -> Result<FileHandle, Errno> {
        match node {
            // Shell redirections truncate before they write.
            Node::Synthetic(Synthetic::Debug) => Ok(FileHandle(0)),
            Node::Synthetic(_) => Err(Errno::EACCES),
            Node::Memdb(path, _) if self.cluster.is_some() => {
                self.quorate_or_eacces()?;
                Ok(self.truncates.insert(path.clone()))
            }
            Node::Memdb(path, _) => self.apply(truncation(path), path).map(|_| FileHandle(0)),
        }
    }

    /// A write through a handle whose truncation is still pending. At offset 0 the write
    /// carries the truncation (`Some` result); elsewhere the truncation goes first and is
    /// waited for, and `None` lets the write go the usual way (unless the truncation failed).
    pub(super) fn truncating_write(
        &self,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
    ) -> Option<Result<u64, Errno>> {
        let cluster = self.cluster.as_ref()?;
        let sent = self.truncates.take_and_send(fh, |path| {
            let op = match offset {
                0 => write_op(path, 0, data, true),
                _ => truncation(path),
            };
            self.send_op(cluster, &op, path)
        })?;
        let result = sent.and_then(|(path, count)| self.sent_result(cluster, &path, count));
        match (offset, result) {
            (0, result) => Some(result),
            (_, Err(e)) => Some(Err(e)),
            (_, Ok(_)) => None,
        }
    }

    /// close: `fh`'s truncation if no write carried it, sent and waited for.
    pub(super) fn settle_truncation(&self, fh: FileHandle) -> Option<Result<u64, Errno>> {
        let cluster = self.cluster.as_ref()?;
        let sent = self
            .truncates
            .take_and_send(fh, |path| self.send_op(cluster, &truncation(path), path))?;
        Some(sent.and_then(|(path, count)| self.sent_result(cluster, &path, count)))
    }

    /// Lets every pending truncation land before anything else touches the tree. Their
    /// owners are not told of a failure here; their next write or close meets its cause
    /// (no quorum, the file gone) itself.
    pub(super) fn truncation_barrier(&self) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let sent = self
            .truncates
            .send_all(|path| self.send_op(cluster, &truncation(path), path));
        for (path, count) in sent.into_iter().flatten() {
            let _ = self.sent_result(cluster, &path, count);
        }
    }

    /// Attributes of a file whose create is still on its way (empty, modified now).
    pub(super) fn provisional_attr(&self, ino: INodeNo, path: &str) -> FileAttr {
        let info = EntryInfo {
            inode: ino.0,
            parent: 0,
            version: 0,
            writer: 0,
            mtime: memdb::unix_now(),
            size: 0,
            kind: Kind::File,
        };
        self.attr(ino, &Node::Memdb(path.to_string(), info))
    }
}
