//! The lock every corosync.conf change runs under (addnode, delnode): pmxcfs must be quorate
//! ("cluster not ready - no quorum?"), then the local flock `/var/lock/pvecm.lock` (10 s) and,
//! when corosync.conf lists more than one node, the cluster lock `file-corosync_conf`.
//! Blocking.

use std::path::Path;
use std::time::Duration;

use crate::lockfile::{LockFile, PVECM_LOCK};
use crate::{addnode, cfs, cfs_lock, Error, PveDir, Result};

/// Runs `f` under the config-change lock of `pve`.
pub fn with_config_lock<T>(pve: &PveDir, f: impl FnOnce() -> Result<T>) -> Result<T> {
    if !cfs::is_quorate(pve) {
        return Err(Error::Invalid("cluster not ready - no quorum?".into()));
    }
    let _local = LockFile::acquire(Path::new(PVECM_LOCK), Duration::from_secs(10))?;
    let conf = pve.corosync_conf();
    let text = std::fs::read_to_string(&conf).map_err(|e| Error::io("cannot read", &conf, e))?;
    if addnode::node_count(&text) > 1 {
        cfs_lock::with_lock(pve, "file-corosync_conf", cfs_lock::DEFAULT_TIMEOUT, f)
            .map_err(|e| Error::Invalid(e.to_string()))?
    } else {
        f()
    }
}
