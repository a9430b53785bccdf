//! A deterministic, seeded simulator of CPG semantics running `Dfsm<Dcdb>` nodes.
//!
//! Model:
//! * **Network**: every configured node (ids `1..=N`) carries a partition label; nodes with
//!   the same label can talk. Quorum is votequorum-like per partition: quorate iff more
//!   than `N/2` configured nodes share the label (a node whose daemon crashed still votes:
//!   its corosync runs). Every node's quorum input changes at the same instant as the
//!   partition, after the old views were flushed and before the new views' confchg.
//! * **CPG views**: the joined processes of one partition form one view with a totally
//!   ordered log of multicasts (agreed order); each member delivers the log in order at its
//!   own pace (slow members are picked less often).
//! * **View changes** (partition, merge, crash, leave, join): each part of an old view that
//!   stays together first delivers a prefix of the old log (virtual synchrony: every member
//!   of the part delivers the same prefix before the confchg). The prefix covers everything
//!   any member of the part already delivered and every message sent by a member of the
//!   part, and may go further ([`Cut`]): a part may deliver messages another part never
//!   gets (AGREED, not SAFE delivery). Messages multicast while flushing go into the new
//!   view. Then every member of each new view gets the confchg (with its own left/joined
//!   lists).
//! * **Processes**: crash (the memdb, standing for config.db, keeps what was committed;
//!   writers waiting are lost), restart (new pid, fresh machine in START mode), leave after
//!   an error (re-initialized and re-joined a few steps later, if restartable).
//! * **Writers** act like the daemon's FUSE threads: refused locally with `EACCES` when not
//!   quorate, else `send_normal` and wait for `Completed`/`Aborted`.
//!
//! Bookkeeping for the safety checks: the simulator traces every applied write per node
//! (its *history*), follows sync commits (a receiver adopts the leader's history) and
//! rollbacks, and records acknowledged writes.

mod cpg;
mod node;
mod schedule;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use memdb::{Memdb, Op, Tree};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::app::MemberId;
use crate::dcdb::{AckPolicy, Dcdb, UndoStore};
use crate::machine::Dfsm;

pub use schedule::{run_schedule, Schedule, ScheduleReport};

/// A write's identity: sender and its message counter.
pub type WriteId = (MemberId, u64);

/// How far each part of a splitting view delivers the old view's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Only what it must (already delivered by a member, or sent by a member).
    Min,
    /// A random prefix between `Min` and everything.
    Random,
    /// Everything.
    Max,
}

/// Acknowledgement mode of every node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// As the original: answered on own delivery.
    Original,
    /// [`AckPolicy::Quorum`] with the quorum of the configured node count.
    QuorumAck,
}

/// Outcome of one write as seen by its writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Refused before sending (`-errno`: `EACCES` without quorum, `EBUSY` not connected).
    Refused(i32),
    /// Sent, no answer yet.
    Waiting,
    /// Answered with this result at this step.
    Completed(i32, u64),
    /// Aborted (the daemon answers `EBUSY`).
    Aborted,
    /// The writer's process crashed while waiting.
    Lost,
}

/// Whether an acknowledged write falls under the durability check: after the answer, its
/// writer stayed in a quorate view until that view was next quiet (every member SYNCED and
/// every message delivered), i.e. the write reached a quorum of the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Not decided yet (no quiet point of a quorate view since the answer).
    Undecided,
    /// Must survive.
    Required,
    /// Writer crashed, left, or ended in a non-quorate view before that.
    Excused,
}

/// One write issued by a simulated writer.
#[derive(Debug, Clone)]
pub struct WriteRec {
    /// Writer node.
    pub node: u32,
    /// Identity on the wire (`None` if refused locally).
    pub id: Option<WriteId>,
    /// The operation.
    pub op: Op,
    /// Step it was issued at.
    pub sent: u64,
    /// What the writer got.
    pub outcome: Outcome,
    /// Durability class (for successful answers).
    pub durability: Durability,
}

struct Proc {
    pid: u32,
    dfsm: Dfsm<Dcdb>,
    joined: bool,
    rejoin_at: Option<u64>,
    waiting: BTreeMap<u64, usize>,
}

struct Node {
    nodeid: u32,
    memdb: Arc<Memdb>,
    undo: UndoStore,
    proc: Option<Proc>,
    slow: bool,
    /// Applied writes `(id, version after)` that make up this node's tree.
    hist: Vec<(WriteId, u64)>,
}

struct Group {
    members: Vec<MemberId>,
    log: Vec<(MemberId, Vec<u8>)>,
    cursor: HashMap<MemberId, usize>,
    dirty: bool,
}

