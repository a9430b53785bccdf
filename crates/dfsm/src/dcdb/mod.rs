//! The DCDB application (group `pve_dcdb_v1`, protocol 1) over a [`memdb::Memdb`].
//!
//! * STATE = the memdb index (§1.12.2); leader selection and synced marking (§1.12.3);
//!   the leader sends one UPDATE record per inode some member lacks; receivers check and
//!   hash each as it arrives ([`memdb::SyncStage`]) and commit them with
//!   [`memdb::Memdb::apply_sync`] on UPDATE_COMPLETE (§1.12.4).
//! * NORMAL subtypes 1–8 (§1.12.1), see [`deliver`](self) — writer = sender node id,
//!   mtime = header time (MTIME: the `offset` field); not quorate on delivery → `-EACCES`
//!   and leave; memdb error state → ERROR mode.
//! * Inputs: quorum ([`Dcdb::set_quorate`], or the shared flag of
//!   [`Dcdb::quorate_flag`]), a monotonic clock for lock expiry ([`Dcdb::set_lock_clock`]);
//!   the lowest node id comes from the machine.
//! * Outputs: [`DcdbEvent`]s for the daemon (corosync.conf propagation, rollbacks).
//! * [`AckPolicy::Quorum`]: optional quorum acknowledgement, see [`ack`](self) and the
//!   crate README.

mod ack;
mod deliver;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use memdb::{Index, Memdb, SyncStage};

use crate::app::{
    AppError, Application, Ctx, MemberId, MemberState, NormalMsg, StateOutcome, UpdateRecords,
};
use crate::codec::{decode_update, encode_update_into, DCDB_PROTOCOL_VERSION};
use crate::machine::Level;

pub use ack::{encode_ack, parse_ack, AckEntry, AckPolicy, UndoStore, ACK_MAGIC, ACK_PATH_PREFIX};
pub use deliver::{fuse_op_to_op, op_to_message, COROSYNC_CONF};

/// Seconds between VERIFY requests (`DCDB_VERIFY_TIME`).
pub const VERIFY_INTERVAL: u32 = 3600;

/// Events for the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcdbEvent {
    /// `corosync.conf` in the memdb may have changed: propagate it (§3.7). `notify` is true
    /// only on the node that sent the change (it runs `corosync-cfgtool -R`); after a sync
    /// commit it is false.
    CorosyncConf {
        /// Run `corosync-cfgtool -R` after writing.
        notify: bool,
    },
    /// [`AckPolicy::Quorum`]: unconfirmed writes of the previous view were undone after
    /// losing quorum; the tree is back at this global version.
    RolledBack {
        /// Global version after the rollback.
        version: u64,
    },
    /// Trace ([`Dcdb::set_trace`]): a NORMAL write message was applied.
    Applied {
        /// Sender.
        from: MemberId,
        /// Sender's message counter.
        count: u64,
        /// Global version afterwards.
        version: u64,
        /// True if the tree changed.
        changed: bool,
    },
    /// Trace ([`Dcdb::set_trace`]): a sync commit adopted the leader's tree with this
    /// index blob.
    Committed {
        /// The leader's STATE payload.
        leader_index: Vec<u8>,
    },
}

struct SyncInfo {
    leader: Index,
    received: SyncStage,
}

/// The DCDB application.
pub struct Dcdb {
    memdb: Arc<Memdb>,
    quorate: Arc<AtomicBool>,
    lock_clock: Box<dyn Fn() -> Instant + Send + Sync>,
    sync: Option<SyncInfo>,
    ack: ack::AckState,
    trace: bool,
    data_quorum: Option<u32>,
    view_nodes: u32,
}

impl Dcdb {
    /// DCDB over `memdb`, not quorate, [`AckPolicy::Immediate`] (the C behaviour).
    pub fn new(memdb: Arc<Memdb>) -> Dcdb {
        Dcdb {
            memdb,
            quorate: Arc::new(AtomicBool::new(false)),
            lock_clock: Box::new(Instant::now),
            sync: None,
            ack: ack::AckState::default(),
            trace: false,
            data_quorum: None,
            view_nodes: 0,
        }
    }

    /// The memdb.
    pub fn memdb(&self) -> &Arc<Memdb> {
        &self.memdb
    }

    /// Sets the quorum input (from votequorum notifications).
    pub fn set_quorate(&self, quorate: bool) {
        self.quorate.store(quorate, Ordering::SeqCst);
    }

    /// Current quorum input.
    pub fn is_quorate(&self) -> bool {
        self.quorate.load(Ordering::SeqCst)
    }

