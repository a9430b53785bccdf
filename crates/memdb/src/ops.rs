//! Modifying operations (§2.5) with the original semantics and errno values.
//!
//! Checks that go beyond the original (all on untrusted input, applied in the same way on
//! every node so replicas stay identical):
//! * every path is validated first ([`path::validate`]): over 4096 bytes or a component
//!   over 255 bytes → `ENAMETOOLONG`, an embedded NUL → `EACCES`;
//! * `rename` onto itself succeeds without changing anything (the original corrupts its
//!   state there); `rename` of a directory into itself → `EINVAL`; `rename` onto the root
//!   → `EACCES`; the target name of a rename must be a valid name (`EACCES`);
//! * `rename` checks that the source can be unlinked *before* it unlinks an existing
//!   target, so the original's "target lost in RAM" quirk cannot happen.

use crate::path::{
    self, check_name, components, guest_config_comps, is_lock_path, split_parent, GuestConfig,
};
use crate::tree::{Entry, Node, RowChange, Tree, MAX_FILE_SIZE};
use crate::Errno;

/// A modifying operation, exactly as carried by a DFSM NORMAL message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Create an empty file (`EEXIST` if it exists).
    Create {
        /// File path.
        path: String,
    },
    /// Write `data` at `offset`; with `truncate` the file ends after the written bytes
    /// (`truncate(path, len)` = empty data, `offset = len`, `truncate = true`).
    Write {
        /// File path.
        path: String,
        /// Write offset or new length.
        offset: u64,
        /// Bytes to write.
        data: Vec<u8>,
        /// Cut the file at `offset + data.len()`.
        truncate: bool,
    },
    /// Create a directory.
    Mkdir {
        /// Directory path.
        path: String,
    },
    /// Remove a file or an empty directory (unlink and rmdir alike).
    Delete {
        /// Path to remove.
        path: String,
    },
    /// Move an entry, replacing an existing target.
    Rename {
        /// Source path.
        from: String,
        /// Target path.
        to: String,
    },
    /// Set the mtime (lock directories: refresh with rules).
    Mtime {
        /// Path.
        path: String,
        /// New mtime (Unix seconds).
        mtime: u32,
    },
}

/// Outcome of a successful operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Result value: bytes written for `Write`, else 0.
    pub result: u64,
    /// Rows to persist, in one transaction, in this order.
    pub changes: Vec<RowChange>,
}

struct Target {
    parent: u64,
    name: String,
    existing: Option<u64>,
}

impl Tree {
    /// Applies `op` as node `writer` at time `mtime`. On error nothing changed.
    pub fn apply(&mut self, op: &Op, writer: u32, mtime: u32) -> Result<Applied, Errno> {
        if self.errors {
            return Err(Errno::Eio);
        }
        match op {
            Op::Create { path } => self.write(path, 0, &[], false, true, writer, mtime),
            Op::Write {
                path,
                offset,
                data,
                truncate,
            } => self.write(path, *offset, data, *truncate, false, writer, mtime),
            Op::Mkdir { path } => self.mkdir(path, writer, mtime),
            Op::Delete { path } => self.delete(path, writer, mtime),
            Op::Rename { from, to } => self.rename(from, to, writer, mtime),
            Op::Mtime { path, mtime: m } => self.set_mtime(path, *m, writer),
        }
    }

    /// Parent lookup of a path: `ENOENT`/`ENOTDIR`, then the name check (`EACCES`).
    fn target(&self, path: &str) -> Result<Target, Errno> {
        path::validate(path)?;
        let (parent_comps, name) = split_parent(path);
        let parent = self.lookup_comps(&parent_comps).ok_or(Errno::Enoent)?;
        let children = self.entries[&parent].children().ok_or(Errno::Enotdir)?;
        check_name(name)?;
        Ok(Target {
            parent,
            name: name.to_string(),
            existing: children.get(name).copied(),
        })
    }

    fn bump(&mut self, writer: u32, mtime: u32) -> u64 {
        let root = self.root_mut();
        root.version += 1;
        root.writer = writer;
        root.mtime = mtime;
        root.version
    }

