//! The interface between the generic DFSM machine and an application (DCDB, KVSTORE).
//!
//! The machine owns the protocol (modes, epochs, queues, sync rounds, VERIFY); the
//! application owns the replicated data. Every callback receives a [`Ctx`] through which
//! the application can multicast NORMAL messages of its own (fire and forget), emit
//! application events for the daemon, log, and steer the completion of local writers.
//!
//! # DCDB
//! [`crate::dcdb::Dcdb`]: state = memdb index, leader-based UPDATE transfer, checksum.
//!
//! # KVSTORE (not implemented here; how it maps onto this trait)
//! * `protocol_version` → 0; `supports_verify` → false (no checksum, no verify timer).
//! * `get_state` → the 131072-byte cluster-log ring buffer.
//! * `process_state_update` → validate each state (length > 8 and equal to its `size`
//!   field, skip invalid ones with a critical log), merge the logs, then re-broadcast every
//!   local plain key/value entry with [`Ctx::send`] (subtype 1); return
//!   `StateOutcome { synced: all members, updates: vec![], update_complete: false }`, so
//!   no UPDATE/UPDATE_COMPLETE is ever sent and every member goes straight to SYNCED.
//! * `process_update` / `commit` → `Err(AppError::leave(..))` (an UPDATE is a protocol
//!   error in this group).
//! * `deliver` → ignore own messages (applied before sending); UPDATE/LOG records; an
//!   unknown subtype gives `Ok(-EACCES)` without leaving.
//! * `synced` → `ctx.send(1, key "nodeip" ...)`, called on every change *to* SYNCED.
//! * `confchg` → mark known nodes online iff present in `members`.
//! * Senders use [`crate::Dfsm::send_normal`] and simply never wait for the count.

use crate::machine::Level;

/// A CPG group member: node id and process id (ordered by `(nodeid, pid)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MemberId {
    /// Corosync node id.
    pub nodeid: u32,
    /// Process id of the daemon on that node.
    pub pid: u32,
}

impl MemberId {
    /// Shorthand constructor.
    pub const fn new(nodeid: u32, pid: u32) -> MemberId {
        MemberId { nodeid, pid }
    }
}

impl std::fmt::Display for MemberId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.nodeid, self.pid)
    }
}

/// A NORMAL message handed to [`Application::deliver`].
#[derive(Debug, Clone, Copy)]
pub struct NormalMsg<'a> {
    /// Sender.
    pub from: MemberId,
    /// Sender's message counter.
    pub count: u64,
    /// Application subtype.
    pub subtype: u16,
    /// Sender's clock when sending (Unix seconds); DCDB uses it as mtime.
    pub time: u32,
    /// Application payload.
    pub payload: &'a [u8],
}

/// One member's STATE payload, in `(nodeid, pid)` order.
#[derive(Debug, Clone, Copy)]
pub struct MemberState<'a> {
    /// The member.
    pub member: MemberId,
    /// Its STATE payload.
    pub state: &'a [u8],
}

/// UPDATE payloads in one buffer: a sync's leader may send thousands, and one allocation
/// goes back to the system when the sync ends, where thousands would stay as fragments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateRecords {
    pub(crate) bytes: Vec<u8>,
    /// End offset in `bytes` of every payload.
    pub(crate) ends: Vec<usize>,
}

impl UpdateRecords {
    /// Appends one payload written by `encode`.
    pub fn push_with(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        encode(&mut self.bytes);
        self.ends.push(self.bytes.len());
    }

    /// Number of payloads.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True without payloads.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl<P: AsRef<[u8]>> FromIterator<P> for UpdateRecords {
    fn from_iter<I: IntoIterator<Item = P>>(payloads: I) -> Self {
        let mut records = UpdateRecords::default();
        for payload in payloads {
            records.push_with(|out| out.extend_from_slice(payload.as_ref()));
        }
        records
    }
}

