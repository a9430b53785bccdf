use std::fmt;
use std::str::FromStr;

/// A service of the cluster stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Corosync,
    Pmxcfs,
    Api,
    CorosyncQdevice,
    CorosyncQnetd,
    Sshd,
}

impl Service {
    pub const ALL: [Service; 6] = [
        Service::Corosync,
        Service::Pmxcfs,
        Service::Api,
        Service::CorosyncQdevice,
        Service::CorosyncQnetd,
        Service::Sshd,
    ];

    /// The short name used by the lab and on our command lines.
    pub fn name(self) -> &'static str {
        match self {
            Service::Corosync => "corosync",
            Service::Pmxcfs => "pmxcfs",
            Service::Api => "api",
            Service::CorosyncQdevice => "corosync-qdevice",
            Service::CorosyncQnetd => "corosync-qnetd",
            Service::Sshd => "sshd",
        }
    }

    /// The systemd unit on a real host (Proxmox's names where Proxmox has one).
    pub fn systemd_unit(self) -> &'static str {
        match self {
            Service::Corosync => "corosync.service",
            Service::Pmxcfs => "pve-cluster.service",
            Service::Api => "quorate-api.service",
            Service::CorosyncQdevice => "corosync-qdevice.service",
            Service::CorosyncQnetd => "corosync-qnetd.service",
            Service::Sshd => "ssh.service",
        }
    }

    pub fn names() -> String {
        Service::ALL.map(Service::name).join(", ")
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A service name we do not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown service '{0}' (known services: {names})", names = Service::names())]
pub struct UnknownService(pub String);

impl FromStr for Service {
    type Err = UnknownService;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::ALL
            .into_iter()
            .find(|svc| svc.name() == s)
            .ok_or_else(|| UnknownService(s.to_string()))
    }
}
