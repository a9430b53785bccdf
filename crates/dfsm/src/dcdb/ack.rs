//! Optional quorum acknowledgement ([`AckPolicy::Quorum`]), wire-compatible with C nodes.
//!
//! The original answers a writer as soon as it delivers its own message (AGREED order).
//! A write delivered only inside a component that is cut off right afterwards can then be
//! lost when the components merge: the sync leader is chosen by version, not by quorum.
//! With this policy (two phases, all messages are C no-ops):
//!
//! 1. every node acknowledges each write it applied ("applied" entries) with an
//!    UNLOCK_REQUEST whose checksum is [`ACK_MAGIC`] and whose path
//!    ([`ACK_PATH_PREFIX`]`a:<nodeid>.<pid>.<count>,k:...`) can never exist (it contains a
//!    `..` component), so every node's lookup fails and nothing happens;
//! 2. a node *knows a write is confirmed* once `quorum` distinct node ids (itself included)
//!    applied it (in apply order), and then says so in its next acknowledgement ("known"
//!    entries); it never undoes a write it knows confirmed;
//! 3. a local writer is answered once `quorum` nodes know its write is confirmed, so no
//!    quorum can form whose every member might still undo it;
//! 4. at a configuration change, local writers not answered yet are aborted (`EBUSY`:
//!    outcome unknown), and if the new view is not quorate (votequorum and, see
//!    [`Dcdb::set_data_quorum`], at least `quorum` nodes in the DFSM view) every write
//!    of the previous view not known confirmed is undone: the tree goes back to the
//!    snapshot taken before the first of them, so a minority never keeps a version that
//!    could win the leader election against the quorate lineage;
//! 5. that snapshot is also kept in an [`UndoStore`] so a node that crashed can undo the
//!    same writes before it rejoins ([`Dcdb::recover_undo`]).
//!
//! Every node of the cluster must run the policy (C nodes never acknowledge and never
//! undo). See the crate README for the analysis and the measured cost.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use memdb::{Memdb, SyncStage, Tree};

use super::{Dcdb, DcdbEvent};
use crate::app::{Ctx, MemberId, NormalMsg};
use crate::codec::{DcdbSubtype, UnlockRecord};
use crate::machine::Level;

/// The checksum field that marks an acknowledgement.
pub const ACK_MAGIC: [u8; 32] = *b"quorate-dfsm-ack-v1\0\0\0\0\0\0\0\0\0\0\0\0\0";
/// Path prefix of acknowledgements (never exists: `..` cannot be created).
pub const ACK_PATH_PREFIX: &str = "priv/lock/../quorate-ack/";
/// Write ids per acknowledgement message.
const IDS_PER_ACK: usize = 64;
/// Bound on remembered acknowledgements for writes not applied (yet).
const MAX_EARLY: usize = 4096;

/// When a local writer is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckPolicy {
    /// As C: when the writer delivers its own message.
    #[default]
    Immediate,
    /// When `quorum` distinct nodes applied the write (votequorum's `quorum` value for
    /// one vote per node); unconfirmed writes are undone when quorum is lost.
    Quorum {
        /// Nodes needed.
        quorum: u32,
    },
}

/// Where the snapshot before the first unconfirmed write is kept across a crash.
pub type UndoStore = Arc<Mutex<Option<Arc<Tree>>>>;

type WriteId = (MemberId, u64);

struct Pending {
    id: WriteId,
    applied: BTreeSet<u32>,
    known: BTreeSet<u32>,
    confirmed: bool,
    own_result: Option<i32>,
    before: Option<Arc<Tree>>,
}

/// One entry of an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckEntry {
    /// The sender applied this write.
    Applied(MemberId, u64),
    /// The sender knows this write is confirmed (applied by a quorum).
    Known(MemberId, u64),
}

#[derive(Default)]
pub(super) struct AckState {
    pub(super) policy: AckPolicy,
    pending: VecDeque<Pending>,
    to_ack: Vec<AckEntry>,
    early: HashMap<AckEntry, BTreeSet<u32>>,
    undo: Option<UndoStore>,
}