    fn children_mut(&mut self, dir: u64) -> &mut std::collections::BTreeMap<String, u64> {
        match &mut self.entries.get_mut(&dir).expect("parent exists").node {
            Node::Dir(c) => c,
            Node::File(_) => unreachable!("parent checked to be a directory"),
        }
    }

    /// Row changes of an operation: optional delete, optional replace, version row.
    fn changed(&self, replace: Option<u64>, delete: Option<u64>) -> Vec<RowChange> {
        let root = self.root();
        let mut out: Vec<RowChange> = delete.into_iter().map(RowChange::Delete).collect();
        out.extend(replace.and_then(|i| self.row(i)).map(RowChange::Replace));
        out.push(RowChange::Version {
            version: root.version,
            writer: root.writer,
            mtime: root.mtime,
        });
        out
    }

    /// Whether `Op::Create { path }` would succeed on the tree as it is (nothing changes).
    pub fn check_create(&self, path: &str) -> Result<(), Errno> {
        self.write_target(path, true).map(|_| ())
    }

    /// The checks of a write or create before anything changes.
    fn write_target(
        &self,
        path: &str,
        create: bool,
    ) -> Result<(Target, Option<GuestConfig>), Errno> {
        let t = self.target(path)?;
        let guest = guest_config_comps(&components(path));
        if guest.as_ref().is_some_and(|g| self.vmlist.conflicts(g)) {
            return Err(Errno::Eexist);
        }
        match t.existing.map(|i| &self.entries[&i].node) {
            Some(Node::Dir(_)) => return Err(Errno::Enotdir),
            Some(Node::File(_)) if create => return Err(Errno::Eexist),
            None if !create => return Err(Errno::Enoent),
            _ => {}
        }
        Ok((t, guest))
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        path: &str,
        offset: u64,
        data: &[u8],
        truncate: bool,
        create: bool,
        writer: u32,
        mtime: u32,
    ) -> Result<Applied, Errno> {
        let count = data.len() as u64;
        let newsize = offset.checked_add(count).ok_or(Errno::Efbig)?;
        if newsize > MAX_FILE_SIZE {
            return Err(Errno::Efbig);
        }
        let (t, guest) = self.write_target(path, create)?;
        let version = self.bump(writer, mtime);
        let inode = match t.existing {
            Some(i) => i,
            None => {
                let node = Node::File(Vec::new());
                let entry = Entry::new(t.parent, t.name.clone(), node, version, writer, mtime);
                self.entries.insert(version, entry);
                self.children_mut(t.parent).insert(t.name, version);
                version
            }
        };
        let entry = self.entries.get_mut(&inode).expect("entry exists");
        if let Node::File(content) = &mut entry.node {
            let (start, end) = (offset as usize, newsize as usize);
            if end > content.len() || truncate {
                content.resize(end, 0);
            }
            content[start..end].copy_from_slice(data);
        }
        entry.stamp(version, writer, mtime);
        if let Some(g) = guest {
            self.vmlist.register(&g);
        }
        Ok(Applied {
            result: count,
            changes: self.changed(Some(inode), None),
        })
    }

    fn mkdir(&mut self, path: &str, writer: u32, mtime: u32) -> Result<Applied, Errno> {
        let t = self.target(path)?;
        if t.existing.is_some() {
            return Err(Errno::Eexist);
        }
        let version = self.bump(writer, mtime);
        let node = Node::Dir(Default::default());
        let entry = Entry::new(t.parent, t.name.clone(), node, version, writer, mtime);
        self.entries.insert(version, entry);
        self.children_mut(t.parent).insert(t.name, version);
        Ok(Applied {
            result: 0,
            changes: self.changed(Some(version), None),
        })
    }

    /// Removes an entry from its parent and the inode map (caller checked emptiness).
    fn unlink(&mut self, inode: u64) -> Entry {
        let entry = self.entries.remove(&inode).expect("entry exists");
        self.children_mut(entry.parent).remove(&entry.name);
        entry
    }

