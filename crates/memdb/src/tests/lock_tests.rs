use std::time::{Duration, Instant};

use super::*;
use crate::{LockTable, LOCK_TIMEOUT};

fn lock_tree() -> Tree {
    let mut t = Tree::new(0);
    mkdir(&mut t, "priv").unwrap();
    mkdir(&mut t, "priv/lock").unwrap();
    t
}

fn mtime_op(p: &str, m: u32) -> Op {
    Op::Mtime {
        path: p.into(),
        mtime: m,
    }
}

#[test]
fn lock_dir_mtime_rules() {
    let mut t = lock_tree();
    t.apply(
        &Op::Mkdir {
            path: "priv/lock/x".into(),
        },
        1,
        500,
    )
    .unwrap();
    assert_eq!(
        t.apply(&mtime_op("priv/lock/x", 0), 1, 600),
        Err(Errno::Eacces),
        "unlock request utime(0,0)"
    );
    assert_eq!(
        t.apply(&mtime_op("priv/lock/x", 499), 1, 600),
        Err(Errno::Eacces),
        "older mtime"
    );
    assert_eq!(
        t.apply(&mtime_op("priv/lock/x", 600), 2, 600),
        Err(Errno::Eacces),
        "other node"
    );
    assert_eq!(
        t.apply(&mtime_op("priv/lock/x", 500), 1, 600)
            .map(|a| a.result),
        Ok(0),
        "same mtime ok"
    );
    assert_eq!(
        t.apply(&mtime_op("/priv//lock/x/", 650), 1, 600)
            .map(|a| a.result),
        Ok(0)
    );
    assert_eq!(t.lookup("priv/lock/x").unwrap().mtime, 650);
    // files in priv/lock and directories elsewhere follow the ordinary rules
    t.apply(
        &Op::Create {
            path: "priv/lock/file".into(),
        },
        1,
        500,
    )
    .unwrap();
    assert!(t.apply(&mtime_op("priv/lock/file", 0), 2, 1).is_ok());
    t.apply(
        &Op::Mkdir {
            path: "priv/other".into(),
        },
        1,
        500,
    )
    .unwrap();
    assert!(t.apply(&mtime_op("priv/other", 0), 2, 1).is_ok());
}

#[test]
fn lock_dirs_cannot_be_renamed_or_moved_in_place() {
    let mut t = lock_tree();
    mkdir(&mut t, "priv/lock/x").unwrap();
    assert_eq!(
        rename(&mut t, "priv/lock/x", "priv/lock/y"),
        Err(Errno::Eacces)
    );
    assert_eq!(rename(&mut t, "priv/lock/x", "z"), Err(Errno::Eacces));
    create(&mut t, "priv/lock/f").unwrap();
    assert_eq!(
        rename(&mut t, "priv/lock/f", "priv/lock/g"),
        Ok(0),
        "files may move"
    );
    assert_eq!(delete(&mut t, "priv/lock/x"), Ok(0), "release = rmdir");
}

#[test]
fn bookkeeping_follows_ops() {
    let mut t = lock_tree();
    let t0 = Instant::now();
    let mut locks = LockTable::rebuild(&t, t0);
    assert!(locks.is_empty());
    let op = Op::Mkdir {
        path: "priv/lock/x".into(),
    };
    t.apply(&op, 1, 500).unwrap();
    locks.observe(&t, &op, t0);
    let csum = t.entry_checksum("priv/lock/x").unwrap();
    assert_eq!(locks.get("priv/lock/x").unwrap().csum, csum);
    assert!(
        locks.expired(&t, t0 + LOCK_TIMEOUT).is_empty(),
        "exactly 120 s is not expired"
    );
    let late = t0 + LOCK_TIMEOUT + Duration::from_secs(1);
    assert_eq!(
        locks.expired(&t, late),
        vec![("priv/lock/x".to_string(), csum)]
    );
    // refresh: new checksum, timer restarts
    let refresh = mtime_op("priv/lock/x", 600);
    t.apply(&refresh, 1, 600).unwrap();
    locks.observe(&t, &refresh, late);
    assert!(locks
        .expired(&t, late + Duration::from_secs(100))
        .is_empty());
    assert_eq!(locks.expired(&t, late + Duration::from_secs(121)).len(), 1);
    // a change not seen by the bookkeeping makes the recorded checksum stale → not expired
    let mut changed = t.clone();
    changed
        .apply(&mtime_op("priv/lock/x", 700), 1, 700)
        .unwrap();
    assert!(locks
        .expired(&changed, late + Duration::from_secs(500))
        .is_empty());
    // delete drops the entry
    let del = Op::Delete {
        path: "priv/lock/x".into(),
    };
    t.apply(&del, 1, 700).unwrap();
    locks.observe(&t, &del, late);
    assert!(locks.is_empty());
}

#[test]
fn rebuild_restarts_all_timers() {
    let mut t = lock_tree();
    mkdir(&mut t, "priv/lock/a").unwrap();
    mkdir(&mut t, "priv/lock/b").unwrap();
    create(&mut t, "priv/lock/file").unwrap();
    let now = Instant::now();
    let locks = LockTable::rebuild(&t, now);
    assert_eq!(locks.len(), 2, "only directories are locks");
    assert!(locks
        .get("priv/lock/a")
        .is_some_and(|i| i.first_seen == now));
}

#[test]
fn is_expired_semantics_of_unlock_requests() {
    let t = lock_tree();
    let mut locks = LockTable::rebuild(&t, Instant::now());
    let now = Instant::now();
    let (c1, c2) = ([1u8; 32], [2u8; 32]);
    assert!(
        !locks.is_expired("priv/lock/x", &c1, now),
        "unknown lock: timer starts"
    );
    assert!(!locks.is_expired("priv/lock/x", &c1, now + Duration::from_secs(120)));
    assert!(locks.is_expired("priv/lock/x", &c1, now + Duration::from_secs(121)));
    assert!(
        !locks.is_expired("priv/lock/x", &c2, now + Duration::from_secs(200)),
        "new checksum resets"
    );
    assert!(!locks.is_expired("priv/lock/x", &c2, now + Duration::from_secs(300)));
    assert!(locks.is_expired("priv/lock/x", &c2, now + Duration::from_secs(321)));
}
