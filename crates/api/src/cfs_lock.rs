//! Cluster-wide locks on `/etc/pve/priv/lock/<id>`: see [`cluster::cfs_lock`].

pub use cluster::cfs_lock::*;