    /// The shared quorum flag (a quorum thread may set it without locking the machine).
    pub fn quorate_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.quorate)
    }

    /// Uses this flag as quorum input (shared with other components).
    pub fn with_quorate_flag(mut self, flag: Arc<AtomicBool>) -> Dcdb {
        self.quorate = flag;
        self
    }

    /// Replaces the monotonic clock used for lock expiry (tests, simulator).
    pub fn set_lock_clock(&mut self, clock: impl Fn() -> Instant + Send + Sync + 'static) {
        self.lock_clock = Box::new(clock);
    }

    /// Requires `nodes` distinct node ids in the DFSM view (not only votequorum's verdict)
    /// before this node counts as quorate for local writes ([`may_write`]) and for keeping
    /// unconfirmed writes ([`AckPolicy::Quorum`] sets it to its quorum). `None`: as C.
    pub fn set_data_quorum(&mut self, nodes: Option<u32>) {
        self.data_quorum = nodes;
    }

    fn effective_data_quorum(&self) -> Option<u32> {
        match self.ack.policy {
            AckPolicy::Quorum { quorum } => Some(self.data_quorum.unwrap_or(0).max(quorum)),
            AckPolicy::Immediate => self.data_quorum,
        }
    }

    /// Votequorum says quorate and (with a data quorum) the DFSM view holds enough nodes.
    pub fn view_quorate(&self) -> bool {
        let enough = match self.effective_data_quorum() {
            Some(q) => self.view_nodes >= q,
            None => true,
        };
        self.is_quorate() && enough
    }

    /// Emits [`DcdbEvent::Applied`] and [`DcdbEvent::Committed`] (simulator bookkeeping).
    pub fn set_trace(&mut self, trace: bool) {
        self.trace = trace;
    }

    /// Sets the acknowledgement policy.
    pub fn set_ack_policy(&mut self, policy: AckPolicy) {
        self.ack.policy = policy;
    }

    /// The acknowledgement policy.
    pub fn ack_policy(&self) -> AckPolicy {
        self.ack.policy
    }

    fn fail_if_memdb_broken(&self, result: i32) -> Result<i32, AppError> {
        if self.memdb.has_errors() {
            return Err(AppError::fatal("memdb is in its error state").with_result(result));
        }
        Ok(result)
    }
}

/// The daemon's check before sending a write (a FUSE thread refuses with `EACCES` when
/// false). C only asks votequorum; with a data quorum ([`Dcdb::set_data_quorum`],
/// [`AckPolicy::Quorum`]) this also requires mode SYNCED and enough nodes in the DFSM view.
pub fn may_write(dfsm: &crate::Dfsm<Dcdb>) -> bool {
    let app = dfsm.app();
    if app.effective_data_quorum().is_none() {
        return app.is_quorate();
    }
    app.view_quorate() && dfsm.mode() == crate::Mode::Synced
}

/// A sync commit frees the whole previous tree and the received rows at once; the C
/// allocator keeps such freed pages resident unless asked to give them back.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Leader selection (§1.12.3): first member, replaced by a later one with a greater
/// version, or an equal version and a greater mtime.
pub fn select_leader(indexes: &[Index]) -> Option<usize> {
    let mut leader: Option<usize> = None;
    for (i, idx) in indexes.iter().enumerate() {
        match leader {
            None => leader = Some(i),
            Some(l) => {
                let cur = &indexes[l];
                if idx.version > cur.version
                    || (idx.version == cur.version && idx.mtime > cur.mtime)
                {
                    leader = Some(i);
                }
            }
        }
    }
    leader
}

impl Application for Dcdb {
    type Event = DcdbEvent;

    fn protocol_version(&self) -> u32 {
        DCDB_PROTOCOL_VERSION
    }

    fn get_state(&mut self, _ctx: &mut Ctx<DcdbEvent>) -> Result<Vec<u8>, AppError> {
        Ok(self.memdb.index().encode())
    }

