//! Starting and stopping the cluster services and asking whether the node is quorate, behind a
//! trait so that `create` can be tested without corosync.

use service_control::{Action, Service, ServiceManager};

use crate::{cfs, Error, PveDir, Result};

/// What `create` needs from the running system.
pub trait Services {
    /// Starts, stops or restarts `service`.
    fn run(&self, action: Action, service: Service) -> Result<()>;
    /// Whether corosync reports quorum and pmxcfs serves a quorate `/etc/pve`.
    fn quorate(&self) -> bool;
}

/// The real system: systemd on a host, the lab supervisor in a lab node.
#[derive(Debug)]
pub struct SystemServices {
    manager: ServiceManager,
    pve: PveDir,
}

impl SystemServices {
    /// Detects the service manager of this machine.
    pub fn detect(pve: PveDir) -> Result<Self> {
        let manager = ServiceManager::detect().map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(SystemServices { manager, pve })
    }
}

impl Services for SystemServices {
    fn run(&self, action: Action, service: Service) -> Result<()> {
        self.manager
            .run(action, service)
            .map_err(|e| Error::Invalid(e.to_string()))
    }

    fn quorate(&self) -> bool {
        corosync_client::quorum_state().is_ok_and(|q| q.quorate) && cfs::is_quorate(&self.pve)
    }
}
