//! Creates answered before their DFSM message is delivered ("pipelined creates").
//!
//! The original blocks `create` until its CREATE message comes back in agreed order and then
//! blocks the first `write` again, so a small new file costs two round trips. Here `create`
//! multicasts CREATE and answers the kernel at once with a *provisional* FUSE inode bound to
//! the path; the first `write` goes out right behind it (CPG keeps a sender's order) and
//! waits for its own delivery, by which time the CREATE is delivered too and its result is
//! known. A failed create is reported by that write or by `flush` (close).
//!
//! Only creates the local tree says will succeed are pipelined, so a create fails late only
//! when another node changed the same place concurrently; every node still applies the same
//! messages in the same order and ends with the same tree. A create that lost the race to
//! another node's create of the same file (EEXIST) counts as opening that file, as POSIX
//! `open(O_CREAT)` without `O_EXCL` does (`O_EXCL` creates are never pipelined): the writer's
//! data lands in it, and for an `O_TRUNC` open the first write (offset 0) truncates, so the
//! file holds exactly the writer's data, as if it had existed at open time. (The original
//! fails such an open with EEXIST.) Readers on this node wait for
//! pipelined creates first ([`Pipeline::barrier`]), so a file is visible once `open`
//! returned, as in the original.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use fuser::{Errno, INodeNo};

/// First provisional FUSE inode (between memdb inodes and the synthetic entries).
pub const PROVISIONAL_BASE: u64 = 1 << 61;

/// Results of messages sent without waiting (the cluster service; a loopback in tests).
pub trait SentResults {
    /// Waits until message `count` was applied here; its result (bytes or errno), left for
    /// other waiters; `None` once discarded.
    fn wait_sent(&self, count: u64) -> Option<Result<u64, i32>>;
    /// Forgets the result of message `count`.
    fn discard_sent(&self, count: u64);
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// CREATE sent as message `count`; no result taken yet.
    Sent(u64),
    /// The create's outcome: the memdb inode it made, or why it failed.
    Settled(Result<u64, Errno>),
}

struct Entry {
    path: String,
    state: State,
    /// The open had O_TRUNC and no write went out yet.
    truncate_first_write: bool,
    /// A write went out behind the create.
    written: bool,
}

/// The provisional inodes handed to the kernel and their creates.
#[derive(Default)]
pub struct Pipeline {
    entries: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
    /// Counter of the newest pipelined CREATE (0: none yet).
    newest: AtomicU64,
}