/// What the application decided once all STATE messages were in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateOutcome {
    /// Members whose data is already current (the leader and identical ones).
    pub synced: Vec<MemberId>,
    /// UPDATE payloads to multicast now (leader only), in order.
    pub updates: UpdateRecords,
    /// Multicast UPDATE_COMPLETE after the updates (leader only).
    pub update_complete: bool,
}

/// An application failure; the machine leaves the group (or enters ERROR if `fatal`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct AppError {
    /// Enter the non-restartable ERROR mode instead of LEAVE.
    pub fatal: bool,
    /// Result reported to a local writer whose own message failed (default -1, as C).
    pub result: Option<i32>,
    /// Log text.
    pub reason: String,
}

impl AppError {
    /// A failure that makes the node leave the group (restartable).
    pub fn leave(reason: impl Into<String>) -> AppError {
        AppError {
            fatal: false,
            result: None,
            reason: reason.into(),
        }
    }

    /// A failure that stops the group for good (ERROR mode).
    pub fn fatal(reason: impl Into<String>) -> AppError {
        AppError {
            fatal: true,
            ..AppError::leave(reason)
        }
    }

    /// Sets the result a waiting local writer receives.
    pub fn with_result(mut self, result: i32) -> AppError {
        self.result = Some(result);
        self
    }
}

/// What the application asked the machine to do with a local writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Completion {
    Done { count: u64, result: i32 },
    Aborted { count: u64 },
}

/// The application's handle on the machine during one callback.
#[derive(Debug)]
pub struct Ctx<E> {
    pub(crate) local: MemberId,
    pub(crate) lowest_nodeid: u32,
    pub(crate) now: u32,
    pub(crate) sends: Vec<(u16, Vec<u8>)>,
    pub(crate) events: Vec<E>,
    pub(crate) logs: Vec<(Level, String)>,
    pub(crate) completions: Vec<Completion>,
    pub(crate) defer: bool,
    pub(crate) leave: Option<String>,
}

impl<E> Ctx<E> {
    pub(crate) fn new(local: MemberId, lowest_nodeid: u32, now: u32) -> Ctx<E> {
        Ctx {
            local,
            lowest_nodeid,
            now,
            sends: Vec::new(),
            events: Vec::new(),
            logs: Vec::new(),
            completions: Vec::new(),
            defer: false,
            leave: None,
        }
    }

    /// This process.
    pub fn local(&self) -> MemberId {
        self.local
    }

    /// Smallest node id of the current view (0 before the first view).
    pub fn lowest_nodeid(&self) -> u32 {
        self.lowest_nodeid
    }

    /// True if this node has the lowest node id of the view.
    pub fn is_lowest(&self) -> bool {
        self.lowest_nodeid != 0 && self.lowest_nodeid == self.local.nodeid
    }

    /// The clock the machine was driven with for this event (Unix seconds).
    pub fn now(&self) -> u32 {
        self.now
    }

    /// Multicasts a NORMAL message of this application without waiting for it.
    pub fn send(&mut self, subtype: u16, payload: Vec<u8>) {
        self.sends.push((subtype, payload));
    }

    /// Hands an event to the daemon (as [`crate::Action::App`]).
    pub fn emit(&mut self, event: E) {
        self.events.push(event);
    }

    /// Logs a line (as [`crate::Action::Log`]).
    pub fn log(&mut self, level: Level, message: impl Into<String>) {
        self.logs.push((level, message.into()));
    }

    /// In [`Application::deliver`] of an own message: do not report the result now; the
    /// application calls [`Ctx::complete`] or [`Ctx::abort`] for that count later.
    pub fn defer_completion(&mut self) {
        self.defer = true;
    }

    /// Reports the result of a local writer's message (deferred earlier).
    pub fn complete(&mut self, count: u64, result: i32) {
        self.completions.push(Completion::Done { count, result });
    }

    /// Aborts a local writer (deferred earlier): the daemon answers `EBUSY`.
    pub fn abort(&mut self, count: u64) {
        self.completions.push(Completion::Aborted { count });
    }

    /// Leave the group once this callback returned (its result still reaches the writer).
    pub fn leave(&mut self, reason: impl Into<String>) {
        self.leave = Some(reason.into());
    }
}

