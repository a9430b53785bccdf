//! Cluster mode: the DCDB replication group over real CPG, quorum, and corosync.conf
//! propagation, around the sans-I/O DFSM machine of the `dfsm` crate.
//!
//! Threads: one dispatch thread per CPG group (never waits for a writer), the quorum tracker,
//! and the FUSE workers, which send their operation and block until it is delivered back.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use dfsm::{Dcdb, DcdbEvent, Effect, MemberId};
use kvstore::{KvStore, NodeInfo};
use memdb::{Memdb, Op};

use crate::daemon::log;
use crate::group::Group;
use crate::pipeline::SentResults;
use crate::propagate::{self, Decision};
use crate::status::Status;
use crate::vfiles::{ClusterMembers, MemberNode};

/// The configuration database group (the NUL is part of the name, as in the C daemon).
pub const DCDB_GROUP: &str = "pve_dcdb_v1\0";
/// The status group: per-node key/values, node IPs, the cluster log.
pub const KVSTORE_GROUP: &str = "pve_kvstore_v1\0";
/// How long a writer waits for its own message to come back before giving up with EBUSY.
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);
/// Least time between two summary-file writes for a version change alone.
const STATE_VERSION_INTERVAL: Duration = Duration::from_millis(200);

/// Paths the cluster service writes outside /etc/pve.
pub struct ClusterPaths {
    /// `/etc/corosync/corosync.conf`.
    pub corosync_conf: PathBuf,
    /// A small JSON summary of the replication state (`/run/pve-cluster/dcdb.json`).
    pub state_file: PathBuf,
}

pub struct ClusterService {
    nodename: String,
    /// Set once this node's directories are known to exist in the cluster tree.
    node_dirs_done: std::sync::atomic::AtomicBool,
    dcdb: Group<Dcdb>,
    kvstore: Group<KvStore>,
    memdb: Arc<Memdb>,
    status: Arc<Status>,
    paths: ClusterPaths,
    /// Last cluster information read from corosync (kept while corosync is down).
    info: Mutex<Option<corosync_client::ClusterInfo>>,
}

impl ClusterService {
    /// Starts replication for `memdb`. `nodename` must be in the cluster's corosync.conf.
    pub fn start(
        memdb: Arc<Memdb>,
        status: Arc<Status>,
        nodename: &str,
        paths: ClusterPaths,
    ) -> Result<Arc<ClusterService>> {
        let nodeid = local_nodeid(&memdb, nodename)?;
        let local = MemberId::new(nodeid, std::process::id());
        let app = Dcdb::new(memdb.clone());
        let service = Arc::new(ClusterService {
            nodename: nodename.to_string(),
            node_dirs_done: std::sync::atomic::AtomicBool::new(false),
            dcdb: Group::new(DCDB_GROUP, "dcdb", app, local),
            kvstore: Group::new(
                KVSTORE_GROUP,
                "status",
                KvStore::new(nodename, &node_ip(nodename)),
                local,
            ),
            memdb,
            status,
            paths,
            info: Mutex::new(None),
        });
        service.status.set_quorate(false);
        service.propagate_corosync_conf(true);
        let quorum = service.clone();
        corosync_client::track_quorum(Duration::from_secs(1), move |event| quorum.on_quorum(event));
        let dispatcher = service.clone();
        thread::Builder::new()
            .name("dcdb".into())
            .spawn(move || dispatcher.dispatch_loop())?;
        let status = service.clone();
        thread::Builder::new()
            .name("kvstore".into())
            .spawn(move || status.kvstore_loop())?;
        Ok(service)
    }

    fn on_quorum(&self, event: corosync_client::QuorumEvent) {
        use corosync_client::QuorumEvent;
        let quorate = match event {
            QuorumEvent::Changed { quorate, .. } => quorate,
            QuorumEvent::Disconnected => false,
            QuorumEvent::Connected => return,
        };
        if quorate != self.status.is_quorate() {
            log(
                "status",
                "notice",
                if quorate {
                    "node has quorum"
                } else {
                    "node lost quorum"
                },
            );
        }
        self.status.set_quorate(quorate);
        self.dcdb.driver.lock().app().set_quorate(quorate);
        self.status.bump_clinfo();
    }

