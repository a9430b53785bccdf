//! The FUSE side of pipelined creates (see [`crate::pipeline`]): sending a create without
//! waiting, the first write right behind it, and settling a provisional inode.

use fuser::{Errno, FileAttr, INodeNo};
use memdb::{EntryInfo, Kind, Op};

use super::{Node, PveFs};
use crate::pipeline::SentResults;

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
                self.quorate_or_eacces()?;
                let op = Op::Write {
                    path: path.to_string(),
                    offset,
                    data: data.to_vec(),
                    truncate,
                };
                let count = cluster.send(&op).map_err(Errno::from_i32)?;
                Ok((path.to_string(), count))
            })?;
        Some(sent.and_then(|(path, count)| {
            let result = cluster.wait_sent(count).unwrap_or(Err(libc::EBUSY));
            cluster.discard_sent(count);
            self.status.path_changed(&path);
            result.map_err(Errno::from_i32)
        }))
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
