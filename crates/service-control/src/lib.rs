//! Starts, stops and restarts the cluster stack's services, wherever our tools run.
//!
//! On a real host the services are systemd units; inside a `quorate-lab` node there is no
//! systemd and the lab's own supervisor runs them. Which one applies is decided by an explicit
//! marker file that the lab writes into every node ([`LAB_MARKER`]), never by guessing.
//!
//! Not for: deciding *when* to restart anything; that is the caller's business.

mod manager;
mod service;

pub use manager::{Action, Error, LabMarker, ServiceManager, LAB_MARKER};
pub use service::{Service, UnknownService};
