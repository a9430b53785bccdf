//! Processes of the simulated nodes: start, crash, leave/rejoin, writers, and the
//! execution of the machines' actions (with the bookkeeping for the safety checks).

use std::collections::BTreeMap;

use memdb::{Errno, Op};

use super::{Cut, Durability, Node, Outcome, Proc, Sim, WriteRec};
use crate::app::MemberId;
use crate::codec::{MsgType, UnlockRecord, NORMAL_HEADER_LEN, STATE_HEADER_LEN};
use crate::dcdb::{op_to_message, Dcdb, DcdbEvent, ACK_MAGIC};
use crate::machine::{Action, Dfsm};

impl Sim {
    /// Starts (or restarts, with a new pid) the daemon of a node and joins the group.
    pub fn start(&mut self, nodeid: u32) {
        if self.node(nodeid).proc.is_some() {
            return;
        }
        let pid = self.next_pid;
        self.next_pid += 1;
        let policy = self.ack_policy();
        let quorate = self.quorate(nodeid);
        let data_quorum = self.strict_writers.then_some(self.n / 2 + 1);
        let node = self.node_mut(nodeid);
        let mut dcdb = Dcdb::new(node.memdb.clone());
        dcdb.set_trace(true);
        dcdb.set_ack_policy(policy);
        dcdb.set_undo_store(node.undo.clone());
        dcdb.set_quorate(quorate);
        dcdb.set_data_quorum(data_quorum);
        if let Some(version) = dcdb.recover_undo() {
            node.hist.retain(|(_, v)| *v <= version);
            self.stats.rollbacks += 1;
        }
        let node = self.node_mut(nodeid);
        node.proc = Some(Proc {
            pid,
            dfsm: Dfsm::new(dcdb, MemberId::new(nodeid, pid)),
            joined: true,
            rejoin_at: None,
            waiting: BTreeMap::new(),
        });
        self.reconfigure(Cut::Random);
    }

    /// Starts every stopped node.
    pub fn start_all(&mut self) {
        for nodeid in 1..=self.n {
            self.start(nodeid);
        }
    }

    /// Kills the daemon of a node (its memdb keeps what was committed).
    pub fn crash(&mut self, nodeid: u32) {
        let Some(proc) = self.node_mut(nodeid).proc.take() else {
            return;
        };
        for w in proc.waiting.values() {
            self.writes[*w].outcome = Outcome::Lost;
        }
        self.excuse(nodeid, proc.pid);
        self.reconfigure(Cut::Random);
    }

    /// Issues a write from a node like a FUSE thread would; returns its index in
    /// [`Sim::writes`].
    pub fn write(&mut self, nodeid: u32, op: Op) -> usize {
        let index = self.writes.len();
        let mut rec = WriteRec {
            node: nodeid,
            id: None,
            op,
            sent: self.step,
            outcome: Outcome::Refused(Errno::Eacces.negative()),
            durability: Durability::Undecided,
        };
        if !self.quorate(nodeid) || (self.strict_writers && !self.strictly_writable(nodeid)) {
            self.writes.push(rec);
            return index;
        }
        let (subtype, payload) = op_to_message(&rec.op);
        let now = self.now;
        let sent = self.node_mut(nodeid).proc.as_mut().map(|p| {
            let local = p.dfsm.local();
            (local, p.dfsm.send_normal(subtype.code(), &payload, now))
        });
        match sent {
            Some((local, Ok((count, actions)))) => {
                rec.id = Some((local, count));
                rec.outcome = Outcome::Waiting;
                self.writes.push(rec);
                self.sent_at.insert(index, self.stats.deliveries);
                let proc = self.node_mut(nodeid).proc.as_mut().expect("running");
                proc.waiting.insert(count, index);
                self.handle(nodeid, actions);
            }
            _ => {
                rec.outcome = Outcome::Refused(-libc::EBUSY);
                self.writes.push(rec);
            }
        }
        index
    }

    /// SYNCED in a DFSM view that holds a quorum of the configured nodes.
    pub fn strictly_writable(&self, nodeid: u32) -> bool {
        let synced = self
            .dfsm(nodeid)
            .is_some_and(|d| d.mode() == crate::machine::Mode::Synced);
        let size = self.view_of(nodeid).map_or(0, |v| v.len() as u32);
        (synced || std::env::var_os("NOSYNCREQ").is_some()) && size > self.n / 2
    }