/// The simulated cluster.
pub struct Sim {
    rng: ChaCha8Rng,
    n: u32,
    policy: Policy,
    now: u32,
    step: u64,
    next_pid: u32,
    nodes: Vec<Node>,
    net: Vec<u32>,
    groups: Vec<Group>,
    carry: Option<Vec<(MemberId, Vec<u8>)>>,
    in_round: bool,
    pending_leaves: Vec<(u32, u32)>,
    by_state: HashMap<Vec<u8>, Vec<(WriteId, u64)>>,
    /// All writes issued.
    pub writes: Vec<WriteRec>,
    changed: HashMap<WriteId, bool>,
    sent_at: HashMap<usize, u64>,
    /// When views change, set the quorum inputs before (`Some(true)`) or after
    /// (`Some(false)`) flushing the old views; `None`: random.
    pub quorum_before_flush: Option<bool>,
    /// Safety violations found so far (empty = fine).
    pub violations: Vec<String>,
    /// Counters for cost measurements.
    pub stats: Stats,
    /// Collect the machines' log lines (for debugging a seed).
    pub verbose: bool,
    /// Writers also refuse (`EACCES`) unless their daemon is SYNCED in a DFSM view with a
    /// quorum of nodes (a local, wire-compatible rule; off = the original behaviour).
    pub strict_writers: bool,
}

/// Message and latency counters.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Multicasts of NORMAL messages (writes, unlocks, acknowledgements).
    pub normal_msgs: u64,
    /// Multicasts of acknowledgement messages.
    pub ack_msgs: u64,
    /// Multicasts of state messages (sync, verify).
    pub state_msgs: u64,
    /// Deliveries (one message to one member).
    pub deliveries: u64,
    /// Sum over answered writes of the deliveries made between send and answer.
    pub latency_deliveries: u64,
    /// Answered writes.
    pub answered: u64,
    /// Configuration changes.
    pub view_changes: u64,
    /// Rollbacks of unconfirmed writes.
    pub rollbacks: u64,
}

impl Sim {
    /// A cluster of `n` configured nodes (ids 1..=n), all stopped, one network.
    pub fn new(n: u32, policy: Policy, seed: u64) -> Sim {
        let nodes = (1..=n)
            .map(|nodeid| Node {
                nodeid,
                memdb: Arc::new(Memdb::from_tree(Tree::new(1_000))),
                undo: UndoStore::default(),
                proc: None,
                slow: false,
                hist: Vec::new(),
            })
            .collect();
        Sim {
            rng: ChaCha8Rng::seed_from_u64(seed),
            n,
            policy,
            now: 1_000_000,
            step: 0,
            next_pid: 100,
            nodes,
            net: vec![0; n as usize],
            groups: Vec::new(),
            carry: None,
            in_round: false,
            pending_leaves: Vec::new(),
            by_state: HashMap::new(),
            writes: Vec::new(),
            changed: HashMap::new(),
            sent_at: HashMap::new(),
            quorum_before_flush: None,
            violations: Vec::new(),
            stats: Stats::default(),
            verbose: false,
            strict_writers: false,
        }
    }

    /// Configured node count.
    pub fn size(&self) -> u32 {
        self.n
    }

    /// The memdb of a node.
    pub fn memdb(&self, nodeid: u32) -> &Arc<Memdb> {
        &self.node(nodeid).memdb
    }

    /// The machine of a running node.
    pub fn dfsm(&self, nodeid: u32) -> Option<&Dfsm<Dcdb>> {
        self.node(nodeid).proc.as_ref().map(|p| &p.dfsm)
    }

    /// Marks a node slow (delivers rarely).
    pub fn set_slow(&mut self, nodeid: u32, slow: bool) {
        self.node_mut(nodeid).slow = slow;
    }

    /// Current simulated Unix time.
    pub fn now(&self) -> u32 {
        self.now
    }

    /// Advances the clock.
    pub fn advance(&mut self, secs: u32) {
        self.now += secs;
    }

    /// True if the node's partition has quorum.
    pub fn quorate(&self, nodeid: u32) -> bool {
        let label = self.net[(nodeid - 1) as usize];
        let size = self.net.iter().filter(|l| **l == label).count() as u32;
        size > self.n / 2
    }

    /// The applied-write history of a node's tree.
    pub fn history(&self, nodeid: u32) -> Vec<WriteId> {
        self.node(nodeid).hist.iter().map(|(id, _)| *id).collect()
    }

    fn node(&self, nodeid: u32) -> &Node {
        &self.nodes[(nodeid - 1) as usize]
    }

    fn node_mut(&mut self, nodeid: u32) -> &mut Node {
        &mut self.nodes[(nodeid - 1) as usize]
    }

    fn ack_policy(&self) -> AckPolicy {
        match self.policy {
            Policy::Original => AckPolicy::Immediate,
            Policy::QuorumAck => AckPolicy::Quorum {
                quorum: self.n / 2 + 1,
            },
        }
    }

    fn violation(&mut self, what: String) {
        if self.violations.len() < 20 {
            self.violations.push(format!("step {}: {what}", self.step));
        }
    }
}
