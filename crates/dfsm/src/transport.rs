//! The edge between the sans-I/O machine and a real group-communication layer.
//!
//! * [`Transport`]: what the machine needs from CPG (agreed multicast to the joined
//!   group). The daemon implements it over `cpg_mcast_joined(CPG_TYPE_AGREED)` with the
//!   C retry policy (TRY_AGAIN every 100 ms, at most 100 times).
//! * [`Driver`]: a thread-safe wrapper that executes a machine's [`Action`]s. The CPG
//!   dispatch thread calls [`Driver::confchg`] / [`Driver::deliver`] from the CPG
//!   callbacks, [`Driver::flush`] after each dispatch batch and [`Driver::tick`] from a
//!   1-second timer; writer threads (FUSE, IPC) call [`Driver::send_and_wait`]. What is
//!   left for the daemon comes back as [`Effect`]s: leave the group, logs, app events.
//! * [`Waiters`]: result slots of blocked writers (never wait on the dispatch thread).

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::app::{Application, MemberId};
use crate::machine::{Action, Dfsm, Level, Mode, SendError};

/// A multicast failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Flow control did not clear within the retry budget.
    #[error("multicast still refused after retries (TRY_AGAIN)")]
    TryAgainExhausted,
    /// Not joined to the group.
    #[error("not joined to the group")]
    NotJoined,
    /// Any other failure (e.g. corosync gone).
    #[error("multicast failed: {0}")]
    Failed(String),
}

/// Agreed-order multicast to the joined group.
pub trait Transport {
    /// Multicasts `bytes` to every member of the group, ourselves included.
    fn mcast(&self, bytes: &[u8]) -> Result<(), TransportError>;
}

/// What the daemon still has to do after the driver ran the machine's actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect<E> {
    /// Leave the CPG group; re-initialize later only if the machine is restartable.
    Leave,
    /// Mode change (for status reporting).
    ModeChanged {
        /// Previous mode.
        from: Mode,
        /// New mode.
        to: Mode,
    },
    /// Log line.
    Log {
        /// Severity.
        level: Level,
        /// Text.
        message: String,
    },
    /// Application event.
    App(E),
}

/// Why a writer got no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// The machine refused to send.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The multicast failed or the connection was reset before the result arrived.
    #[error("aborted")]
    Aborted,
    /// No result within the timeout.
    #[error("timed out")]
    Timeout,
}

/// Result slots of writers blocked on their message count.
#[derive(Debug, Default)]
pub struct Waiters {
    slots: Mutex<HashMap<u64, Option<Option<i32>>>>,
    cond: Condvar,
}

impl Waiters {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Option<Option<i32>>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a slot (before the message can be delivered).
    pub fn register(&self, count: u64) {
        self.lock().insert(count, None);
    }

    /// Fills a slot: `Some(result)` or `None` for aborted.
    pub fn finish(&self, count: u64, result: Option<i32>) {
        if let Some(slot) = self.lock().get_mut(&count) {
            *slot = Some(result);
            self.cond.notify_all();
        }
    }

