//! Node-local runtime state shown through the virtual files: who we are, quorum, start time,
//! change counters, the debug switch and the cluster log.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use kvstore::clusterlog::{ClusterLog, Source, DUMP_ENTRIES};

use crate::vfiles::{self, TRACKED_PATHS};

pub struct Status {
    pub nodename: String,
    pub start_time: u64,
    quorate: AtomicBool,
    debug: AtomicBool,
    clinfo_version: AtomicU64,
    counters: Mutex<[u32; TRACKED_PATHS.len()]>,
    clusterlog: Mutex<ClusterLog>,
}

impl Status {
    pub fn new(nodename: &str, start_time: u64, quorate: bool) -> Status {
        Status {
            nodename: nodename.to_string(),
            start_time,
            quorate: AtomicBool::new(quorate),
            debug: AtomicBool::new(false),
            clinfo_version: AtomicU64::new(0),
            counters: Mutex::new([0; TRACKED_PATHS.len()]),
            clusterlog: Mutex::new(ClusterLog::default()),
        }
    }

    pub fn is_quorate(&self) -> bool {
        self.quorate.load(Ordering::SeqCst)
    }

    pub fn set_quorate(&self, quorate: bool) {
        self.quorate.store(quorate, Ordering::SeqCst);
    }

    pub fn debug(&self) -> bool {
        self.debug.load(Ordering::SeqCst)
    }

    pub fn set_debug(&self, on: bool) {
        self.debug.store(on, Ordering::SeqCst);
        crate::daemon::set_debug_log(on);
    }

    /// Counts a change of `path` if `.version` tracks it.
    pub fn path_changed(&self, path: &str) {
        if let Some(i) = TRACKED_PATHS.iter().position(|p| *p == path) {
            let mut counters = self.counters.lock().unwrap();
            counters[i] = counters[i].wrapping_add(1);
        }
    }

    pub fn log(&self, ident: &str, tag: &str, priority: u8, msg: &str) {
        let source = Source {
            node: &self.nodename,
            ident,
            tag,
            pid: std::process::id(),
        };
        self.clusterlog
            .lock()
            .unwrap()
            .log(&source, memdb::unix_now(), priority, msg);
    }

    /// Counts a change of the cluster information (`clinfo` in `.version`).
    pub fn bump_clinfo(&self) {
        self.clinfo_version.fetch_add(1, Ordering::SeqCst);
    }

    /// A reload of the whole tree (sync commit): every change counter moves.
    pub fn reload_counters(&self) {
        for counter in self.counters.lock().unwrap().iter_mut() {
            *counter = counter.wrapping_add(1);
        }
    }

    pub fn members_cluster_text(&self, cluster: &vfiles::ClusterMembers) -> String {
        vfiles::members_cluster(
            &self.nodename,
            self.clinfo_version.load(Ordering::SeqCst),
            cluster,
        )
    }

    pub fn members_text(&self) -> String {
        vfiles::members_local(&self.nodename, self.clinfo_version.load(Ordering::SeqCst))
    }

    /// `.version`; `kvstore_block` is the kv store's part (local mode: no keys).
    pub fn version_text(&self, vmlist_version: u64, kvstore_block: Option<String>) -> String {
        let counters = *self.counters.lock().unwrap();
        let block = kvstore_block
            .unwrap_or_else(|| kvstore::render_version_block(&self.nodename, &[], &[]));
        vfiles::version(&vfiles::VersionInfo {
            start_time: self.start_time,
            clinfo_version: self.clinfo_version.load(Ordering::SeqCst),
            vmlist_version,
            counters: &counters,
            kvstore_block: &block,
        })
    }

    pub fn clusterlog_text(&self) -> String {
        self.clusterlog.lock().unwrap().dump_json(DUMP_ENTRIES)
    }
}