    /// Sends `op` to the cluster and waits until it was applied here (in agreed order).
    /// Errors are errno values: EACCES without quorum, EBUSY if the result never came back.
    pub fn write(&self, op: &Op) -> Result<u64, i32> {
        if !dfsm::dcdb::may_write(&self.dcdb.driver.lock()) {
            return Err(libc::EACCES);
        }
        let (subtype, payload) = dfsm::dcdb::op_to_message(op);
        match self.dcdb.driver.send_and_wait(
            subtype.code(),
            &payload,
            memdb::unix_now(),
            WRITE_TIMEOUT,
        ) {
            Ok(result) if result >= 0 => Ok(result as u64),
            Ok(result) => Err(-result),
            Err(_) => Err(libc::EBUSY),
        }
    }

    /// Sends `op` to the cluster without waiting for it; returns the message counter whose
    /// result [`SentResults`] gives (and must finally discard).
    pub fn send(&self, op: &Op) -> Result<u64, i32> {
        if !dfsm::dcdb::may_write(&self.dcdb.driver.lock()) {
            return Err(libc::EACCES);
        }
        let (subtype, payload) = dfsm::dcdb::op_to_message(op);
        self.dcdb
            .driver
            .send(subtype.code(), &payload, memdb::unix_now())
            .map_err(|_| libc::EBUSY)
    }

    /// Creates `nodes/<this node>/{qemu-server,lxc,openvz,priv}` and `priv/lock` in the
    /// cluster tree once writes are possible (what `pvecm updatecerts` does on Proxmox VE).
    /// Runs on its own thread: a write blocks until the cluster delivered it.
    fn ensure_node_dirs(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if self.node_dirs_done.swap(true, Ordering::SeqCst) {
            return;
        }
        let service = self.clone();
        thread::spawn(move || {
            let done = crate::daemon::node_dirs(&service.nodename)
                .into_iter()
                .all(|path| {
                    service.memdb.lookup(&path).is_some()
                        || matches!(
                            service.write(&Op::Mkdir { path }),
                            Ok(_) | Err(libc::EEXIST)
                        )
                });
            if !done {
                service.node_dirs_done.store(false, Ordering::SeqCst);
            }
        });
    }

    /// `utime(path, 0, 0)` on a lock directory: ask the lowest node to check it for expiry.
    pub fn request_unlock(&self, path: &str) {
        let Some(csum) = self.memdb.with_tree(|t| t.entry_checksum(path)) else {
            return;
        };
        let record = dfsm::codec::UnlockRecord {
            csum,
            path: path.to_string(),
        };
        let subtype = dfsm::codec::DcdbSubtype::UnlockRequest.code();
        self.dcdb.send(subtype, &record.encode());
    }

    /// Logs to the cluster log: inserted here, then sent to every node.
    pub fn log(&self, ident: &str, tag: &str, priority: u8, msg: &str) {
        let now = memdb::unix_now();
        let out = self.kvstore.driver.lock().app_mut().log(
            ident,
            tag,
            std::process::id(),
            priority,
            msg,
            now,
        );
        if let Some(out) = out {
            self.kvstore.send(out.subtype, &out.payload);
        }
    }

    /// `.clusterlog`: the merged cluster log, newest first.
    pub fn clusterlog_text(&self) -> String {
        self.kvstore.driver.lock().app().clusterlog_json(0, "")
    }

    /// The kvstore part of `.version`.
    pub fn version_block(&self) -> String {
        self.kvstore.driver.lock().app().version_block()
    }

    /// `.rrd`: the RRD samples of the last five minutes.
    pub fn rrd_text(&self) -> String {
        let now = memdb::unix_now();
        self.kvstore
            .driver
            .lock()
            .app_mut()
            .tables_mut()
            .rrd_dump(now)
    }