impl AckState {
    fn quorum(&self) -> Option<usize> {
        match self.policy {
            AckPolicy::Immediate => None,
            AckPolicy::Quorum { quorum } => Some(quorum as usize),
        }
    }

    /// Snapshot to take before applying a write (only with the quorum policy).
    pub(super) fn before_write(&self, memdb: &Memdb) -> Option<Arc<Tree>> {
        self.quorum()?;
        Some(Arc::new(memdb.with_tree(Tree::clone)))
    }

    /// Records a write we just applied; defers our own writer's answer.
    pub(super) fn after_write(
        &mut self,
        ctx: &mut Ctx<DcdbEvent>,
        memdb: &Memdb,
        msg: &NormalMsg<'_>,
        own: bool,
        result: i32,
        before: Option<Arc<Tree>>,
    ) {
        let Some(before) = before else { return };
        let changed = before.version() != memdb.version();
        let id = (msg.from, msg.count);
        let mut applied = self
            .early
            .remove(&AckEntry::Applied(id.0, id.1))
            .unwrap_or_default();
        applied.insert(ctx.local().nodeid);
        let known = self
            .early
            .remove(&AckEntry::Known(id.0, id.1))
            .unwrap_or_default();
        self.pending.push_back(Pending {
            id,
            applied,
            known,
            confirmed: false,
            own_result: own.then_some(result),
            before: changed.then_some(before),
        });
        if own {
            ctx.defer_completion();
        }
        self.to_ack.push(AckEntry::Applied(id.0, id.1));
        self.advance(ctx);
        self.store_undo();
    }

    /// Confirms writes in apply order, answers writers, drops settled entries.
    fn advance(&mut self, ctx: &mut Ctx<DcdbEvent>) {
        let Some(quorum) = self.quorum() else { return };
        let me = ctx.local().nodeid;
        for p in self.pending.iter_mut() {
            if !p.confirmed {
                if p.applied.len() < quorum {
                    break;
                }
                p.confirmed = true;
                p.known.insert(me);
                self.to_ack.push(AckEntry::Known(p.id.0, p.id.1));
            }
        }
        while self
            .pending
            .front()
            .is_some_and(|p| p.confirmed && p.known.len() >= quorum)
        {
            let p = self.pending.pop_front().expect("front exists");
            if let Some(result) = p.own_result {
                ctx.complete(p.id.1, result);
            }
        }
    }

    /// The state to return to if quorum is lost: before the first write not known
    /// confirmed.
    fn undo_point(&self) -> Option<Arc<Tree>> {
        self.pending
            .iter()
            .filter(|p| !p.confirmed)
            .find_map(|p| p.before.clone())
    }

    fn store_undo(&self) {
        if let Some(store) = &self.undo {
            *store.lock().unwrap_or_else(|e| e.into_inner()) = self.undo_point();
        }
    }

    /// A sync commit replaced the tree: nothing of the old view is pending any more.
    pub(super) fn committed(&mut self) {
        self.pending.clear();
        self.to_ack.clear();
        self.early.clear();
        self.store_undo();
    }
}

/// Encodes an acknowledgement record.
pub fn encode_ack(entries: &[AckEntry]) -> UnlockRecord {
    let list: Vec<String> = entries
        .iter()
        .map(|e| match e {
            AckEntry::Applied(m, c) => format!("a:{}.{}.{}", m.nodeid, m.pid, c),
            AckEntry::Known(m, c) => format!("k:{}.{}.{}", m.nodeid, m.pid, c),
        })
        .collect();
    UnlockRecord {
        csum: ACK_MAGIC,
        path: format!("{ACK_PATH_PREFIX}{}", list.join(",")),
    }
}

