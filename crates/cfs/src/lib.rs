//! The `pmxcfs` daemon: the `/etc/pve` cluster configuration file system.
//!
//! It serves the memdb (crate `memdb`) through FUSE with the original layout and semantics:
//! node symlinks, virtual status files, path-based permissions, the quorum rule and cluster
//! locks. This build runs in local mode (one node, always quorate); replication over
//! Corosync is layered on top of the same operations.
//!
//! Not for: the tree semantics themselves (that is `memdb`) or cluster management (`pvecm`).

pub mod clusterlog;
pub mod cpg;
pub mod daemon;
pub mod fs;
pub mod namespace;
pub mod propagate;
pub mod status;
pub mod vfiles;