    fn kvstore_loop(self: Arc<Self>) {
        let mut known_nodes = Vec::new();
        self.kvstore.run(
            |effect| match effect {
                Effect::Log { level, message } => {
                    log("status", &format!("{level:?}").to_lowercase(), &message)
                }
                Effect::ModeChanged { from, to } => {
                    log("status", "info", &format!("mode {from:?} -> {to:?}"))
                }
                Effect::App(event) => log("status", "debug", &format!("{event:?}")),
                Effect::Leave => {}
            },
            || {
                // The node list (names, ids) comes from corosync's configuration.
                let Some(info) = self.info.lock().unwrap().clone() else {
                    return;
                };
                let nodes: Vec<NodeInfo> = info
                    .nodes
                    .iter()
                    .map(|n| NodeInfo {
                        nodeid: n.id,
                        name: n.name.clone(),
                        votes: n.votes,
                    })
                    .collect();
                if nodes != known_nodes {
                    self.kvstore.driver.lock().app_mut().set_nodes(&nodes);
                    known_nodes = nodes;
                }
            },
        );
    }

    /// Re-reads the cluster information from corosync (kept as it was if corosync is down).
    fn refresh_cluster_info(&self) {
        if let Ok(info) = corosync_client::cluster_info() {
            let mut cached = self.info.lock().unwrap();
            if cached.as_ref() != Some(&info) {
                *cached = Some(info);
                self.status.bump_clinfo();
            }
        }
    }

    /// `.members` with the cluster's nodes, their online state (DCDB membership) and IPs.
    pub fn members_text(&self) -> String {
        self.refresh_cluster_info();
        let Some(info) = self.info.lock().unwrap().clone() else {
            return self.status.members_text();
        };
        let online: Vec<u32> = self
            .dcdb
            .driver
            .lock()
            .members()
            .iter()
            .map(|m| m.nodeid)
            .collect();
        let cluster = ClusterMembers {
            name: info.name.clone(),
            config_version: info.config_version,
            quorate: self.status.is_quorate(),
            nodes: info
                .nodes
                .iter()
                .map(|n| MemberNode {
                    name: n.name.clone(),
                    id: n.id,
                    online: online.contains(&n.id),
                    ip: info.ips.get(&n.id).cloned(),
                })
                .collect(),
        };
        self.status.members_cluster_text(&cluster)
    }

    fn dispatch_loop(self: Arc<Self>) {
        let mut state_file = StateFile::default();
        self.dcdb.run(
            |effect| self.apply_effect(effect),
            || {
                self.write_state_file(&mut state_file);
                let writable = {
                    let machine = self.dcdb.driver.lock();
                    machine.mode() == dfsm::Mode::Synced && dfsm::dcdb::may_write(&machine)
                };
                if writable {
                    self.ensure_node_dirs();
                }
            },
        );
    }

    fn apply_effect(&self, effect: Effect<DcdbEvent>) {
        match effect {
            Effect::Leave => {}
            Effect::ModeChanged { from, to } => {
                log("dcdb", "info", &format!("mode {from:?} -> {to:?}"));
                if to == dfsm::Mode::Synced {
                    self.status.reload_counters();
                }
            }
            Effect::Log { level, message } => {
                log("dcdb", &format!("{level:?}").to_lowercase(), &message)
            }
            Effect::App(DcdbEvent::CorosyncConf { notify }) => self.propagate_corosync_conf(notify),
            Effect::App(other) => log("dcdb", "debug", &format!("{other:?}")),
        }
    }