    /// Number of writes a node's daemon is waiting for.
    pub fn inflight(&self, nodeid: u32) -> usize {
        self.node(nodeid)
            .proc
            .as_ref()
            .map_or(0, |p| p.waiting.len())
    }

    /// Timer tick on every running daemon.
    pub fn tick_all(&mut self) {
        for nodeid in 1..=self.n {
            let now = self.now;
            let actions = match self.node_mut(nodeid).proc.as_mut() {
                Some(p) => p.dfsm.tick(now),
                None => continue,
            };
            self.handle(nodeid, actions);
        }
    }

    /// Leaves requested by the machines, and re-joins that are due.
    pub(super) fn settle(&mut self) {
        loop {
            let leaves = std::mem::take(&mut self.pending_leaves);
            let due: Vec<u32> = self
                .nodes
                .iter()
                .filter(|n| {
                    n.proc
                        .as_ref()
                        .and_then(|p| p.rejoin_at)
                        .is_some_and(|at| at <= self.step)
                })
                .map(|n| n.nodeid)
                .collect();
            if leaves.is_empty() && due.is_empty() {
                return;
            }
            for (nodeid, pid) in leaves {
                let delay = 3 + rand::Rng::random_range(&mut self.rng, 0..20);
                let step = self.step;
                let Some(p) = self
                    .node_mut(nodeid)
                    .proc
                    .as_mut()
                    .filter(|p| p.pid == pid && p.joined)
                else {
                    continue;
                };
                p.joined = false;
                p.rejoin_at = p.dfsm.restartable().then_some(step + delay);
                self.excuse(nodeid, pid);
            }
            for nodeid in due {
                let quorate = self.quorate(nodeid);
                let p = self.node_mut(nodeid).proc.as_mut().expect("running");
                p.rejoin_at = None;
                p.joined = true;
                p.dfsm.app().set_quorate(quorate);
                let actions = p.dfsm.reset();
                self.handle(nodeid, actions);
            }
            self.reconfigure(Cut::Random);
        }
    }

    /// Writes of a process that were answered but not yet classified stop counting.
    fn excuse(&mut self, nodeid: u32, pid: u32) {
        for w in &mut self.writes {
            if w.node == nodeid
                && w.durability == Durability::Undecided
                && w.id.is_some_and(|(m, _)| m.pid == pid)
                && matches!(w.outcome, Outcome::Completed(..))
            {
                w.durability = Durability::Excused;
            }
        }
    }

    /// True if the node's view counts as quorate for the durability rule: more than half
    /// of the configured nodes in its DFSM view (strict writers) or votequorum's verdict.
    pub(super) fn view_quorate(&self, nodeid: u32) -> bool {
        if self.strict_writers {
            self.view_of(nodeid)
                .is_some_and(|v| v.len() as u32 > self.n / 2)
        } else {
            self.quorate(nodeid)
        }
    }

    /// The process got a confchg: answered writes stop counting if the new view is not
    /// quorate (otherwise they are decided at the view's next quiet point).
    pub(super) fn classify_after_confchg(&mut self, nodeid: u32, pid: u32) {
        if !self.view_quorate(nodeid) {
            self.excuse(nodeid, pid);
        }
    }

    /// The process's view is quiet (all members SYNCED, everything delivered): its
    /// answered writes must survive if the view is quorate.
    pub(super) fn classify_at_quiet_point(&mut self, nodeid: u32, pid: u32) {
        if !self.view_quorate(nodeid) {
            return;
        }
        for w in &mut self.writes {
            if w.node == nodeid
                && w.durability == Durability::Undecided
                && w.id.is_some_and(|(m, _)| m.pid == pid)
                && matches!(w.outcome, Outcome::Completed(..))
            {
                w.durability = Durability::Required;
            }
        }
    }

