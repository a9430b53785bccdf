//! The KVSTORE DFSM application of pmxcfs (group `pve_kvstore_v1`, protocol 0): per-node
//! key/value status, node IPs, and the cluster log with its ring-buffer wire format and
//! merge.
//!
//! * [`clusterlog`]: cluster-log entries, the `clog_base_t` ring buffer (the STATE blob),
//!   dedup, sort, merge on sync and the `.clusterlog` JSON dump.
//! * [`kv`]: per-node key/value tables, node IPs, RRD samples, the `.version` block.
//! * [`app`]: [`KvStore`], the [`dfsm::Application`] plus the daemon's local API.
//!
//! Not for: CPG I/O (the daemon drives the [`dfsm::Dfsm`] machine), RRD files.

pub mod app;
pub mod clusterlog;
pub mod kv;

pub use app::{KvEvent, KvStore, Outgoing, MSG_LOG, MSG_UPDATE, MSG_UPDATE_COMPLETE};
pub use clusterlog::{ClusterLog, Entry, Ring, Source, DUMP_ENTRIES};
pub use kv::{render_version_block, NodeInfo, Tables};