    /// Copies corosync.conf from the memdb to /etc/corosync (in the background: asking
    /// corosync to reload waits a second first, as the original does).
    fn propagate_corosync_conf(&self, notify: bool) {
        let Ok(text) = self
            .memdb
            .read("corosync.conf", 0, memdb::MAX_FILE_SIZE as usize)
        else {
            return;
        };
        let text = String::from_utf8_lossy(&text).into_owned();
        if text.is_empty() {
            return;
        }
        let target = self.paths.corosync_conf.clone();
        thread::spawn(move || match propagate::propagate(&text, &target) {
            Ok(Decision::Write { version, had_local }) => {
                log(
                    "dcdb",
                    "notice",
                    &format!(
                        "wrote new corosync config '{}' (version = {version})",
                        target.display()
                    ),
                );
                if notify && had_local {
                    thread::sleep(Duration::from_secs(1));
                    if let Err(e) = corosync_client::reload_config() {
                        log("dcdb", "crit", &format!("corosync-cfgtool -R failed: {e}"));
                    }
                }
            }
            Ok(Decision::LocalIsNewer { .. }) => {
                log("dcdb", "crit", "local corosync.conf is newer")
            }
            Ok(Decision::NoVersion) => {
                log("dcdb", "crit", "unable to parse cluster config_version")
            }
            Ok(Decision::Unchanged) => {}
            Err(e) => log(
                "dcdb",
                "crit",
                &format!("cannot write {}: {e}", target.display()),
            ),
        });
    }

    /// Writes the replication summary when it changed. A change of the version alone is
    /// written at most every [`STATE_VERSION_INTERVAL`]: this runs on the dispatch thread
    /// after every delivery round, and a file write per round delays the next delivery.
    fn write_state_file(&self, last: &mut StateFile) {
        let (mode, members) = {
            let machine = self.dcdb.driver.lock();
            (machine.mode(), machine.members())
        };
        let members: Vec<String> = members
            .iter()
            .map(|m| format!("[{},{}]", m.nodeid, m.pid))
            .collect();
        let shape = format!(
            "\"mode\":\"{}\",\"members\":[{}]",
            format!("{mode:?}").to_lowercase(),
            members.join(","),
        );
        let (version, quorate) = (self.memdb.version(), self.status.is_quorate());
        let stale = last
            .written
            .is_none_or(|at| at.elapsed() >= STATE_VERSION_INTERVAL);
        if shape == last.shape && quorate == last.quorate && (version == last.version || !stale) {
            return;
        }
        let state = format!("{{{shape},\"version\":{version},\"quorate\":{quorate}}}\n");
        let _ = propagate::write_atomically(&self.paths.state_file, &state);
        *last = StateFile {
            shape,
            version,
            quorate,
            written: Some(std::time::Instant::now()),
        };
    }
}

impl SentResults for ClusterService {
    fn wait_sent(&self, count: u64) -> Option<Result<u64, i32>> {
        let outcome = self
            .dcdb
            .driver
            .waiters()
            .wait_filled(count, WRITE_TIMEOUT)?;
        Some(match outcome {
            Ok(result) if result >= 0 => Ok(result as u64),
            Ok(result) => Err(-result),
            Err(_) => Err(libc::EBUSY),
        })
    }

    fn discard_sent(&self, count: u64) {
        self.dcdb.driver.waiters().discard(count);
    }
}

/// What the replication summary file last said, and when it was written.
#[derive(Default)]
struct StateFile {
    shape: String,
    version: u64,
    quorate: bool,
    written: Option<std::time::Instant>,
}

/// This node's address as its name resolves (what the original announces as `nodeip`).
fn node_ip(nodename: &str) -> String {
    use std::net::ToSocketAddrs;
    (nodename, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.find(|a| !a.ip().is_loopback()))
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

/// This node's id: the `nodeid` of the nodelist entry named like this host.
fn local_nodeid(memdb: &Memdb, nodename: &str) -> Result<u32> {
    let text = memdb
        .read("corosync.conf", 0, memdb::MAX_FILE_SIZE as usize)
        .map_err(|e| anyhow::anyhow!("cannot read corosync.conf from the database: {e}"))?;
    let conf = corosync_conf::Config::parse(&String::from_utf8_lossy(&text))
        .context("corosync.conf in the database does not parse")?;
    match conf
        .view()
        .nodes
        .iter()
        .find(|n| n.name.as_deref() == Some(nodename))
        .and_then(|n| n.nodeid)
    {
        Some(id) => Ok(id),
        None => bail!("this node ({nodename}) is not in the cluster's corosync.conf nodelist"),
    }
}