/// An application replicated by a [`crate::Dfsm`]. All callbacks run on the thread that
/// drives the machine (the CPG dispatch thread); none may block on the network.
pub trait Application {
    /// Events for the daemon (e.g. "corosync.conf changed").
    type Event;

    /// Group protocol version (DCDB 1, KVSTORE 0). Messages with a higher version put the
    /// machine into VERSION_ERROR, lower ones are ignored.
    fn protocol_version(&self) -> u32;

    /// The STATE payload of this member (must be non-empty).
    fn get_state(&mut self, ctx: &mut Ctx<Self::Event>) -> Result<Vec<u8>, AppError>;

    /// All STATE payloads are in (`states` in `(nodeid, pid)` order, local one included):
    /// decide which members are synced and, if this member is the leader, which UPDATE
    /// payloads to send followed by UPDATE_COMPLETE.
    fn process_state_update(
        &mut self,
        ctx: &mut Ctx<Self::Event>,
        states: &[MemberState<'_>],
    ) -> Result<StateOutcome, AppError>;

    /// An UPDATE payload arrived while this member waits for the leader.
    fn process_update(
        &mut self,
        ctx: &mut Ctx<Self::Event>,
        from: MemberId,
        payload: &[u8],
    ) -> Result<(), AppError>;

    /// UPDATE_COMPLETE arrived: apply the collected updates.
    fn commit(&mut self, ctx: &mut Ctx<Self::Event>) -> Result<(), AppError>;

    /// A NORMAL message is delivered in SYNCED mode. `Ok(result)` is reported to the local
    /// writer if the message is its own (unless deferred); `Err` makes the node leave.
    fn deliver(&mut self, ctx: &mut Ctx<Self::Event>, msg: &NormalMsg<'_>)
        -> Result<i32, AppError>;

    /// Extension (not in C): called on every configuration change that includes us, right
    /// after the member bookkeeping is rebuilt and before any message of the new view is
    /// handled. DCDB uses it to settle writes of the previous view.
    fn view_started(
        &mut self,
        _ctx: &mut Ctx<Self::Event>,
        _members: &[MemberId],
        _left: &[MemberId],
        _joined: &[MemberId],
    ) {
    }

    /// The C confchg hook: called last in every configuration change that includes us
    /// (members sorted by `(nodeid, pid)`).
    fn confchg(&mut self, _ctx: &mut Ctx<Self::Event>, _members: &[MemberId]) {}

    /// Called each time the mode changes to SYNCED; may send NORMAL messages.
    fn synced(&mut self, _ctx: &mut Ctx<Self::Event>) {}

    /// Frees per-sync resources (called whenever the machine releases sync state).
    fn cleanup(&mut self) {}

    /// True if the application has a whole-data checksum (answers VERIFY requests).
    fn supports_verify(&self) -> bool {
        false
    }

    /// The whole-data checksum for VERIFY.
    fn checksum(&mut self) -> Result<[u8; 32], AppError> {
        Err(AppError::leave("no checksum function"))
    }

    /// Seconds between VERIFY requests of the lowest node (`None`: never).
    fn verify_interval(&self) -> Option<u32> {
        None
    }

    /// End of a batch of deliveries (the driver calls [`crate::Dfsm::flush`] when its
    /// dispatch queue is drained): the application may send batched messages.
    fn flush(&mut self, _ctx: &mut Ctx<Self::Event>) {}

    /// Extension (not in C): a delivery round starts ([`crate::Driver::round`]). Results of
    /// the round's messages are reported to local writers only after [`Self::end_round`],
    /// so the application may make their effects durable together there.
    fn begin_round(&mut self) {}

    /// The delivery round ends: make its effects durable. `Err` fails every result of the
    /// round reported as a success (they become `-EIO`) and the node leaves as for a failed
    /// delivery.
    fn end_round(&mut self, _ctx: &mut Ctx<Self::Event>) -> Result<(), AppError> {
        Ok(())
    }
}
