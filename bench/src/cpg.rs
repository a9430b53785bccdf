//! The raw limit: a CPG group of our own (not one of pmxcfs's groups) where one sender
//! multicasts AGREED messages; the figure is the time from its first mcast until its own
//! delivery of the last one. Every member reports how many it received and when, so the
//! harness can check that the sender's count was not ahead of the group.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use rust_corosync::cpg::{self, Address, Handle};
use rust_corosync::{CsError, DispatchFlags, NodeId};
use serde_json::{json, Value};

use crate::clock::mono_ns;

const GROUP: &str = "quorate_bench_cpg";

static DELIVERED: AtomicU64 = AtomicU64::new(0);
/// Deliveries of this process's own messages (round-trip mode).
static OWN_DELIVERED: AtomicU64 = AtomicU64::new(0);
static OWN_NODE: AtomicU32 = AtomicU32::new(0);
static OWN_PID: AtomicU32 = AtomicU32::new(0);
/// Stop messages seen (one from every sender in round-trip mode).
static STOPS: AtomicUsize = AtomicUsize::new(0);
static FIRST_NS: AtomicU64 = AtomicU64::new(0);
static LAST_NS: AtomicU64 = AtomicU64::new(0);
static MEMBERS: AtomicUsize = AtomicUsize::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

fn deliver(_h: &Handle, _g: String, node: NodeId, pid: u32, msg: &[u8], _l: usize) {
    if msg.first() == Some(&b'S') {
        STOPS.fetch_add(1, Ordering::SeqCst);
        STOP.store(true, Ordering::SeqCst);
        return;
    }
    if u32::from(node) == OWN_NODE.load(Ordering::SeqCst) && pid == OWN_PID.load(Ordering::SeqCst) {
        OWN_DELIVERED.fetch_add(1, Ordering::SeqCst);
    }
    let now = mono_ns();
    if DELIVERED.fetch_add(1, Ordering::SeqCst) == 0 {
        FIRST_NS.store(now, Ordering::SeqCst);
    }
    LAST_NS.store(now, Ordering::SeqCst);
}

fn confchg(_h: &Handle, _g: &str, members: Vec<Address>, _l: Vec<Address>, _j: Vec<Address>) {
    MEMBERS.store(members.len(), Ordering::SeqCst);
}

pub fn cs(call: &'static str) -> impl Fn(CsError) -> anyhow::Error {
    move |e| anyhow!("{call} failed: {e}")
}

type DeliverFn = fn(&Handle, String, NodeId, u32, &[u8], usize);
type ConfchgFn = fn(&Handle, &str, Vec<Address>, Vec<Address>, Vec<Address>);

/// Joins `group` with these callbacks; the handle and its fd to poll.
pub fn join_group(group: &str, deliver: DeliverFn, confchg: ConfchgFn) -> Result<(Handle, i32)> {
    let model = cpg::ModelData::ModelV1(cpg::Model1Data {
        flags: cpg::Model1Flags::None,
        deliver_fn: Some(deliver),
        confchg_fn: Some(confchg),
        totem_confchg_fn: None,
    });
    let handle = cpg::initialize(&model, 0).map_err(cs("cpg_initialize"))?;
    cpg::join(&handle, group).map_err(cs("cpg_join"))?;
    let fd = cpg::fd_get(&handle).map_err(cs("cpg_fd_get"))?;
    Ok((handle, fd))
}

fn open() -> Result<(Handle, i32)> {
    join_group(GROUP, deliver, confchg)
}

/// Waits up to `ms` for the fd to become readable, then dispatches everything pending.
fn pump(handle: &Handle, fd: i32, ms: i32) -> Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    if r > 0 {
        match cpg::dispatch(handle, DispatchFlags::All) {
            Ok(()) | Err(CsError::CsErrTryAgain) => {}
            Err(e) => bail!("cpg_dispatch failed: {e}"),
        }
    }
    Ok(())
}

fn wait(handle: &Handle, fd: i32, what: &str, secs: u64, done: impl Fn() -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        pump(handle, fd, 50)?;
    }
    Ok(())
}

