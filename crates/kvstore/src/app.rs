//! [`KvStore`]: the KVSTORE application (§1.13) on top of [`dfsm::Application`], plus the
//! local API the daemon calls (IPC status writes, cluster logging, `.members`,
//! `.version` and `.clusterlog` data).
//!
//! The daemon keeps one `Dfsm<KvStore>` (group [`dfsm::codec::KVSTORE_GROUP`]) behind a
//! mutex. Local changes are applied first and then multicast fire-and-forget:
//! `let out = dfsm.app_mut().set_local(..)?; dfsm.send_normal(out.subtype, &out.payload,
//! now)` — only when the CPG connection is up, never waiting for the count.

use std::collections::BTreeMap;

use dfsm::{AppError, Application, Ctx, Level, MemberId, MemberState, NormalMsg, StateOutcome};

use crate::clusterlog::{ClusterLog, Entry, Ring, Source, DUMP_ENTRIES};
use crate::kv::{decode_update, encode_update, Applied, NodeInfo, Tables};

/// NORMAL subtype: a key/value update (256-byte key field + value).
pub const MSG_UPDATE: u16 = 1;
/// NORMAL subtype defined by the original but never sent (treated as unknown).
pub const MSG_UPDATE_COMPLETE: u16 = 2;
/// NORMAL subtype: one cluster-log entry.
pub const MSG_LOG: u16 = 3;

/// A NORMAL message for the daemon to multicast (`Dfsm::send_normal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// [`MSG_UPDATE`] or [`MSG_LOG`].
    pub subtype: u16,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Events for the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvEvent {
    /// A remote node sent an RRD sample: write it to its RRD file. (For local `rrd/`
    /// keys the daemon does that itself when [`KvStore::set_local`] succeeds.)
    Rrd {
        /// Key without `rrd/`.
        key: String,
        /// The sample, NUL-terminated.
        data: Vec<u8>,
    },
}

/// The KVSTORE application state of one daemon.
#[derive(Debug, Clone)]
pub struct KvStore {
    tables: Tables,
    log: ClusterLog,
    ip: String,
}

impl KvStore {
    /// The store of node `nodename`; `ip` is the address resolved at start-up, broadcast
    /// as `nodeip` unless a value was set locally. (The daemon logs "starting cluster log"
    /// itself, see [`KvStore::log`].)
    pub fn new(nodename: &str, ip: &str) -> KvStore {
        KvStore {
            tables: Tables::new(nodename),
            log: ClusterLog::new(),
            ip: ip.to_string(),
        }
    }

    /// The key/value, IP and node tables.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The tables, mutable (e.g. [`Tables::bump_clinfo_version`]).
    pub fn tables_mut(&mut self) -> &mut Tables {
        &mut self.tables
    }

    /// The cluster log.
    pub fn clusterlog(&self) -> &ClusterLog {
        &self.log
    }

    /// The node list changed (cmap): see [`Tables::set_nodes`].
    pub fn set_nodes(&mut self, nodes: &[NodeInfo]) {
        self.tables.set_nodes(nodes);
    }

    /// Sets a status key of this node (IPC op 4) and returns the UPDATE to multicast.
    /// Errors as [`Tables::set_local`] (nothing is sent then).
    pub fn set_local(&mut self, key: &str, value: &[u8], now: u32) -> Result<Outgoing, i32> {
        self.tables.set_local(key, value, now)?;
        let payload = encode_update(key, value).ok_or(-libc::EINVAL)?;
        Ok(Outgoing {
            subtype: MSG_UPDATE,
            payload,
        })
    }

    /// Logs a cluster-log message of this node (IPC op 7, or internal): inserts it and
    /// returns the LOG message to multicast; `None` if `priority >= 8`.
    pub fn log(
        &mut self,
        ident: &str,
        tag: &str,
        pid: u32,
        priority: u8,
        msg: &str,
        now: u32,
    ) -> Option<Outgoing> {
        let source = Source {
            node: self.tables.nodename(),
            ident,
            tag,
            pid,
        };
        let entry = self.log.log(&source, now, priority, msg)?;
        Some(Outgoing {
            subtype: MSG_LOG,
            payload: entry.encode(),
        })
    }

    /// Whether node `nodeid` is in the KVSTORE group (`.members` "online").
    pub fn online(&self, nodeid: u32) -> bool {
        self.tables.online(nodeid)
    }

    /// Node IPs by node name (`.members` "ip").
    pub fn node_ips(&self) -> &BTreeMap<String, String> {
        self.tables.node_ips()
    }

    /// The cluster-log JSON (IPC op 8, `.clusterlog`): `max == 0` means 50; `user`
    /// filters by ident (empty: no filter).
    pub fn clusterlog_json(&self, max: usize, user: &str) -> String {
        let max = if max == 0 { DUMP_ENTRIES } else { max };
        self.log.dump_json_for(max, user)
    }

