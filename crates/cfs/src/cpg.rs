//! One Corosync CPG group connection: join (the group name's NUL counted, as the original),
//! AGREED multicast with the original's retry rule, and dispatch into plain events.
//!
//! libcpg has no internal locking, so every call on a handle is serialized by a mutex. The
//! callbacks (plain `fn` pointers in rust-corosync) only record events in a thread-local list;
//! the caller processes them after `dispatch` returns, never inside a callback.

use std::cell::RefCell;
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use rust_corosync::cpg::{self, Address, Guarantee};
use rust_corosync::{CsError, DispatchFlags, NodeId};

/// A group member: node id and process id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Member {
    pub nodeid: u32,
    pub pid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpgEvent {
    Deliver {
        from: Member,
        msg: Vec<u8>,
    },
    ConfChange {
        members: Vec<Member>,
        left: Vec<Member>,
        joined: Vec<Member>,
    },
}

thread_local! {
    /// Events recorded by the callbacks during the current dispatch, with their group name.
    static EVENTS: RefCell<Vec<(String, CpgEvent)>> = const { RefCell::new(Vec::new()) };
}

fn members(list: Vec<Address>) -> Vec<Member> {
    list.into_iter()
        .map(|a| Member {
            nodeid: u32::from(a.nodeid),
            pid: a.pid,
        })
        .collect()
}

fn on_deliver(_h: &cpg::Handle, group: String, nodeid: NodeId, pid: u32, msg: &[u8], _len: usize) {
    let event = CpgEvent::Deliver {
        from: Member {
            nodeid: u32::from(nodeid),
            pid,
        },
        msg: msg.to_vec(),
    };
    EVENTS.with(|e| e.borrow_mut().push((group, event)));
}

fn on_confchg(
    _h: &cpg::Handle,
    group: &str,
    member_list: Vec<Address>,
    left_list: Vec<Address>,
    joined_list: Vec<Address>,
) {
    let event = CpgEvent::ConfChange {
        members: members(member_list),
        left: members(left_list),
        joined: members(joined_list),
    };
    EVENTS.with(|e| e.borrow_mut().push((group.to_string(), event)));
}

/// How long a multicast refused with TRY_AGAIN (flow control) is retried.
const SEND_PATIENCE: Duration = Duration::from_secs(10);
/// Pauses between TRY_AGAIN retries: from the first to the longest, doubling. Corosync drains
/// its queue within milliseconds, so a fixed long pause (the original's 100 ms) left a sync's
/// burst of updates idle most of the time.
const FIRST_RETRY_PAUSE: Duration = Duration::from_micros(200);
const LONGEST_RETRY_PAUSE: Duration = Duration::from_millis(2);

/// A joined CPG group.
pub struct CpgGroup {
    handle: Mutex<cpg::Handle>,
    /// The group name as passed to `join` (with its trailing NUL).
    name: &'static str,
    pub local: Member,
}

impl CpgGroup {
    /// Connects to corosync and joins `name` (which must end with `\0`, as the C daemon counts
    /// the NUL in the group name's length).
    pub fn join(name: &'static str) -> Result<CpgGroup, CsError> {
        debug_assert!(name.ends_with('\0'));
        let model = cpg::ModelData::ModelV1(cpg::Model1Data {
            flags: cpg::Model1Flags::None,
            deliver_fn: Some(on_deliver),
            confchg_fn: Some(on_confchg),
            totem_confchg_fn: None,
        });
        let handle = cpg::initialize(&model, 0)?;
        let nodeid = u32::from(cpg::local_get(&handle)?);
        retry_try_again(|| cpg::join(&handle, name), None)?;
        Ok(CpgGroup {
            handle: Mutex::new(handle),
            name,
            local: Member {
                nodeid,
                pid: std::process::id(),
            },
        })
    }

    pub fn fd(&self) -> Result<i32, CsError> {
        cpg::fd_get(&self.handle.lock().unwrap())
    }

    /// Multicasts `msg` in agreed order; TRY_AGAIN is retried for about 10 s.
    pub fn mcast(&self, msg: &[u8]) -> Result<(), CsError> {
        retry_try_again(
            || cpg::mcast_joined(&self.handle.lock().unwrap(), Guarantee::TypeAgreed, msg),
            Some(SEND_PATIENCE),
        )
    }

    /// Runs the pending callbacks and returns their events for this group, in order.
    pub fn dispatch(&self) -> Result<Vec<CpgEvent>, CsError> {
        cpg::dispatch(&self.handle.lock().unwrap(), DispatchFlags::All)?;
        let group = self.name.trim_end_matches('\0');
        Ok(EVENTS.with(|e| {
            let mut all = e.borrow_mut();
            let (ours, others): (Vec<_>, Vec<_>) = std::mem::take(&mut *all)
                .into_iter()
                .partition(|(g, _)| g == group);
            *all = others;
            ours.into_iter().map(|(_, event)| event).collect()
        }))
    }

    /// Leaves the group (the resulting configuration change still arrives through dispatch).
    pub fn leave(&self) -> Result<(), CsError> {
        retry_try_again(
            || cpg::leave(&self.handle.lock().unwrap(), self.name),
            Some(SEND_PATIENCE),
        )
    }
}

/// Calls `f` until it does not answer TRY_AGAIN (for at most `patience` when given).
fn retry_try_again(
    mut f: impl FnMut() -> Result<(), CsError>,
    patience: Option<Duration>,
) -> Result<(), CsError> {
    let start = Instant::now();
    let mut pause = FIRST_RETRY_PAUSE;
    loop {
        match f() {
            Err(CsError::CsErrTryAgain) if patience.is_none_or(|p| start.elapsed() < p) => {
                sleep(pause);
                pause = (pause * 2).min(LONGEST_RETRY_PAUSE);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_again_is_retried_until_it_clears() {
        let mut refusals = 5;
        let result = retry_try_again(
            || {
                if refusals == 0 {
                    return Ok(());
                }
                refusals -= 1;
                Err(CsError::CsErrTryAgain)
            },
            Some(SEND_PATIENCE),
        );
        assert_eq!(result, Ok(()));
        assert_eq!(refusals, 0);
    }

    #[test]
    fn try_again_gives_up_after_the_patience_and_other_errors_at_once() {
        let start = Instant::now();
        let result = retry_try_again(
            || Err(CsError::CsErrTryAgain),
            Some(Duration::from_millis(30)),
        );
        assert_eq!(result, Err(CsError::CsErrTryAgain));
        assert!(start.elapsed() >= Duration::from_millis(30));
        let mut calls = 0;
        let result = retry_try_again(
            || {
                calls += 1;
                Err(CsError::CsErrLibrary)
            },
            None,
        );
        assert_eq!((result, calls), (Err(CsError::CsErrLibrary), 1));
    }
}
