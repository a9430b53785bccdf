//! The `pmxcfs` daemon: the `/etc/pve` cluster configuration file system.
//!
//! It serves the memdb (crate `memdb`) through FUSE with the original layout and semantics:
//! node symlinks, virtual status files, path-based permissions, the quorum rule and cluster
//! locks. In cluster mode the same operations are replicated over Corosync CPG with the
//! original DFSM protocol (crate `dfsm`); in local mode they go straight to the memdb.
//!
//! Not for: the tree semantics themselves (that is `memdb`) or cluster management (`pvecm`).

pub mod cluster;
pub mod cpg;
pub mod daemon;
pub mod fs;
pub mod group;
pub mod namespace;
pub mod pipeline;
pub mod propagate;
pub mod status;
pub mod vfiles;