    /// The `.version` kvstore block (see [`crate::kv::render_version_block`]).
    pub fn version_block(&self) -> String {
        self.tables.version_block()
    }

    fn deliver_update(&mut self, ctx: &mut Ctx<KvEvent>, msg: &NormalMsg<'_>) {
        let (key, value) = match decode_update(msg.payload) {
            Ok(kv) => kv,
            Err(e) => return ctx.log(Level::Critical, format!("cant parse update message: {e}")),
        };
        let nodeid = msg.from.nodeid;
        match self.tables.set_remote(nodeid, key, value, ctx.now()) {
            Some(Applied::Rrd { key }) => ctx.emit(KvEvent::Rrd {
                key,
                data: value.to_vec(),
            }),
            Some(_) => ctx.log(
                Level::Debug,
                format!("got node {nodeid} status update {key}"),
            ),
            None => ctx.log(
                Level::Debug,
                format!("ignore status update {key} from node {nodeid}"),
            ),
        }
    }

    fn deliver_log(&mut self, ctx: &mut Ctx<KvEvent>, payload: &[u8]) {
        match Entry::decode_message(payload) {
            Ok(entry) => {
                if !self.log.insert(&entry) {
                    ctx.log(Level::Notice, "ignore insert of duplicate cluster log");
                }
            }
            Err(e) => ctx.log(Level::Critical, format!("cant parse log message: {e}")),
        }
    }
}

impl Application for KvStore {
    type Event = KvEvent;

    fn protocol_version(&self) -> u32 {
        dfsm::codec::KVSTORE_PROTOCOL_VERSION
    }

    fn get_state(&mut self, _ctx: &mut Ctx<KvEvent>) -> Result<Vec<u8>, AppError> {
        Ok(self.log.get_state())
    }

    fn process_state_update(
        &mut self,
        ctx: &mut Ctx<KvEvent>,
        states: &[MemberState<'_>],
    ) -> Result<StateOutcome, AppError> {
        let rings: Vec<Option<Ring>> = states
            .iter()
            .map(|s| match Ring::from_state(s.state) {
                Ok(ring) => Some(ring),
                Err(_) => {
                    let msg = format!("received log with wrong size {}", s.state.len());
                    ctx.log(Level::Critical, msg);
                    None
                }
            })
            .collect();
        let refs: Vec<Option<&Ring>> = rings.iter().map(Option::as_ref).collect();
        let local = states.iter().position(|s| s.member == ctx.local());
        if !local.is_some_and(|i| self.log.merge(&refs, i)) {
            ctx.log(Level::Critical, "unable to merge log files");
        }
        for (key, entry) in self.tables.local().iter() {
            if let Some(payload) = encode_update(key, &entry.value) {
                ctx.send(MSG_UPDATE, payload);
            }
        }
        Ok(StateOutcome {
            synced: states.iter().map(|s| s.member).collect(),
            updates: Default::default(),
            update_complete: false,
        })
    }

    fn process_update(
        &mut self,
        _ctx: &mut Ctx<KvEvent>,
        _from: MemberId,
        _payload: &[u8],
    ) -> Result<(), AppError> {
        Err(AppError::leave("received unexpected update message"))
    }

    fn commit(&mut self, _ctx: &mut Ctx<KvEvent>) -> Result<(), AppError> {
        Err(AppError::leave(
            "received unexpected update complete message",
        ))
    }

    fn deliver(&mut self, ctx: &mut Ctx<KvEvent>, msg: &NormalMsg<'_>) -> Result<i32, AppError> {
        if msg.from == ctx.local() {
            return Ok(0);
        }
        match msg.subtype {
            MSG_UPDATE => self.deliver_update(ctx, msg),
            MSG_LOG => {
                ctx.log(Level::Debug, "received log");
                self.deliver_log(ctx, msg.payload);
            }
            other => {
                ctx.log(
                    Level::Critical,
                    format!("received unknown message type {other}"),
                );
                return Ok(-libc::EACCES);
            }
        }
        Ok(0)
    }

    fn confchg(&mut self, _ctx: &mut Ctx<KvEvent>, members: &[MemberId]) {
        let ids: Vec<u32> = members.iter().map(|m| m.nodeid).collect();
        self.tables.set_online(&ids);
    }

    fn synced(&mut self, ctx: &mut Ctx<KvEvent>) {
        let name = self.tables.nodename();
        let ip = self.tables.node_ips().get(name).unwrap_or(&self.ip).clone();
        let mut value = ip.into_bytes();
        value.push(0);
        match self.set_local("nodeip", &value, ctx.now()) {
            Ok(out) => ctx.send(out.subtype, out.payload),
            Err(e) => ctx.log(
                Level::Critical,
                format!("cannot broadcast node IP (error {e})"),
            ),
        }
    }
}
