//! The quorum service's view: quorate flag, ring id and member list.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use rust_corosync::quorum;
use rust_corosync::{DispatchFlags, NodeId, TrackFlags};
use serde::Serialize;

use crate::{Error, Result};

/// The current membership as the quorum service reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub quorate: bool,
    /// Representative node id of the ring (lowest member id).
    pub ring_node: u32,
    pub ring_seq: u64,
    pub members: Vec<u32>,
    /// False when no quorum provider is configured ("Quorum provider: Not configured").
    pub provider_configured: bool,
}

impl Membership {
    /// The ring id as corosync's tools print it: `<node hex>.<seq hex>`.
    pub fn ring_id(&self) -> String {
        format!("{:x}.{:x}", self.ring_node, self.ring_seq)
    }
}

thread_local! {
    /// The latest notification delivered on this thread (callbacks run inside `dispatch`).
    static LAST_NOTIFICATION: RefCell<Option<Membership>> = const { RefCell::new(None) };
}

fn on_quorum(_h: &quorum::Handle, quorate: bool, ring: quorum::RingId, members: Vec<NodeId>) {
    let membership = Membership {
        quorate,
        ring_node: u32::from(ring.nodeid),
        ring_seq: ring.seq,
        members: members.into_iter().map(u32::from).collect(),
        provider_configured: true,
    };
    LAST_NOTIFICATION.with(|n| *n.borrow_mut() = Some(membership));
}

/// Asks the quorum service for the current membership (waits at most `timeout` for its answer).
pub fn membership(timeout: Duration) -> Result<Membership> {
    let model = quorum::ModelData::ModelV1(quorum::Model1Data {
        flags: quorum::Model1Flags::None,
        quorum_notification_fn: Some(on_quorum),
        nodelist_notification_fn: None,
    });
    let (handle, kind) =
        quorum::initialize(&model, 0).map_err(|e| Error::from_cs("quorum_initialize", e))?;
    LAST_NOTIFICATION.with(|n| n.borrow_mut().take());
    quorum::trackstart(&handle, TrackFlags::Current)
        .map_err(|e| Error::from_cs("quorum_trackstart", e))?;
    let fd = quorum::fd_get(&handle).map_err(|e| Error::from_cs("quorum_fd_get", e))?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(mut membership) = LAST_NOTIFICATION.with(|n| n.borrow_mut().take()) {
            let _ = quorum::trackstop(&handle);
            membership.provider_configured = matches!(kind, quorum::QuorumType::Set);
            return Ok(membership);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::new("quorum_dispatch", 5));
        }
        if wait_readable(fd, left) {
            quorum::dispatch(&handle, DispatchFlags::All)
                .map_err(|e| Error::from_cs("quorum_dispatch", e))?;
        }
    }
}

/// Waits until `fd` is readable or `timeout` passes; true when readable.
pub fn wait_readable(fd: i32, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    n > 0
}
