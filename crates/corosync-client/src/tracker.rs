//! Long-lived quorum tracking for daemons: follows quorate/membership changes and survives
//! corosync restarts by reconnecting.

use std::cell::RefCell;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rust_corosync::quorum;
use rust_corosync::{DispatchFlags, NodeId, TrackFlags};

use crate::membership::wait_readable;

/// What the tracker reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuorumEvent {
    /// Connected (again); the current state follows as `Changed`.
    Connected,
    /// The quorum state or membership changed.
    Changed { quorate: bool, members: Vec<u32> },
    /// corosync went away (or never answered); writes must stop until it is back.
    Disconnected,
}

thread_local! {
    /// Notifications collected during one dispatch on the tracker thread.
    static PENDING: RefCell<Vec<QuorumEvent>> = const { RefCell::new(Vec::new()) };
}

fn on_quorum(_h: &quorum::Handle, quorate: bool, _ring: quorum::RingId, members: Vec<NodeId>) {
    let members = members.into_iter().map(u32::from).collect();
    PENDING.with(|p| {
        p.borrow_mut()
            .push(QuorumEvent::Changed { quorate, members })
    });
}

/// Starts a thread that reports quorum events to `on_event` until the process ends.
/// `retry` is the pause between connection attempts while corosync is unreachable.
pub fn track_quorum(
    retry: Duration,
    mut on_event: impl FnMut(QuorumEvent) + Send + 'static,
) -> JoinHandle<()> {
    thread::Builder::new()
        .name("quorum".into())
        .spawn(move || {
            // Report the first failure, then stay quiet until a connection succeeded again.
            let mut report_loss = true;
            loop {
                let was_connected = session(&mut on_event);
                if was_connected || report_loss {
                    on_event(QuorumEvent::Disconnected);
                }
                report_loss = false;
                thread::sleep(retry);
            }
        })
        .expect("spawn quorum tracker")
}

/// One connection; returns when corosync goes away, telling whether it had connected.
fn session(on_event: &mut impl FnMut(QuorumEvent)) -> bool {
    let mut connected = false;
    let _ = run_session(on_event, &mut connected);
    connected
}

fn run_session(
    on_event: &mut impl FnMut(QuorumEvent),
    connected: &mut bool,
) -> Result<(), rust_corosync::CsError> {
    let model = quorum::ModelData::ModelV1(quorum::Model1Data {
        flags: quorum::Model1Flags::None,
        quorum_notification_fn: Some(on_quorum),
        nodelist_notification_fn: None,
    });
    let (handle, _) = quorum::initialize(&model, 0)?;
    quorum::trackstart(&handle, TrackFlags::Changes)?;
    let fd = quorum::fd_get(&handle)?;
    *connected = true;
    on_event(QuorumEvent::Connected);
    loop {
        if wait_readable(fd, Duration::from_secs(1)) {
            quorum::dispatch(&handle, DispatchFlags::All)?;
        } else {
            // A quiet connection: make sure corosync is still there.
            quorum::getquorate(&handle)?;
        }
        for event in PENDING.with(|p| std::mem::take(&mut *p.borrow_mut())) {
            on_event(event);
        }
    }
}
