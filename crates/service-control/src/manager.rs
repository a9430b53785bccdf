use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use serde::{Deserialize, Serialize};

use crate::Service;

/// Written by `quorate-lab` into every lab node; its presence selects the lab's supervisor.
pub const LAB_MARKER: &str = "/run/quorate-lab-node.json";

/// Content of [`LAB_MARKER`]: which lab and node this is, and the lab tool that controls it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabMarker {
    pub lab: String,
    pub node: String,
    /// Absolute path of the `quorate-lab` binary that created the node.
    pub ctl: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read lab marker {path}: {source}")]
    Marker {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("lab marker {path} is malformed ({source}); recreate the lab with `quorate-lab up`")]
    MarkerFormat {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("`{command}` failed ({status})")]
    Failed { command: String, status: ExitStatus },
}

/// How services are controlled on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceManager {
    /// A real host: `systemctl` (path overridable for tests).
    Systemd { systemctl: PathBuf },
    /// A lab node: the lab's supervisor, reached through its control tool.
    Lab(LabMarker),
}

impl ServiceManager {
    /// The manager for this machine: the lab when [`LAB_MARKER`] exists, systemd otherwise.
    pub fn detect() -> Result<Self, Error> {
        Self::detect_with(Path::new(LAB_MARKER), PathBuf::from("systemctl"))
    }

    /// Like [`detect`](Self::detect) with explicit marker and `systemctl` paths.
    pub fn detect_with(marker: &Path, systemctl: PathBuf) -> Result<Self, Error> {
        match std::fs::read(marker) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(ServiceManager::Lab)
                .map_err(|source| Error::MarkerFormat {
                    path: marker.to_path_buf(),
                    source,
                }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Ok(ServiceManager::Systemd { systemctl })
            }
            Err(source) => Err(Error::Marker {
                path: marker.to_path_buf(),
                source,
            }),
        }
    }

    /// Starts, stops or restarts `service`; returns once the manager has done it.
    pub fn run(&self, action: Action, service: Service) -> Result<(), Error> {
        let mut cmd = self.command(action.verb(), service);
        let status = status_of(&mut cmd)?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::Failed {
                command: describe(&cmd),
                status,
            })
        }
    }

    /// Whether `service` is running now.
    pub fn is_active(&self, service: Service) -> Result<bool, Error> {
        let mut cmd = match self {
            ServiceManager::Systemd { systemctl } => {
                let mut cmd = Command::new(systemctl);
                cmd.args(["is-active", "--quiet", service.systemd_unit()]);
                cmd
            }
            ServiceManager::Lab(_) => self.command("status", service),
        };
        Ok(status_of(&mut cmd)?.success())
    }

    fn command(&self, verb: &str, service: Service) -> Command {
        match self {
            ServiceManager::Systemd { systemctl } => {
                let mut cmd = Command::new(systemctl);
                cmd.args([verb, service.systemd_unit()]);
                cmd
            }
            ServiceManager::Lab(marker) => {
                let mut cmd = Command::new(&marker.ctl);
                cmd.env("QUORATE_LAB", &marker.lab)
                    .args([verb, &marker.node, service.name()]);
                cmd
            }
        }
    }
}

fn status_of(cmd: &mut Command) -> Result<ExitStatus, Error> {
    cmd.status().map_err(|source| Error::Spawn {
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}