/// The entries of an acknowledgement record, or `None` if it is a real unlock request.
pub fn parse_ack(rec: &UnlockRecord) -> Option<Vec<AckEntry>> {
    if rec.csum != ACK_MAGIC {
        return None;
    }
    let list = rec.path.strip_prefix(ACK_PATH_PREFIX)?;
    list.split(',')
        .map(|item| {
            let (known, item) = match item.split_once(':')? {
                ("a", rest) => (false, rest),
                ("k", rest) => (true, rest),
                _ => return None,
            };
            let mut it = item.split('.').map(str::parse::<u64>);
            let (Some(Ok(n)), Some(Ok(p)), Some(Ok(c)), None) =
                (it.next(), it.next(), it.next(), it.next())
            else {
                return None;
            };
            let m = MemberId::new(u32::try_from(n).ok()?, u32::try_from(p).ok()?);
            Some(if known {
                AckEntry::Known(m, c)
            } else {
                AckEntry::Applied(m, c)
            })
        })
        .collect()
}

impl Dcdb {
    /// Keeps the undo snapshot in `store` (persist it to survive a crash).
    /// Call [`Dcdb::recover_undo`] afterwards, before the node joins.
    pub fn set_undo_store(&mut self, store: UndoStore) {
        self.ack.undo = Some(store);
    }

    /// Start-up after a crash: undoes writes that were unconfirmed when the process died
    /// (the snapshot left in the undo store). Returns the version rolled back to.
    pub fn recover_undo(&mut self) -> Option<u64> {
        let store = self.ack.undo.clone()?;
        let snap = store.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        self.rollback(&snap).ok()
    }

    fn rollback(&self, snap: &Tree) -> Result<u64, memdb::SyncError> {
        let mut rows = SyncStage::new();
        for row in snap.to_rows() {
            rows.receive(row)?;
        }
        self.memdb.apply_sync(&snap.index(), rows)?;
        Ok(self.memdb.version())
    }

    pub(super) fn ack_received(
        &mut self,
        ctx: &mut Ctx<DcdbEvent>,
        from: MemberId,
        entries: &[AckEntry],
    ) {
        if self.ack.quorum().is_none() {
            return;
        }
        for entry in entries {
            let (AckEntry::Applied(m, c) | AckEntry::Known(m, c)) = *entry;
            match self.ack.pending.iter_mut().find(|p| p.id == (m, c)) {
                Some(p) => {
                    let set = match entry {
                        AckEntry::Applied(..) => &mut p.applied,
                        AckEntry::Known(..) => &mut p.known,
                    };
                    set.insert(from.nodeid);
                }
                None => {
                    if self.ack.early.len() >= MAX_EARLY {
                        self.ack.early.clear();
                    }
                    self.ack
                        .early
                        .entry(*entry)
                        .or_default()
                        .insert(from.nodeid);
                }
            }
        }
        self.ack.advance(ctx);
        self.ack.store_undo();
    }

    /// Multicasts acknowledgements for the writes applied since the last flush.
    pub(super) fn send_acks(&mut self, ctx: &mut Ctx<DcdbEvent>) {
        let ids = std::mem::take(&mut self.ack.to_ack);
        if ids.is_empty() || self.ack.quorum().is_none() || !self.is_quorate() {
            return;
        }
        for chunk in ids.chunks(IDS_PER_ACK) {
            ctx.send(
                DcdbSubtype::UnlockRequest.code(),
                encode_ack(chunk).encode(),
            );
        }
    }

    /// Configuration change: abort unconfirmed local writers; without quorum, undo the
    /// unconfirmed writes of the previous view.
    pub(super) fn settle_view(&mut self, ctx: &mut Ctx<DcdbEvent>) {
        let pending = std::mem::take(&mut self.ack.pending);
        self.ack.to_ack.clear();
        self.ack.early.clear();
        for p in &pending {
            if p.own_result.is_some() {
                ctx.abort(p.id.1);
            }
        }
        let first = pending
            .iter()
            .filter(|p| !p.confirmed)
            .find_map(|p| p.before.clone());
        if let (Some(snap), false) = (first, self.view_quorate()) {
            match self.rollback(&snap) {
                Ok(version) => {
                    let msg =
                        format!("quorum lost: undid unconfirmed writes, back at version {version}");
                    ctx.log(Level::Warning, msg);
                    ctx.emit(DcdbEvent::RolledBack { version });
                }
                Err(e) => ctx.log(Level::Critical, format!("rollback failed: {e}")),
            }
        }
        self.ack.store_undo();
    }
}
