//! Unit tests of the pure core (trace-like: each step states the expected outcome).

mod check_memdb;
mod load_tests;
mod lock_tests;
mod memdb_tests;
mod names_tests;
mod ops_tests;
mod rename_tests;
mod vm_tests;

use crate::{Errno, Op, Tree};

pub(crate) const W: u32 = 7;
pub(crate) const T: u32 = 1000;

pub(crate) fn ap(t: &mut Tree, op: Op) -> Result<u64, Errno> {
    t.apply(&op, W, T).map(|a| a.result)
}

pub(crate) fn create(t: &mut Tree, p: &str) -> Result<u64, Errno> {
    ap(t, Op::Create { path: p.into() })
}

pub(crate) fn write(
    t: &mut Tree,
    p: &str,
    off: u64,
    data: &[u8],
    trunc: bool,
) -> Result<u64, Errno> {
    ap(
        t,
        Op::Write {
            path: p.into(),
            offset: off,
            data: data.to_vec(),
            truncate: trunc,
        },
    )
}

pub(crate) fn mkdir(t: &mut Tree, p: &str) -> Result<u64, Errno> {
    ap(t, Op::Mkdir { path: p.into() })
}

pub(crate) fn delete(t: &mut Tree, p: &str) -> Result<u64, Errno> {
    ap(t, Op::Delete { path: p.into() })
}

pub(crate) fn rename(t: &mut Tree, from: &str, to: &str) -> Result<u64, Errno> {
    ap(
        t,
        Op::Rename {
            from: from.into(),
            to: to.into(),
        },
    )
}

pub(crate) fn content(t: &Tree, p: &str) -> Vec<u8> {
    t.read(p, 0, usize::MAX).expect("readable file")
}

/// Creates `path` (and missing parent dirs) with content.
pub(crate) fn put(t: &mut Tree, p: &str, data: &[u8]) {
    let comps: Vec<&str> = p.split('/').collect();
    for i in 1..comps.len() {
        let dir = comps[..i].join("/");
        if t.lookup(&dir).is_none() {
            mkdir(t, &dir).unwrap();
        }
    }
    if t.lookup(p).is_none() {
        create(t, p).unwrap();
    }
    write(t, p, 0, data, true).unwrap();
}
