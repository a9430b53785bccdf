//! The generic DFSM state machine (§1.4–§1.10), sans-I/O.
//!
//! Feed it CPG events ([`Dfsm::confchg`], [`Dfsm::deliver`]), timer ticks ([`Dfsm::tick`])
//! and local sends ([`Dfsm::send_normal`]); it returns [`Action`]s for the driver to carry
//! out in order (multicasts, writer completions, leave requests, logs, application events).
//!
//! Driving it from a daemon: keep the machine behind one mutex. The CPG dispatch thread
//! locks it for every callback and executes the returned actions (multicasts via the
//! [`crate::Transport`]); writer threads lock it only for `send_normal` + the multicast of
//! the returned bytes (so counters go out in order), then wait *outside* the lock for
//! `Completed`/`Aborted` of their count (see [`crate::transport::Waiters`]).

mod local;
mod receive;
#[cfg(test)]
mod tests;
mod types;
mod updates;

use std::collections::{BTreeSet, VecDeque};

use crate::app::{Application, Completion, Ctx, MemberId};
use crate::codec::{encode_normal, encode_state, Epoch, MsgType};

pub use types::{Action, Level, Mode, QueueIds, SendError, Sent};

#[derive(Debug, Clone)]
struct Member {
    id: MemberId,
    state: Option<Vec<u8>>,
    synced: bool,
}

#[derive(Debug, Clone)]
struct Queued {
    from: MemberId,
    count: u64,
    msg: Vec<u8>,
}

/// The DFSM state machine of one process in one CPG group.
pub struct Dfsm<A: Application> {
    app: A,
    local: MemberId,
    protocol: u32,
    mode: Mode,
    now: u32,
    members: Option<Vec<Member>>,
    lowest_nodeid: u32,
    we_are_member: bool,
    epoch_counter: u32,
    sync_epoch: Epoch,
    csum: [u8; 32],
    csum_epoch: Epoch,
    csum_id: u64,
    csum_counter: u64,
    msg_count: u64,
    msg_queue: Vec<Queued>,
    sync_queue: VecDeque<Queued>,
    outstanding: BTreeSet<u64>,
    deferred: BTreeSet<u64>,
    next_verify: Option<u32>,
    update_stream: updates::UpdateStream,
}

type Out<E> = Vec<Action<E>>;