/// Multicasts one message; on flow control (TRY_AGAIN) dispatches and retries. Returns how
/// many retries it took.
fn mcast(handle: &Handle, fd: i32, msg: &[u8]) -> Result<u64> {
    let mut retries = 0;
    loop {
        match cpg::mcast_joined(handle, cpg::Guarantee::TypeAgreed, msg) {
            Err(CsError::CsErrTryAgain) => {
                retries += 1;
                pump(handle, fd, 1)?;
            }
            other => return other.map(|()| retries).map_err(cs("cpg_mcast_joined")),
        }
    }
}

/// `cpg-send N SIZE MEMBERS`: waits for MEMBERS members, sends N messages of SIZE bytes and
/// reports the time from the first mcast until its own delivery of the last one; then tells
/// the members to stop.
pub fn send(n: u64, size: usize, members: usize) -> Result<Value> {
    let (handle, fd) = open()?;
    wait(&handle, fd, "all CPG members", 60, || {
        MEMBERS.load(Ordering::SeqCst) >= members
    })?;
    let mut msg = vec![b'D'; size.max(1)];
    let mut try_again = 0;
    let start = mono_ns();
    for i in 0..n {
        if size >= 9 {
            msg[1..9].copy_from_slice(&i.to_le_bytes());
        }
        try_again += mcast(&handle, fd, &msg)?;
        pump(&handle, fd, 0)?;
    }
    let sent = mono_ns();
    wait(&handle, fd, "own deliveries", 120, || {
        DELIVERED.load(Ordering::SeqCst) >= n
    })?;
    let end = LAST_NS.load(Ordering::SeqCst);
    mcast(&handle, fd, b"S")?;
    let _ = wait(&handle, fd, "stop echo", 5, || STOP.load(Ordering::SeqCst));
    let _ = cpg::leave(&handle, GROUP);
    let secs = (end - start) as f64 / 1e9;
    Ok(
        json!({ "n": n, "size": size, "start_ns": start, "sent_ns": sent, "end_ns": end,
               "secs": secs, "per_s": n as f64 / secs, "try_again": try_again }),
    )
}

/// `cpg-round-trips N SIZE MEMBERS SENDERS`: waits for MEMBERS members, then sends N
/// messages of SIZE bytes, each only after its previous one came back (one blocking AGREED
/// round trip per message, as a writer whose write returns once the data is delivered
/// everywhere). With SENDERS > 1 every sender runs this at once; each stays in the group
/// until it has seen all SENDERS stop messages, so no sender finishes in a smaller group.
pub fn round_trips(n: u64, size: usize, members: usize, senders: usize) -> Result<Value> {
    let (handle, fd) = open()?;
    let own = cpg::local_get(&handle).map_err(cs("cpg_local_get"))?;
    OWN_NODE.store(u32::from(own), Ordering::SeqCst);
    OWN_PID.store(std::process::id(), Ordering::SeqCst);
    wait(&handle, fd, "all CPG members", 60, || {
        MEMBERS.load(Ordering::SeqCst) >= members
    })?;
    let msg = vec![b'D'; size.max(1)];
    let cpu_before = crate::cpu::self_s();
    let start = mono_ns();
    for i in 1..=n {
        mcast(&handle, fd, &msg)?;
        wait(&handle, fd, "own delivery", 30, || {
            OWN_DELIVERED.load(Ordering::SeqCst) >= i
        })?;
    }
    let end = mono_ns();
    let cpu_s = crate::cpu::self_s() - cpu_before;
    mcast(&handle, fd, b"S")?;
    let _ = wait(&handle, fd, "the other senders", 120, || {
        STOPS.load(Ordering::SeqCst) >= senders
    });
    let _ = cpg::leave(&handle, GROUP);
    let secs = (end - start) as f64 / 1e9;
    Ok(
        json!({ "n": n, "size": size, "start_ns": start, "end_ns": end, "secs": secs,
               "per_s": n as f64 / secs, "cpu_s": cpu_s }),
    )
}

/// `cpg-member`: joins the group and dispatches until the sender's stop message; reports
/// how many data messages arrived and when the first and the last did.
pub fn member(timeout_s: u64) -> Result<Value> {
    let (handle, fd) = open()?;
    wait(&handle, fd, "stop message", timeout_s, || {
        STOP.load(Ordering::SeqCst)
    })?;
    let _ = cpg::leave(&handle, GROUP);
    Ok(json!({
        "received": DELIVERED.load(Ordering::SeqCst),
        "first_ns": FIRST_NS.load(Ordering::SeqCst),
        "last_ns": LAST_NS.load(Ordering::SeqCst),
    }))
}
