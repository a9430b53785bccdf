//! The raw limit: a CPG group of our own (not one of pmxcfs's groups) where one sender
//! multicasts AGREED messages and counts its own deliveries per second.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use rust_corosync::cpg::{self, Address, Handle};
use rust_corosync::{CsError, DispatchFlags, NodeId};
use serde_json::{json, Value};

const GROUP: &str = "quorate_bench_cpg";

static DELIVERED: AtomicU64 = AtomicU64::new(0);
static MEMBERS: AtomicUsize = AtomicUsize::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

fn deliver(_h: &Handle, _g: String, _n: NodeId, _p: u32, msg: &[u8], _l: usize) {
    if msg.first() == Some(&b'S') {
        STOP.store(true, Ordering::SeqCst);
    } else {
        DELIVERED.fetch_add(1, Ordering::SeqCst);
    }
}

fn confchg(_h: &Handle, _g: &str, members: Vec<Address>, _l: Vec<Address>, _j: Vec<Address>) {
    MEMBERS.store(members.len(), Ordering::SeqCst);
}

fn cs(call: &'static str) -> impl Fn(CsError) -> anyhow::Error {
    move |e| anyhow!("{call} failed: {e}")
}

fn open() -> Result<(Handle, i32)> {
    let model = cpg::ModelData::ModelV1(cpg::Model1Data {
        flags: cpg::Model1Flags::None,
        deliver_fn: Some(deliver),
        confchg_fn: Some(confchg),
        totem_confchg_fn: None,
    });
    let handle = cpg::initialize(&model, 0).map_err(cs("cpg_initialize"))?;
    cpg::join(&handle, GROUP).map_err(cs("cpg_join"))?;
    let fd = cpg::fd_get(&handle).map_err(cs("cpg_fd_get"))?;
    Ok((handle, fd))
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

fn mcast(handle: &Handle, fd: i32, msg: &[u8]) -> Result<()> {
    loop {
        match cpg::mcast_joined(handle, cpg::Guarantee::TypeAgreed, msg) {
            Err(CsError::CsErrTryAgain) => pump(handle, fd, 1)?,
            other => return other.map_err(cs("cpg_mcast_joined")),
        }
    }
}

/// `cpg-send N SIZE MEMBERS`: waits for MEMBERS members, sends N messages of SIZE bytes, and
/// reports own AGREED deliveries per second; then tells the members to stop.
pub fn send(n: u64, size: usize, members: usize) -> Result<Value> {
    let (handle, fd) = open()?;
    wait(&handle, fd, "all CPG members", 60, || {
        MEMBERS.load(Ordering::SeqCst) >= members
    })?;
    let mut msg = vec![b'D'; size.max(1)];
    let start = Instant::now();
    for i in 0..n {
        if size >= 9 {
            msg[1..9].copy_from_slice(&i.to_le_bytes());
        }
        mcast(&handle, fd, &msg)?;
        pump(&handle, fd, 0)?;
    }
    wait(&handle, fd, "own deliveries", 120, || {
        DELIVERED.load(Ordering::SeqCst) >= n
    })?;
    let secs = start.elapsed().as_secs_f64();
    mcast(&handle, fd, b"S")?;
    let _ = wait(&handle, fd, "stop echo", 5, || STOP.load(Ordering::SeqCst));
    let _ = cpg::leave(&handle, GROUP);
    Ok(json!({ "n": n, "size": size, "secs": secs, "per_s": n as f64 / secs }))
}

/// `cpg-member`: joins the group and dispatches until the sender's stop message.
pub fn member(timeout_s: u64) -> Result<Value> {
    let (handle, fd) = open()?;
    wait(&handle, fd, "stop message", timeout_s, || {
        STOP.load(Ordering::SeqCst)
    })?;
    let received = DELIVERED.load(Ordering::SeqCst);
    let _ = cpg::leave(&handle, GROUP);
    Ok(json!({ "received": received }))
}