impl Pipeline {
    pub fn is_provisional(ino: INodeNo) -> bool {
        (PROVISIONAL_BASE..PROVISIONAL_BASE << 1).contains(&ino.0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the CREATE of `path` sent as message `count` by an open with `truncate`
    /// (O_TRUNC); returns its provisional inode.
    pub fn insert(&self, path: String, count: u64, truncate: bool) -> INodeNo {
        let ino = PROVISIONAL_BASE + self.next.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            path,
            state: State::Sent(count),
            truncate_first_write: truncate,
            written: false,
        };
        self.lock().insert(ino, entry);
        self.newest.fetch_max(count, Ordering::SeqCst);
        INodeNo(ino)
    }

    /// The path of a provisional inode whose create has no result yet and no write behind
    /// it: its attributes are still those `create` answered, so nothing needs to wait.
    pub fn fresh_path(&self, ino: INodeNo) -> Option<String> {
        match self.lock().get(&ino.0)? {
            Entry {
                path,
                state: State::Sent(_),
                written: false,
                ..
            } => Some(path.clone()),
            _ => None,
        }
    }

    /// The first write to a provisional inode whose create has no result yet: calls
    /// `send(path, truncate)` (under the lock, so no other write to the file can overtake
    /// it) and returns what it returned. `None`: not such an inode (write the usual way).
    pub fn send_first_write<T>(
        &self,
        ino: INodeNo,
        offset: u64,
        send: impl FnOnce(&str, bool) -> T,
    ) -> Option<T> {
        let mut entries = self.lock();
        let entry = entries.get_mut(&ino.0)?;
        if !matches!(entry.state, State::Sent(_)) || entry.written {
            return None;
        }
        entry.written = true;
        Some(send(&entry.path, entry.truncate_first_write && offset == 0))
    }

    /// Waits for the create behind a provisional inode: the memdb inode of its file (looked
    /// up by path with `resolve` once delivered, also when another create of the same name
    /// came first), or its error. `None` for an unknown inode.
    pub fn settle(
        &self,
        ino: INodeNo,
        results: &impl SentResults,
        resolve: impl FnOnce(&str) -> Result<u64, Errno>,
    ) -> Option<Result<u64, Errno>> {
        let count = match self.lock().get(&ino.0)?.state {
            State::Settled(result) => return Some(result),
            State::Sent(count) => count,
        };
        let outcome = results.wait_sent(count);
        let mut entries = self.lock();
        let entry = entries.get_mut(&ino.0)?;
        if let State::Sent(count) = entry.state {
            let result = match outcome {
                Some(Ok(_)) => resolve(&entry.path),
                Some(Err(libc::EEXIST)) => resolve(&entry.path),
                Some(Err(e)) => Err(Errno::from_i32(e)),
                // Only `settle` and `forget` remove the slot, both under this lock.
                None => Err(Errno::EBUSY),
            };
            entry.state = State::Settled(result);
            results.discard_sent(count);
            // The kernel may keep the inode until memory pressure; keep the entry small.
            entry.path = String::new();
        }
        match entry.state {
            State::Settled(result) => Some(result),
            State::Sent(_) => unreachable!("settled above"),
        }
    }

    /// Waits until every pipelined create sent so far was delivered (they are delivered in
    /// send order, so waiting for the newest suffices).
    pub fn barrier(&self, results: &impl SentResults) {
        let newest = self.newest.load(Ordering::SeqCst);
        if newest != 0 {
            let _ = results.wait_sent(newest);
        }
    }

    /// The kernel dropped a provisional inode.
    pub fn forget(&self, ino: INodeNo, results: &impl SentResults) {
        if let Some(Entry {
            state: State::Sent(count),
            ..
        }) = self.lock().remove(&ino.0)
        {
            results.discard_sent(count);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    use dfsm::dcdb::op_to_message;
    use dfsm::{Dcdb, Dfsm, Driver, MemberId, Transport, TransportError};
    use memdb::{Memdb, Op, Tree};

    use super::*;

    /// A one-member "CPG": multicasts queue up until the test delivers them, in order.
    struct Loop(Mutex<mpsc::Sender<Vec<u8>>>);

    impl Transport for Loop {
        fn mcast(&self, bytes: &[u8]) -> Result<(), TransportError> {
            let tx = self.0.lock().unwrap();
            tx.send(bytes.to_vec())
                .map_err(|e| TransportError::Failed(e.to_string()))
        }
    }

    struct Node {
        driver: Driver<Dcdb, Loop>,
        memdb: Arc<Memdb>,
        wire: mpsc::Receiver<Vec<u8>>,
    }

    const ME: MemberId = MemberId { nodeid: 1, pid: 10 };

    impl SentResults for Node {
        fn wait_sent(&self, count: u64) -> Option<Result<u64, i32>> {
            let outcome = self
                .driver
                .waiters()
                .wait_filled(count, Duration::from_secs(10))?;
            Some(match outcome {
                Ok(r) if r >= 0 => Ok(r as u64),
                Ok(r) => Err(-r),
                Err(_) => Err(libc::EBUSY),
            })
        }

        fn discard_sent(&self, count: u64) {
            self.driver.waiters().discard(count)
        }
    }

    impl Node {
        fn new() -> Node {
            let memdb = Arc::new(Memdb::from_tree(Tree::new(1)));
            let dcdb = Dcdb::new(memdb.clone());
            dcdb.set_quorate(true);
            let (tx, wire) = mpsc::channel();
            let driver = Driver::new(Dfsm::new(dcdb, ME), Loop(Mutex::new(tx)));
            driver.confchg(&[ME], &[], &[ME], 5);
            Node {
                driver,
                memdb,
                wire,
            }
        }

        fn send(&self, op: Op) -> u64 {
            let (subtype, payload) = op_to_message(&op);
            self.driver.send(subtype.code(), &payload, 7).unwrap()
        }

        /// Delivers everything multicast so far, in order.
        fn deliver_all(&self) {
            while let Ok(bytes) = self.wire.try_recv() {
                self.driver.deliver(ME, &bytes, 7);
            }
        }

        fn inode_of(&self, path: &str) -> Result<u64, Errno> {
            self.memdb
                .lookup(path)
                .map(|i| i.inode)
                .ok_or(Errno::ENOENT)
        }
    }

    fn write(path: &str, data: &[u8], truncate: bool) -> Op {
        Op::Write {
            path: path.into(),
            offset: 0,
            data: data.to_vec(),
            truncate,
        }
    }

    #[test]
    fn a_delivered_create_settles_to_its_memdb_inode() {
        let node = Node::new();
        let pipeline = Pipeline::default();
        let ino = pipeline.insert("f".into(), node.send(Op::Create { path: "f".into() }), true);
        assert!(Pipeline::is_provisional(ino));
        assert_eq!(pipeline.fresh_path(ino).as_deref(), Some("f"));
        let first = pipeline.send_first_write(ino, 0, |path, truncate| {
            assert!(truncate);
            node.send(write(path, b"data", truncate))
        });
        assert!(first.is_some());
        // Only the first write rides behind the create; after it, attributes must wait.
        assert_eq!(pipeline.fresh_path(ino), None);
        assert!(pipeline.send_first_write(ino, 4, |_, _| ()).is_none());
        node.deliver_all();
        pipeline.barrier(&node);
        let inode = node.inode_of("f").unwrap();
        assert_eq!(
            pipeline.settle(ino, &node, |p| node.inode_of(p)),
            Some(Ok(inode))
        );
        assert_eq!(node.memdb.read("f", 0, 100).unwrap(), b"data");
        // The slot is gone once settled; settling again answers from the table.
        assert_eq!(node.wait_sent(1), None);
        assert_eq!(
            pipeline.settle(ino, &node, |_| unreachable!()),
            Some(Ok(inode))
        );
        pipeline.forget(ino, &node);
        assert_eq!(pipeline.settle(ino, &node, |_| unreachable!()), None);
    }

    #[test]
    fn a_create_beaten_by_another_opens_that_file_and_other_failures_are_reported() {
        let node = Node::new();
        let pipeline = Pipeline::default();
        // Another writer's create of the same name is already on its way.
        let other = node.send(Op::Create { path: "f".into() });
        let other_write = node.send(write("f", b"a longer text from elsewhere", false));
        assert!(node.memdb.with_tree(|t| t.check_create("f")).is_ok());
        let ino = pipeline.insert("f".into(), node.send(Op::Create { path: "f".into() }), true);
        pipeline
            .send_first_write(ino, 0, |path, truncate| {
                node.send(write(path, b"mine", truncate))
            })
            .unwrap();
        node.deliver_all();
        for count in [other, other_write] {
            assert!(matches!(node.wait_sent(count), Some(Ok(_))));
        }
        // As if the file had existed at open(O_TRUNC): that file, with exactly our data.
        assert_eq!(
            pipeline.settle(ino, &node, |p| node.inode_of(p)),
            Some(Ok(node.inode_of("f").unwrap()))
        );
        assert_eq!(node.memdb.read("f", 0, 100).unwrap(), b"mine");

        // A create whose directory went away in between fails with ENOENT, so does its write.
        node.send(Op::Mkdir { path: "d".into() });
        node.deliver_all();
        node.send(Op::Delete { path: "d".into() });
        let ino = pipeline.insert(
            "d/g".into(),
            node.send(Op::Create { path: "d/g".into() }),
            false,
        );
        let write_count = pipeline
            .send_first_write(ino, 0, |path, truncate| {
                assert!(!truncate);
                node.send(write(path, b"x", truncate))
            })
            .unwrap();
        node.deliver_all();
        assert_eq!(node.wait_sent(write_count), Some(Err(libc::ENOENT)));
        assert_eq!(
            pipeline.settle(ino, &node, |p| node.inode_of(p)),
            Some(Err(Errno::ENOENT))
        );
        assert!(node.memdb.lookup("d").is_none());
    }

    #[test]
    fn a_connection_reset_aborts_a_pipelined_create() {
        let node = Node::new();
        let pipeline = Pipeline::default();
        let ino = pipeline.insert("f".into(), node.send(Op::Create { path: "f".into() }), true);
        node.driver.reset();
        pipeline.barrier(&node);
        assert_eq!(
            pipeline.settle(ino, &node, |p| node.inode_of(p)),
            Some(Err(Errno::EBUSY))
        );
    }
}
