//! One DFSM group over real CPG: joining (again), dispatching, the 1-second tick, leaving and
//! re-joining, for any DFSM application (DCDB, KVSTORE).

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use dfsm::{Application, Dfsm, Driver, Effect, MemberId, Transport, TransportError};

use crate::cpg::{CpgEvent, CpgGroup, Member};
use crate::daemon::log;

/// Pause before re-joining after leaving the group (the original's service restart delay).
const REJOIN_DELAY: Duration = Duration::from_secs(5);

/// Where the current group connection lives; empty while disconnected.
#[derive(Default)]
struct GroupSlot(Mutex<Option<Arc<CpgGroup>>>);

impl GroupSlot {
    fn get(&self) -> Option<Arc<CpgGroup>> {
        self.0.lock().unwrap().clone()
    }

    fn set(&self, group: Option<Arc<CpgGroup>>) {
        *self.0.lock().unwrap() = group;
    }
}

/// Multicasts through whatever connection the slot holds.
pub struct CpgTransport(Arc<GroupSlot>);

impl Transport for CpgTransport {
    fn mcast(&self, bytes: &[u8]) -> Result<(), TransportError> {
        let group = self.0.get().ok_or(TransportError::NotJoined)?;
        group.mcast(bytes).map_err(|e| match e {
            rust_corosync::CsError::CsErrTryAgain => TransportError::TryAgainExhausted,
            other => TransportError::Failed(other.to_string()),
        })
    }
}

/// A DFSM machine bound to a CPG group name.
pub struct Group<A: Application> {
    /// The CPG group name, with its trailing NUL.
    name: &'static str,
    /// Log domain (`dcdb`, `status`).
    domain: &'static str,
    pub driver: Driver<A, CpgTransport>,
    slot: Arc<GroupSlot>,
}

impl<A: Application> Group<A> {
    pub fn new(name: &'static str, domain: &'static str, app: A, local: MemberId) -> Group<A> {
        let slot = Arc::new(GroupSlot::default());
        Group {
            name,
            domain,
            driver: Driver::new(Dfsm::new(app, local), CpgTransport(slot.clone())),
            slot,
        }
    }

    /// Sends a NORMAL message without waiting for it (fire and forget). The machine stays
    /// locked across the multicast so that message counters go out in order.
    pub fn send(&self, subtype: u16, payload: &[u8]) {
        let mut machine = self.driver.lock();
        if let Ok((_, actions)) = machine.send_normal(subtype, payload, memdb::unix_now()) {
            for action in actions {
                if let dfsm::Action::Multicast(bytes) = action {
                    if let Some(group) = self.slot.get() {
                        let _ = group.mcast(&bytes);
                    }
                }
            }
        }
    }

    /// Runs the group forever on the calling thread: every effect but `Leave` goes to
    /// `handle`; `after_round` runs after each dispatch round (about once a second when idle).
    pub fn run(&self, mut handle: impl FnMut(Effect<A::Event>), mut after_round: impl FnMut()) {
        let mut left_at: Option<Instant> = None;
        let mut last_tick = 0;
        loop {
            let Some(group) = self.connected(&mut left_at) else {
                after_round();
                thread::sleep(Duration::from_secs(1));
                continue;
            };
            let mut effects = Vec::new();
            let now = memdb::unix_now();
            let readable = group
                .fd()
                .map(|fd| corosync_client::wait_readable(fd, Duration::from_secs(1)))
                .unwrap_or(false);
            if readable {
                match group.dispatch() {
                    Ok(events) => effects.extend(self.driver.round(|| {
                        let mut effects = Vec::new();
                        for event in events {
                            effects.extend(self.feed(event, now));
                        }
                        effects.extend(self.driver.flush(now));
                        effects
                    })),
                    Err(e) => {
                        let msg = format!("cpg_dispatch failed: {e}; reconnecting");
                        log(self.domain, "crit", &msg);
                        self.slot.set(None);
                        effects.extend(self.driver.reset());
                    }
                }
            }
            if now != last_tick {
                last_tick = now;
                effects.extend(self.driver.tick(now));
            }
            for effect in effects {
                match effect {
                    Effect::Leave => {
                        log(self.domain, "notice", "leaving CPG group");
                        let _ = group.leave();
                        left_at = Some(Instant::now());
                    }
                    other => handle(other),
                }
            }
            after_round();
        }
    }

    /// The joined group, joining (again) when allowed.
    fn connected(&self, left_at: &mut Option<Instant>) -> Option<Arc<CpgGroup>> {
        if let Some(at) = *left_at {
            if at.elapsed() < REJOIN_DELAY || !self.driver.lock().restartable() {
                return None;
            }
            *left_at = None;
            self.slot.set(None);
        }
        if let Some(group) = self.slot.get() {
            return Some(group);
        }
        let group = Arc::new(CpgGroup::join(self.name).ok()?);
        for effect in self.driver.reset() {
            if let Effect::Log { message, .. } = effect {
                log(self.domain, "notice", &message);
            }
        }
        self.slot.set(Some(group.clone()));
        log(self.domain, "notice", "joined CPG group");
        Some(group)
    }

    fn feed(&self, event: CpgEvent, now: u32) -> Vec<Effect<A::Event>> {
        let id = |m: &Member| MemberId::new(m.nodeid, m.pid);
        let ids = |list: &[Member]| list.iter().map(id).collect::<Vec<_>>();
        match event {
            CpgEvent::Deliver { from, msg } => self.driver.deliver(id(&from), &msg, now),
            CpgEvent::ConfChange {
                members,
                left,
                joined,
            } => self
                .driver
                .confchg(&ids(&members), &ids(&left), &ids(&joined), now),
        }
    }
}