    /// Blocks until the slot is filled or gone, leaving it in place: `Some(result)` (as
    /// [`Waiters::wait`] would return it) while the slot exists, `None` once someone removed
    /// it. Several threads may wait for the same pipelined message this way.
    pub fn wait_filled(&self, count: u64, timeout: Duration) -> Option<Result<i32, WaitError>> {
        let deadline = Instant::now() + timeout;
        let mut slots = self.lock();
        loop {
            match slots.get(&count) {
                Some(Some(done)) => return Some(done.ok_or(WaitError::Aborted)),
                Some(None) => {}
                None => return None,
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Some(Err(WaitError::Timeout));
            }
            slots = self
                .cond
                .wait_timeout(slots, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Drops a slot (filled or not).
    pub fn discard(&self, count: u64) {
        self.lock().remove(&count);
    }

    /// Blocks until the slot is filled (and removes it).
    pub fn wait(&self, count: u64, timeout: Duration) -> Result<i32, WaitError> {
        let deadline = Instant::now() + timeout;
        let mut slots = self.lock();
        loop {
            match slots.get(&count) {
                Some(Some(done)) => {
                    let done = *done;
                    slots.remove(&count);
                    return done.ok_or(WaitError::Aborted);
                }
                Some(None) => {}
                None => return Err(WaitError::Aborted),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                slots.remove(&count);
                return Err(WaitError::Timeout);
            }
            slots = self
                .cond
                .wait_timeout(slots, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A machine, its transport and its writers' slots, usable from several threads.
pub struct Driver<A: Application, T: Transport> {
    machine: Mutex<Dfsm<A>>,
    transport: T,
    waiters: Waiters,
    /// Writers' results held back while a delivery round is open ([`Driver::round`]).
    held: Mutex<Option<Vec<Held>>>,
}

/// A writer's result held back: its counter and `Some(result)` or `None` for aborted.
type Held = (u64, Option<i32>);

impl<A: Application, T: Transport> Driver<A, T> {
    /// Wraps a machine.
    pub fn new(machine: Dfsm<A>, transport: T) -> Self {
        Driver {
            machine: Mutex::new(machine),
            transport,
            waiters: Waiters::default(),
            held: Mutex::new(None),
        }
    }

    /// Locks the machine (e.g. to set application inputs or read the mode).
    pub fn lock(&self) -> MutexGuard<'_, Dfsm<A>> {
        self.machine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// CPG confchg callback.
    pub fn confchg(
        &self,
        members: &[MemberId],
        left: &[MemberId],
        joined: &[MemberId],
        now: u32,
    ) -> Vec<Effect<A::Event>> {
        self.run(|m| m.confchg(members, left, joined, now))
    }

    /// CPG deliver callback.
    pub fn deliver(&self, from: MemberId, bytes: &[u8], now: u32) -> Vec<Effect<A::Event>> {
        self.run(|m| m.deliver(from, bytes, now))
    }

    /// After each dispatch batch.
    pub fn flush(&self, now: u32) -> Vec<Effect<A::Event>> {
        self.run(|m| m.flush(now))
    }

    /// From the 1-second timer.
    pub fn tick(&self, now: u32) -> Vec<Effect<A::Event>> {
        self.run(|m| m.tick(now))
    }

    /// Before re-joining after a leave or a lost connection (aborts every writer).
    pub fn reset(&self) -> Vec<Effect<A::Event>> {
        self.run(|m| m.reset())
    }

    /// Runs one delivery round: `feed` hands the machine everything one dispatch returned
    /// (and flushes). Writers learn their results only after the application made the round
    /// durable ([`Application::end_round`]); if it could not, successes become `-EIO`.
    pub fn round(&self, feed: impl FnOnce() -> Vec<Effect<A::Event>>) -> Vec<Effect<A::Event>> {
        self.lock().begin_round();
        *self.lock_held() = Some(Vec::new());
        let mut effects = feed();
        let mut machine = self.lock();
        let (durable, actions) = machine.end_round();
        let held = self.lock_held().take().unwrap_or_default();
        effects.extend(self.execute(&mut machine, actions));
        drop(machine);
        for (count, result) in held {
            let result = match result {
                Some(r) if r >= 0 && !durable => Some(memdb::Errno::Eio.negative()),
                other => other,
            };
            self.waiters.finish(count, result);
        }
        effects
    }

    fn lock_held(&self) -> MutexGuard<'_, Option<Vec<Held>>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reports a writer's result now, or at the end of the open delivery round.
    fn finish(&self, count: u64, result: Option<i32>) {
        if let Some(held) = self.lock_held().as_mut() {
            held.push((count, result));
            return;
        }
        self.waiters.finish(count, result);
    }

    /// Sends a NORMAL message and blocks (not on the dispatch thread!) until it is
    /// delivered locally: `Ok(result)`, or an error the daemon maps to `EBUSY`.
    pub fn send_and_wait(
        &self,
        subtype: u16,
        payload: &[u8],
        now: u32,
        timeout: Duration,
    ) -> Result<i32, WaitError> {
        let count = self.send(subtype, payload, now)?;
        self.waiters.wait(count, timeout)
    }

    /// Sends a NORMAL message without waiting: returns its counter, whose result slot
    /// ([`Driver::waiters`]) fills once the message is delivered locally (or aborted). The
    /// caller must eventually remove the slot ([`Waiters::wait`] or [`Waiters::discard`]).
    /// CPG keeps a sender's messages in order, so later messages apply after this one.
    pub fn send(&self, subtype: u16, payload: &[u8], now: u32) -> Result<u64, WaitError> {
        let mut machine = self.lock();
        let (count, actions) = machine.send_normal(subtype, payload, now)?;
        self.waiters.register(count);
        self.execute(&mut machine, actions);
        Ok(count)
    }

    /// Result slots of sent messages.
    pub fn waiters(&self) -> &Waiters {
        &self.waiters
    }

    fn run(&self, f: impl FnOnce(&mut Dfsm<A>) -> Vec<Action<A::Event>>) -> Vec<Effect<A::Event>> {
        let mut machine = self.lock();
        let actions = f(&mut machine);
        self.execute(&mut machine, actions)
    }

    fn execute(
        &self,
        machine: &mut Dfsm<A>,
        actions: Vec<Action<A::Event>>,
    ) -> Vec<Effect<A::Event>> {
        let mut effects = Vec::new();
        let mut pending: std::collections::VecDeque<_> = actions.into();
        while let Some(action) = pending.pop_front() {
            match action {
                Action::Multicast(bytes) => {
                    if let Err(e) = self.transport.mcast(&bytes) {
                        effects.push(Effect::Log {
                            level: Level::Critical,
                            message: format!("cpg_send_message failed: {e}"),
                        });
                        pending.extend(machine.send_failed(&bytes));
                    }
                }
                Action::Completed { count, result } => self.finish(count, Some(result)),
                Action::Aborted { count } => self.finish(count, None),
                Action::Leave => effects.push(Effect::Leave),
                Action::ModeChanged { from, to } => effects.push(Effect::ModeChanged { from, to }),
                Action::Log { level, message } => effects.push(Effect::Log { level, message }),
                Action::App(e) => effects.push(Effect::App(e)),
            }
        }
        effects
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::sync::Arc;

    use super::*;
    use crate::dcdb::{op_to_message, Dcdb};

    /// A loopback "CPG": multicasts go to a channel the test drains as the dispatch thread.
    struct Loop(Mutex<mpsc::Sender<Vec<u8>>>);

    impl Transport for Loop {
        fn mcast(&self, bytes: &[u8]) -> Result<(), TransportError> {
            let tx = self.0.lock().unwrap_or_else(|e| e.into_inner());
            tx.send(bytes.to_vec())
                .map_err(|e| TransportError::Failed(e.to_string()))
        }
    }

    struct Refuse;

    impl Transport for Refuse {
        fn mcast(&self, _: &[u8]) -> Result<(), TransportError> {
            Err(TransportError::TryAgainExhausted)
        }
    }

    fn dcdb() -> Dfsm<Dcdb> {
        let dcdb = Dcdb::new(Arc::new(memdb::Memdb::from_tree(memdb::Tree::new(1))));
        dcdb.set_quorate(true);
        Dfsm::new(dcdb, MemberId::new(1, 10))
    }

    #[test]
    fn writer_thread_blocks_until_the_dispatch_thread_delivers() {
        let (tx, rx) = mpsc::channel();
        let driver = Arc::new(Driver::new(dcdb(), Loop(Mutex::new(tx))));
        let me = MemberId::new(1, 10);
        driver.confchg(&[me], &[], &[me], 5);
        let (subtype, payload) = op_to_message(&memdb::Op::Mkdir { path: "d".into() });
        let writer = {
            let driver = Arc::clone(&driver);
            std::thread::spawn(move || {
                driver.send_and_wait(subtype.code(), &payload, 7, Duration::from_secs(10))
            })
        };
        let bytes = rx.recv_timeout(Duration::from_secs(10)).expect("multicast");
        driver.deliver(me, &bytes, 7);
        assert_eq!(writer.join().unwrap(), Ok(0));
        assert!(driver.lock().app().memdb().lookup("d").is_some());
        // a reset aborts a waiting writer (EBUSY for the daemon)
        let (subtype, payload) = op_to_message(&memdb::Op::Mkdir { path: "e".into() });
        let writer = {
            let driver = Arc::clone(&driver);
            std::thread::spawn(move || {
                driver.send_and_wait(subtype.code(), &payload, 8, Duration::from_secs(10))
            })
        };
        rx.recv_timeout(Duration::from_secs(10)).expect("multicast");
        driver.reset();
        assert_eq!(writer.join().unwrap(), Err(WaitError::Aborted));
    }

    #[test]
    fn a_round_answers_writers_only_at_its_end() {
        let (tx, rx) = mpsc::channel();
        let driver = Driver::new(dcdb(), Loop(Mutex::new(tx)));
        let me = MemberId::new(1, 10);
        driver.confchg(&[me], &[], &[me], 5);
        let (subtype, payload) = op_to_message(&memdb::Op::Mkdir { path: "d".into() });
        let count = driver.send(subtype.code(), &payload, 7).unwrap();
        let bytes = rx.recv_timeout(Duration::from_secs(10)).expect("multicast");
        driver.round(|| {
            let effects = driver.deliver(me, &bytes, 7);
            assert!(driver.lock().app().memdb().lookup("d").is_some());
            let now = driver.waiters().wait_filled(count, Duration::ZERO);
            assert_eq!(
                now,
                Some(Err(WaitError::Timeout)),
                "answered inside the round"
            );
            effects
        });
        assert_eq!(driver.waiters().wait(count, Duration::ZERO), Ok(0));
    }

    #[test]
    fn failed_multicast_aborts_the_writer() {
        let driver = Driver::new(dcdb(), Refuse);
        let me = MemberId::new(1, 10);
        driver.confchg(&[me], &[], &[me], 5);
        let r = driver.send_and_wait(2, b"x", 6, Duration::from_secs(1));
        assert_eq!(r, Err(WaitError::Aborted));
        // a failed state message makes the node leave
        let mut leave = driver.lock();
        let out = leave.send_failed(&crate::codec::encode_state(
            crate::codec::MsgType::State,
            1,
            1,
            &Default::default(),
            b"s",
        ));
        assert!(out.contains(&Action::Leave));
    }
}