    /// Executes a machine's actions.
    pub(super) fn handle(&mut self, nodeid: u32, actions: Vec<Action<DcdbEvent>>) {
        for action in actions {
            match action {
                Action::Multicast(bytes) => self.multicast(nodeid, bytes),
                Action::Completed { count, result } => {
                    if let Some(w) = self.take_waiting(nodeid, count) {
                        if self.verbose {
                            eprintln!(
                                "[{}] node {nodeid}: write #{count} answered {result}",
                                self.step
                            );
                        }
                        self.writes[w].outcome = Outcome::Completed(result, self.step);
                        self.stats.answered += 1;
                        let sent = self.sent_at.remove(&w).unwrap_or(self.stats.deliveries);
                        self.stats.latency_deliveries += self.stats.deliveries - sent;
                    }
                }
                Action::Aborted { count } => {
                    if let Some(w) = self.take_waiting(nodeid, count) {
                        self.writes[w].outcome = Outcome::Aborted;
                        self.sent_at.remove(&w);
                    }
                }
                Action::Leave => {
                    if let Some(p) = &self.node(nodeid).proc {
                        self.pending_leaves.push((nodeid, p.pid));
                    }
                }
                Action::ModeChanged { .. } => {}
                Action::Log { level, message } => {
                    if self.verbose {
                        let pid = self.node(nodeid).proc.as_ref().map_or(0, |p| p.pid);
                        eprintln!("[{}] {nodeid}/{pid} {level:?}: {message}", self.step);
                    }
                }
                Action::App(event) => self.app_event(nodeid, event),
            }
        }
    }

    fn take_waiting(&mut self, nodeid: u32, count: u64) -> Option<usize> {
        self.node_mut(nodeid).proc.as_mut()?.waiting.remove(&count)
    }

    fn multicast(&mut self, nodeid: u32, bytes: Vec<u8>) {
        let msg_type = bytes
            .get(..2)
            .map_or(u16::MAX, |b| u16::from_le_bytes([b[0], b[1]]));
        if msg_type == MsgType::Normal.code() {
            self.stats.normal_msgs += 1;
            let is_ack = bytes
                .get(NORMAL_HEADER_LEN..)
                .and_then(|p| UnlockRecord::decode(p).ok())
                .is_some_and(|r| r.csum == ACK_MAGIC);
            if is_ack {
                self.stats.ack_msgs += 1;
            }
        } else {
            self.stats.state_msgs += 1;
            if msg_type == MsgType::State.code() {
                let hist = self.node(nodeid).hist.clone();
                self.by_state
                    .insert(bytes[STATE_HEADER_LEN..].to_vec(), hist);
            }
        }
        let Some(p) = self.node(nodeid).proc.as_ref().filter(|p| p.joined) else {
            return;
        };
        let from = MemberId::new(nodeid, p.pid);
        if let Some(carry) = self.carry.as_mut() {
            carry.push((from, bytes));
            return;
        }
        if let Some(g) = self.groups.iter_mut().find(|g| g.members.contains(&from)) {
            g.log.push((from, bytes));
            g.dirty = true;
        }
    }

    fn app_event(&mut self, nodeid: u32, event: DcdbEvent) {
        if self.verbose {
            match &event {
                DcdbEvent::Committed { leader_index } => {
                    let v = memdb::Index::decode(leader_index).map_or(0, |i| i.version);
                    eprintln!(
                        "[{}] node {nodeid}: committed leader state version {v}",
                        self.step
                    );
                }
                e => eprintln!("[{}] node {nodeid}: {e:?}", self.step),
            }
        }
        match event {
            DcdbEvent::Applied {
                from,
                count,
                version,
                changed,
            } => {
                if changed {
                    self.node_mut(nodeid).hist.push(((from, count), version));
                    let flag = self
                        .node(nodeid)
                        .proc
                        .as_ref()
                        .is_some_and(|p| p.dfsm.app().is_quorate());
                    if !flag {
                        self.violation(format!("(b) node {nodeid} applied a write without quorum"));
                    }
                }
                if from.nodeid == nodeid {
                    self.changed.insert((from, count), changed);
                }
            }
            DcdbEvent::Committed { leader_index } => match self.by_state.get(&leader_index) {
                Some(hist) => self.node_mut(nodeid).hist = hist.clone(),
                None => self.violation(format!("node {nodeid} committed an unknown leader state")),
            },
            DcdbEvent::RolledBack { version } => {
                self.node_mut(nodeid).hist.retain(|(_, v)| *v <= version);
                self.stats.rollbacks += 1;
            }
            DcdbEvent::CorosyncConf { .. } => {}
        }
    }

    /// True if the write changed the tree of its writer.
    pub fn write_changed_tree(&self, index: usize) -> bool {
        self.writes[index]
            .id
            .is_some_and(|id| self.changed.get(&id).copied().unwrap_or(false))
    }

    pub(super) fn running(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.proc.is_some())
    }
}