impl<A: Application> Dfsm<A> {
    /// A machine for process `local` (node id from `cpg_local_get`, our pid), mode START.
    pub fn new(app: A, local: MemberId) -> Dfsm<A> {
        Dfsm {
            protocol: app.protocol_version(),
            app,
            local,
            mode: Mode::Start,
            now: 0,
            members: None,
            lowest_nodeid: 0,
            we_are_member: false,
            epoch_counter: 0,
            sync_epoch: Epoch::default(),
            csum: [0; 32],
            csum_epoch: Epoch::default(),
            csum_id: 0,
            csum_counter: 0,
            msg_count: 0,
            msg_queue: Vec::new(),
            sync_queue: VecDeque::new(),
            outstanding: BTreeSet::new(),
            deferred: BTreeSet::new(),
            next_verify: None,
            update_stream: updates::UpdateStream::default(),
        }
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The application, mutable (e.g. to set inputs such as quorum).
    pub fn app_mut(&mut self) -> &mut A {
        &mut self.app
    }

    /// This process.
    pub fn local(&self) -> MemberId {
        self.local
    }

    /// Current mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// False after ERROR or VERSION_ERROR: never re-initialize.
    pub fn restartable(&self) -> bool {
        !matches!(self.mode, Mode::Error | Mode::VersionError)
    }

    /// True while our own `(nodeid, pid)` is in the current view.
    pub fn is_member(&self) -> bool {
        self.we_are_member
    }

    /// Lowest node id of the current view (0 before the first view).
    pub fn lowest_nodeid(&self) -> u32 {
        self.lowest_nodeid
    }

    /// Members of the current view, sorted.
    pub fn members(&self) -> Vec<MemberId> {
        self.members.iter().flatten().map(|m| m.id).collect()
    }

    /// The current sync epoch.
    pub fn sync_epoch(&self) -> Epoch {
        self.sync_epoch
    }

    /// Counter of the last NORMAL message we sent.
    pub fn msg_count(&self) -> u64 {
        self.msg_count
    }

    /// `(sender, count)` of the queued messages: msg_queue then sync_queue.
    pub fn queued(&self) -> (QueueIds, QueueIds) {
        let ids = |q: &Queued| (q.from, q.count);
        (
            self.msg_queue.iter().map(ids).collect(),
            self.sync_queue.iter().map(ids).collect(),
        )
    }

    /// Counts of local writers still waiting.
    pub fn outstanding(&self) -> Vec<u64> {
        self.outstanding.iter().copied().collect()
    }

    /// CPG configuration change (§1.6). `now` is the local clock (Unix seconds).
    pub fn confchg(
        &mut self,
        members: &[MemberId],
        left: &[MemberId],
        joined: &[MemberId],
        now: u32,
    ) -> Vec<Action<A::Event>> {
        self.now = now;
        let mut out = Vec::new();
        self.we_are_member = false;
        self.epoch_counter = self.epoch_counter.wrapping_add(1);
        self.sync_epoch = Epoch {
            epoch: self.epoch_counter,
            time: now,
            nodeid: self.local.nodeid,
            pid: self.local.pid,
        };
        self.csum_id = self.csum_counter;
        self.csum_epoch = Epoch::default();
        self.sync_queue.clear();
        self.update_stream = updates::UpdateStream::default();
        if self.mode.is_error() {
            return out;
        }
        let mut sorted = members.to_vec();
        sorted.sort();
        self.lowest_nodeid = sorted.iter().map(|m| m.nodeid).min().unwrap_or(0);
        self.we_are_member = sorted.contains(&self.local);
        if self.we_are_member || self.mode != Mode::Start {
            let list: Vec<String> = sorted.iter().map(|m| m.to_string()).collect();
            log(
                &mut out,
                Level::Notice,
                format!("members: {}", list.join(", ")),
            );
        }
        self.app.cleanup();
        self.members = Some(
            sorted
                .iter()
                .map(|&id| Member {
                    id,
                    state: None,
                    synced: false,
                })
                .collect(),
        );
        if !self.we_are_member {
            if self.mode != Mode::Start {
                let msg = format!("we ({}) left the process group", self.local);
                log(&mut out, Level::Notice, msg);
                self.set_mode(Mode::Leave, &mut out);
            }
            return out;
        }
        self.with_app(&mut out, |app, ctx| {
            app.view_started(ctx, &sorted, left, joined)
        });
        if sorted.len() > 1 {
            if !joined.is_empty() && !self.msg_queue.is_empty() {
                let msg = format!(
                    "queue not empty - resending {} messages",
                    self.msg_queue.len()
                );
                log(&mut out, Level::Notice, msg);
                for q in std::mem::take(&mut self.msg_queue) {
                    if q.from == self.local {
                        out.push(Action::Multicast(q.msg));
                    }
                }
            }
            self.set_mode(Mode::StartSync, &mut out);
            if self.lowest_nodeid == self.local.nodeid {
                self.multicast_state(MsgType::SyncStart, &[], &mut out);
            }
        } else {
            self.set_mode(Mode::Synced, &mut out);
            if let Some(m) = self.member_mut(self.local) {
                m.synced = true;
            }
            if !self.deliver_queue(&mut out) {
                self.set_mode(Mode::Leave, &mut out);
                return out;
            }
        }
        self.with_app(&mut out, |app, ctx| app.confchg(ctx, &sorted));
        out
    }

    fn next_count(&mut self) -> u64 {
        self.msg_count += 1;
        self.msg_count
    }

    fn member(&self, id: MemberId) -> Option<&Member> {
        self.members.as_ref()?.iter().find(|m| m.id == id)
    }

    fn member_mut(&mut self, id: MemberId) -> Option<&mut Member> {
        self.members.as_mut()?.iter_mut().find(|m| m.id == id)
    }

    fn multicast_state(&mut self, kind: MsgType, payload: &[u8], out: &mut Out<A::Event>) {
        let bytes = encode_state(kind, self.protocol, self.now, &self.sync_epoch, payload);
        out.push(Action::Multicast(bytes));
    }

    /// Multicasts the leader's updates that fit into the window now.
    fn send_updates(&mut self, out: &mut Out<A::Event>) {
        let batch = self.update_stream.next_batch();
        for update in &batch.updates {
            self.multicast_state(MsgType::Update, update, out);
        }
        if batch.complete {
            self.multicast_state(MsgType::UpdateComplete, &[], out);
        }
    }

    /// Mode-change rule (§1.4) plus the SYNCED hook and the leave request.
    fn set_mode(&mut self, new: Mode, out: &mut Out<A::Event>) {
        let from = self.mode;
        if from == new {
            return;
        }
        if new.is_error() && from.is_error() && new.code() < from.code() {
            return;
        }
        self.mode = new;
        out.push(Action::ModeChanged { from, to: new });
        let (level, text) = match new {
            Mode::Start => (Level::Notice, "start cluster connection"),
            Mode::StartSync => (Level::Notice, "starting data synchronisation"),
            Mode::Synced => (Level::Notice, "all data is up to date"),
            Mode::Update => (Level::Notice, "waiting for updates from leader"),
            Mode::Leave => (Level::Critical, "leaving CPG group"),
            Mode::Error => (
                Level::Critical,
                "serious internal error - stop cluster connection",
            ),
            Mode::VersionError => (
                Level::Critical,
                "detected newer protocol - please update this node",
            ),
        };
        log(out, level, text);
        if new == Mode::Synced {
            self.with_app(out, |app, ctx| app.synced(ctx));
        }
        if new.is_error() && !from.is_error() {
            out.push(Action::Leave);
        }
    }

    /// "goto leave": mode LEAVE (unless already in a higher error mode) and release the
    /// sync resources.
    fn leave(&mut self, reason: &str, out: &mut Out<A::Event>) {
        log(out, Level::Critical, reason);
        self.set_mode(Mode::Leave, out);
        self.release_sync_resources();
    }

    fn release_sync_resources(&mut self) {
        self.app.cleanup();
        for m in self.members.iter_mut().flatten() {
            m.state = None;
        }
    }

    /// Runs an application callback with a fresh context and turns the context's requests
    /// into actions.
    fn with_app<R>(
        &mut self,
        out: &mut Out<A::Event>,
        f: impl FnOnce(&mut A, &mut Ctx<A::Event>) -> R,
    ) -> (R, Ctx<A::Event>) {
        let mut ctx = Ctx::new(self.local, self.lowest_nodeid, self.now);
        let r = f(&mut self.app, &mut ctx);
        self.drain(&mut ctx, out);
        (r, ctx)
    }

    fn drain(&mut self, ctx: &mut Ctx<A::Event>, out: &mut Out<A::Event>) {
        for (level, message) in ctx.logs.drain(..) {
            out.push(Action::Log { level, message });
        }
        for (subtype, payload) in std::mem::take(&mut ctx.sends) {
            let count = self.next_count();
            let bytes = encode_normal(subtype, self.protocol, self.now, count, &payload);
            out.push(Action::Multicast(bytes));
        }
        for c in ctx.completions.drain(..) {
            match c {
                Completion::Done { count, result } => {
                    self.deferred.remove(&count);
                    if self.outstanding.remove(&count) {
                        out.push(Action::Completed { count, result });
                    }
                }
                Completion::Aborted { count } => self.abort(count, out),
            }
        }
        out.extend(ctx.events.drain(..).map(Action::App));
    }

    fn abort(&mut self, count: u64, out: &mut Out<A::Event>) {
        self.deferred.remove(&count);
        if self.outstanding.remove(&count) {
            out.push(Action::Aborted { count });
        }
    }

    /// Our own message `count` was delivered with `result`: wake its writer, and (as C,
    /// where waiters wake once the delivered counter passes theirs) abort older writers
    /// whose message was never delivered, unless the application deferred them.
    fn record_local_result(&mut self, count: u64, result: Option<i32>, out: &mut Out<A::Event>) {
        let older: Vec<u64> = self
            .outstanding
            .range(..count)
            .filter(|c| !self.deferred.contains(c))
            .copied()
            .collect();
        for c in older {
            self.abort(c, out);
        }
        match result {
            Some(result) => {
                if self.outstanding.remove(&count) {
                    out.push(Action::Completed { count, result });
                }
            }
            None => {
                if self.outstanding.contains(&count) {
                    self.deferred.insert(count);
                }
            }
        }
    }
}

fn log<E>(out: &mut Out<E>, level: Level, message: impl Into<String>) {
    out.push(Action::Log {
        level,
        message: message.into(),
    });
}