    fn process_state_update(
        &mut self,
        ctx: &mut Ctx<DcdbEvent>,
        states: &[MemberState<'_>],
    ) -> Result<StateOutcome, AppError> {
        let mut indexes = Vec::with_capacity(states.len());
        for s in states {
            let idx = Index::decode(s.state).map_err(|e| {
                AppError::leave(format!(
                    "received malformed memdb index from {}: {e}",
                    s.member
                ))
            })?;
            indexes.push(idx);
        }
        let leader =
            select_leader(&indexes).ok_or_else(|| AppError::leave("unable to select leader"))?;
        let leader_id = states[leader].member;
        ctx.log(Level::Notice, format!("leader is {leader_id}"));
        let synced: Vec<MemberId> = states
            .iter()
            .enumerate()
            .filter(|(i, s)| *i == leader || s.state == states[leader].state)
            .map(|(_, s)| s.member)
            .collect();
        let names: Vec<String> = synced.iter().map(|m| m.to_string()).collect();
        ctx.log(
            Level::Notice,
            format!("synced members: {}", names.join(", ")),
        );
        let mut outcome = StateOutcome {
            synced,
            ..StateOutcome::default()
        };
        if leader_id == ctx.local() {
            let mut inodes: Vec<u64> = indexes
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != leader)
                .flat_map(|(_, idx)| indexes[leader].missing_in(idx))
                .collect();
            inodes.sort_unstable();
            inodes.dedup();
            // Encoded straight from the tree into one buffer: no copy of the rows.
            let updates: Option<UpdateRecords> = self.memdb.with_tree(|t| {
                let mut records = UpdateRecords::default();
                for inode in &inodes {
                    let row = t.row_ref(*inode)?;
                    records.push_with(|out| encode_update_into(out, row));
                }
                Some(records)
            });
            outcome.updates =
                updates.ok_or_else(|| AppError::leave("cannot get inode data for an update"))?;
            outcome.update_complete = true;
            ctx.log(
                Level::Notice,
                format!("sending {} inode updates", outcome.updates.len()),
            );
        }
        self.sync = Some(SyncInfo {
            leader: indexes.swap_remove(leader),
            received: SyncStage::new(),
        });
        Ok(outcome)
    }

    fn process_update(
        &mut self,
        _ctx: &mut Ctx<DcdbEvent>,
        from: MemberId,
        payload: &[u8],
    ) -> Result<(), AppError> {
        let record = decode_update(payload)
            .map_err(|e| AppError::leave(format!("bad update from {from}: {e}")))?;
        let inode = record.inode;
        let sync = self
            .sync
            .as_mut()
            .ok_or_else(|| AppError::leave("update without sync state"))?;
        sync.received.receive(record).map_err(|e| {
            AppError::leave(format!(
                "invalid update record for inode {inode} from {from}: {e}"
            ))
        })
    }

    fn commit(&mut self, ctx: &mut Ctx<DcdbEvent>) -> Result<(), AppError> {
        let sync = self
            .sync
            .take()
            .ok_or_else(|| AppError::leave("commit without sync state"))?;
        let n = sync.received.len();
        ctx.log(
            Level::Notice,
            format!("update complete - trying to commit (got {n} inode updates)"),
        );
        let SyncInfo { leader, received } = sync;
        let result = self.memdb.apply_sync(&leader, received);
        release_free_memory();
        result.map_err(|e| AppError::fatal(format!("sync commit failed: {e}")))?;
        self.ack.committed();
        if self.trace {
            ctx.emit(DcdbEvent::Committed {
                leader_index: leader.encode(),
            });
        }
        ctx.emit(DcdbEvent::CorosyncConf { notify: false });
        Ok(())
    }

    fn deliver(&mut self, ctx: &mut Ctx<DcdbEvent>, msg: &NormalMsg<'_>) -> Result<i32, AppError> {
        self.deliver_msg(ctx, msg)
    }

    fn view_started(
        &mut self,
        ctx: &mut Ctx<DcdbEvent>,
        members: &[MemberId],
        _left: &[MemberId],
        _joined: &[MemberId],
    ) {
        let mut nodes: Vec<u32> = members.iter().map(|m| m.nodeid).collect();
        nodes.dedup();
        self.view_nodes = nodes.len() as u32;
        self.settle_view(ctx);
    }

    fn cleanup(&mut self) {
        self.sync = None;
    }

    fn supports_verify(&self) -> bool {
        true
    }

    fn checksum(&mut self) -> Result<[u8; 32], AppError> {
        Ok(self.memdb.checksum())
    }

    fn verify_interval(&self) -> Option<u32> {
        Some(VERIFY_INTERVAL)
    }

    fn flush(&mut self, ctx: &mut Ctx<DcdbEvent>) {
        self.send_acks(ctx);
    }

    fn begin_round(&mut self) {
        self.memdb.begin_batch();
    }

    fn end_round(&mut self, _ctx: &mut Ctx<DcdbEvent>) -> Result<(), AppError> {
        self.memdb
            .end_batch()
            .map_err(|_| AppError::fatal("memdb commit of a delivery round failed"))
    }
}