    fn is_nonempty_dir(&self, inode: u64) -> bool {
        self.entries[&inode]
            .children()
            .is_some_and(|c| !c.is_empty())
    }

    fn delete(&mut self, path: &str, writer: u32, mtime: u32) -> Result<Applied, Errno> {
        path::validate(path)?;
        let comps = components(path);
        let inode = self.lookup_comps(&comps).ok_or(Errno::Enoent)?;
        if inode == 0 {
            return Err(Errno::Eacces);
        }
        if self.is_nonempty_dir(inode) {
            return Err(Errno::Enotempty);
        }
        let entry = self.unlink(inode);
        self.bump(writer, mtime);
        if let (Node::File(_), Some(g)) = (&entry.node, guest_config_comps(&comps)) {
            self.vmlist.remove(g.vmid);
        }
        Ok(Applied {
            result: 0,
            changes: self.changed(None, Some(inode)),
        })
    }

    fn rename(&mut self, from: &str, to: &str, writer: u32, mtime: u32) -> Result<Applied, Errno> {
        path::validate(from)?;
        path::validate(to)?;
        let from_comps = components(from);
        let inode = self.lookup_comps(&from_comps).ok_or(Errno::Enoent)?;
        if inode == 0 {
            return Err(Errno::Eacces);
        }
        let is_file = self.entries[&inode].children().is_none();
        let to_comps = components(to);
        let from_guest = guest_config_comps(&from_comps);
        let to_guest = guest_config_comps(&to_comps).filter(|_| is_file);
        if let Some(g) = &to_guest {
            let migration = from_guest.as_ref().is_some_and(|f| f.vmid == g.vmid);
            if self.vmlist.conflicts(g) && !migration {
                return Err(Errno::Eexist);
            }
        }
        if !is_file && is_lock_path(&from_comps) {
            return Err(Errno::Eacces);
        }
        let t = match self.lookup_comps(&to_comps) {
            Some(0) => return Err(Errno::Eacces),
            Some(existing) => {
                if self.is_nonempty_dir(existing) {
                    return Err(Errno::Enotempty);
                }
                let e = &self.entries[&existing];
                Target {
                    parent: e.parent,
                    name: e.name.clone(),
                    existing: Some(existing),
                }
            }
            None => self.target(to)?,
        };
        if t.existing == Some(inode) {
            return Ok(Applied {
                result: 0,
                changes: Vec::new(),
            });
        }
        if self.is_nonempty_dir(inode) {
            return Err(Errno::Enotempty);
        }
        if t.parent == inode {
            return Err(Errno::Einval);
        }
        if let Some(old) = t.existing {
            self.unlink(old);
        }
        let mut entry = self.unlink(inode);
        let version = self.bump(writer, mtime);
        entry.parent = t.parent;
        entry.name = t.name.clone();
        entry.stamp(version, writer, mtime);
        self.entries.insert(inode, entry);
        self.children_mut(t.parent).insert(t.name, inode);
        if let (true, Some(g)) = (is_file, &from_guest) {
            self.vmlist.remove(g.vmid);
        }
        if let Some(g) = &to_guest {
            self.vmlist.register(g);
        }
        Ok(Applied {
            result: 0,
            changes: self.changed(Some(inode), t.existing),
        })
    }

    fn set_mtime(&mut self, path: &str, mtime: u32, writer: u32) -> Result<Applied, Errno> {
        let t = self.target(path)?;
        let inode = t.existing.ok_or(Errno::Enoent)?;
        let entry = &self.entries[&inode];
        let is_lock_dir = entry.children().is_some() && is_lock_path(&components(path));
        if is_lock_dir && (mtime < entry.mtime || writer != entry.writer) {
            return Err(Errno::Eacces);
        }
        let version = self.bump(writer, mtime);
        let entry = self.entries.get_mut(&inode).expect("entry exists");
        entry.stamp(version, writer, mtime);
        Ok(Applied {
            result: 0,
            changes: self.changed(Some(inode), None),
        })
    }
}
