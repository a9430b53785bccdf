//! In-node watcher of Corosync's quorum service: records (CLOCK_MONOTONIC) the first moment
//! this node sees a quorate membership of at least N nodes, so the catch-up time can be split
//! into Corosync's membership formation and pmxcfs's own work.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::{anyhow, Context, Result};
use rust_corosync::quorum::{self, Handle, RingId};
use rust_corosync::{DispatchFlags, NodeId};

use crate::clock::mono_ns;

static WANT: AtomicUsize = AtomicUsize::new(usize::MAX);
static FORMED_NS: AtomicU64 = AtomicU64::new(0);
static FORMED_AT_START: AtomicBool = AtomicBool::new(false);
static NOTIFIED: AtomicBool = AtomicBool::new(false);

fn on_quorum(_h: &Handle, quorate: bool, _ring: RingId, members: Vec<NodeId>) {
    let formed = quorate && members.len() >= WANT.load(Ordering::SeqCst);
    let first = !NOTIFIED.swap(true, Ordering::SeqCst);
    if formed && FORMED_NS.load(Ordering::SeqCst) == 0 {
        FORMED_NS.store(mono_ns(), Ordering::SeqCst);
        FORMED_AT_START.store(first, Ordering::SeqCst);
    }
}

/// Starts tracking in a thread; returns once the current state has been reported.
pub fn start(members: usize) -> Result<()> {
    WANT.store(members, Ordering::SeqCst);
    let (ready, started) = mpsc::channel();
    std::thread::spawn(move || {
        let model = quorum::ModelData::ModelV1(quorum::Model1Data {
            flags: quorum::Model1Flags::None,
            quorum_notification_fn: Some(on_quorum),
            nodelist_notification_fn: None,
        });
        let handle = match quorum::initialize(&model, 0).and_then(|(h, _)| {
            quorum::trackstart(&h, rust_corosync::TrackFlags::Changes).map(|()| h)
        }) {
            Ok(h) => h,
            Err(e) => {
                let _ = ready.send(Err(anyhow!("quorum tracking: {e}")));
                return;
            }
        };
        while !NOTIFIED.load(Ordering::SeqCst) {
            if let Err(e) = quorum::dispatch(&handle, DispatchFlags::One) {
                let _ = ready.send(Err(anyhow!("quorum dispatch: {e}")));
                return;
            }
        }
        let _ = ready.send(Ok(()));
        while quorum::dispatch(&handle, DispatchFlags::Blocking).is_ok() {}
    });
    started.recv().context("quorum watcher thread")?
}

/// Mono ns when the membership formed, and whether it was already formed at [`start`].
pub fn formed() -> Option<(u64, bool)> {
    let ns = FORMED_NS.load(Ordering::SeqCst);
    (ns != 0).then(|| (ns, FORMED_AT_START.load(Ordering::SeqCst)))
}
