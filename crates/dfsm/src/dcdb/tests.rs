//! DCDB delivery semantics, leader selection, update records and hostile input.

use std::sync::Arc;
use std::time::{Duration, Instant};

use memdb::{Memdb, Op, Tree};

use super::*;
use crate::codec::{encode_normal, DcdbSubtype, FuseOp, UnlockRecord};
use crate::machine::{Action, Dfsm, Mode};

const A: MemberId = MemberId::new(1, 100);
const B: MemberId = MemberId::new(2, 200);
const T: u32 = 1_700_000_000;

/// A single-member, SYNCED DCDB machine (messages from B are delivered too: in SYNCED
/// mode the sender is not checked, as in C).
fn node(quorate: bool) -> Dfsm<Dcdb> {
    let dcdb = Dcdb::new(Arc::new(Memdb::from_tree(Tree::new(T))));
    dcdb.set_quorate(quorate);
    let mut d = Dfsm::new(dcdb, A);
    d.confchg(&[A], &[], &[A], T);
    assert_eq!(d.mode(), Mode::Synced);
    d
}

fn op_msg(op: &Op, count: u64, time: u32) -> Vec<u8> {
    let (subtype, payload) = op_to_message(op);
    encode_normal(subtype.code(), 1, time, count, &payload)
}

fn left(actions: &[Action<DcdbEvent>]) -> bool {
    actions.iter().any(|a| matches!(a, Action::Leave))
}

fn events(actions: &[Action<DcdbEvent>]) -> Vec<DcdbEvent> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::App(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn path(p: &str) -> String {
    p.to_string()
}

#[test]
fn writes_use_sender_and_header_time() {
    let mut d = node(true);
    d.deliver(
        B,
        &op_msg(
            &Op::Mkdir {
                path: path("nodes"),
            },
            1,
            T + 5,
        ),
        T,
    );
    let write = Op::Write {
        path: path("nodes/x"),
        offset: 0,
        data: b"hello".to_vec(),
        truncate: false,
    };
    // own message: the writer gets the byte count
    d.deliver(
        B,
        &op_msg(
            &Op::Create {
                path: path("nodes/x"),
            },
            2,
            T + 6,
        ),
        T,
    );
    let (count, out) = d.send_normal(1, &op_to_message(&write).1, T + 7).unwrap();
    let Action::Multicast(bytes) = &out[0] else {
        panic!("multicast expected")
    };
    let out = d.deliver(A, bytes, T + 100);
    assert!(out.contains(&Action::Completed { count, result: 5 }));
    let info = d.app().memdb().lookup("nodes/x").unwrap();
    assert_eq!((info.writer, info.mtime, info.size), (1, T + 7, 5));
    let dir = d.app().memdb().lookup("nodes").unwrap();
    assert_eq!((dir.writer, dir.mtime), (2, T + 5));
    // MTIME takes the time from the offset field
    d.deliver(
        B,
        &op_msg(
            &Op::Mtime {
                path: path("nodes/x"),
                mtime: 42,
            },
            3,
            T + 9,
        ),
        T,
    );
    let info = d.app().memdb().lookup("nodes/x").unwrap();
    assert_eq!((info.writer, info.mtime), (2, 42));
    // errors come back as -errno and change nothing
    let v = d.app().memdb().version();
    let (count, out) = d
        .send_normal(
            2,
            &op_to_message(&Op::Mkdir {
                path: path("nodes"),
            })
            .1,
            T,
        )
        .unwrap();
    let Action::Multicast(bytes) = &out[0] else {
        panic!()
    };
    assert!(d.deliver(A, bytes, T).contains(&Action::Completed {
        count,
        result: -libc::EEXIST
    }));
    assert_eq!(d.app().memdb().version(), v);
    assert_eq!(d.mode(), Mode::Synced);
}

#[test]
fn corosync_conf_changes_are_reported() {
    let mut d = node(true);
    let create = Op::Create {
        path: path("corosync.conf"),
    };
    let out = d.deliver(B, &op_msg(&create, 1, T), T);
    assert_eq!(events(&out), [DcdbEvent::CorosyncConf { notify: false }]);
    let (_, out) = d
        .send_normal(
            1,
            &op_to_message(&Op::Write {
                path: path("corosync.conf"),
                offset: 0,
                data: b"x".to_vec(),
                truncate: true,
            })
            .1,
            T,
        )
        .unwrap();
    let Action::Multicast(bytes) = &out[0] else {
        panic!()
    };
    assert_eq!(
        events(&d.deliver(A, bytes, T)),
        [DcdbEvent::CorosyncConf { notify: true }]
    );
    // a failed write or another file: no event
    let out = d.deliver(B, &op_msg(&create, 2, T), T);
    assert!(events(&out).is_empty());
    d.deliver(
        B,
        &op_msg(
            &Op::Create {
                path: path("c.new"),
            },
            3,
            T,
        ),
        T,
    );
    let rename = Op::Rename {
        from: path("c.new"),
        to: path("corosync.conf"),
    };
    assert_eq!(
        events(&d.deliver(B, &op_msg(&rename, 4, T), T)),
        [DcdbEvent::CorosyncConf { notify: false }]
    );
    // the hook compares the exact string
    d.deliver(
        B,
        &op_msg(
            &Op::Create {
                path: path("/corosync.conf2"),
            },
            5,
            T,
        ),
        T,
    );
    let out = d.deliver(
        B,
        &op_msg(
            &Op::Write {
                path: path("/corosync.conf"),
                offset: 0,
                data: b"y".to_vec(),
                truncate: false,
            },
            6,
            T,
        ),
        T,
    );
    assert!(events(&out).is_empty());
}

#[test]
fn not_quorate_on_delivery_refuses_and_leaves() {
    let mut d = node(false);
    let (count, out) = d
        .send_normal(5, &op_to_message(&Op::Create { path: path("f") }).1, T)
        .unwrap();
    let Action::Multicast(bytes) = &out[0] else {
        panic!()
    };
    let out = d.deliver(A, bytes, T);
    assert!(out.contains(&Action::Completed {
        count,
        result: -libc::EACCES
    }));
    assert!(left(&out));
    assert!(d.app().memdb().lookup("f").is_none());
    assert_eq!(d.mode(), Mode::Leave);
}

#[test]
fn hostile_dcdb_messages() {
    // unknown subtype and malformed records: leave, tree untouched
    let bad: Vec<(&str, Vec<u8>)> = vec![
        (
            "unknown subtype",
            encode_normal(9, 1, T, 1, &FuseOp::default().encode()),
        ),
        ("short FUSE op", encode_normal(5, 1, T, 1, &[0; 19])),
        (
            "length mismatch",
            encode_normal(5, 1, T, 1, &{
                let mut r = FuseOp {
                    path: Some(path("f")),
                    ..FuseOp::default()
                }
                .encode();
                r.push(0);
                r
            }),
        ),
        (
            "missing path",
            encode_normal(5, 1, T, 1, &FuseOp::default().encode()),
        ),
        (
            "rename without target",
            encode_normal(
                4,
                1,
                T,
                1,
                &FuseOp {
                    path: Some(path("f")),
                    ..FuseOp::default()
                }
                .encode(),
            ),
        ),
        ("short unlock record", encode_normal(8, 1, T, 1, &[0; 32])),
    ];
    for (what, msg) in bad {
        let mut d = node(true);
        let before = d.app().memdb().checksum();
        let out = d.deliver(B, &msg, T);
        assert!(left(&out), "{what}");
        assert_eq!(d.app().memdb().checksum(), before, "{what}");
    }
    // bad names are memdb's business: -EACCES for everybody alike, no leave
    for p in ["..", "a/..", "x\0y", ".", ""] {
        let mut d = node(true);
        let before = d.app().memdb().checksum();
        let (count, out) = d
            .send_normal(2, &op_to_message(&Op::Mkdir { path: path(p) }).1, T)
            .unwrap();
        let Action::Multicast(bytes) = &out[0] else {
            panic!()
        };
        let out = d.deliver(A, bytes, T);
        assert!(out.iter().any(|a| matches!(a, Action::Completed { count: c, result } if *c == count && *result < 0)), "{p:?}");
        assert!(!left(&out), "{p:?}");
        assert_eq!(d.app().memdb().checksum(), before, "{p:?}");
    }
}

#[test]
fn memdb_error_state_stops_the_group() {
    let mut tree = Tree::new(T);
    tree.set_error();
    let dcdb = Dcdb::new(Arc::new(Memdb::from_tree(tree)));
    dcdb.set_quorate(true);
    let mut d = Dfsm::new(dcdb, A);
    d.confchg(&[A], &[], &[A], T);
    let out = d.deliver(B, &op_msg(&Op::Create { path: path("f") }, 1, T), T);
    assert!(left(&out));
    assert_eq!(d.mode(), Mode::Error);
    assert!(!d.restartable());
}

#[test]
fn unlock_request_and_unlock() {
    let mut d = node(true);
    for (i, p) in ["priv", "priv/lock", "priv/lock/file-x"].iter().enumerate() {
        d.deliver(B, &op_msg(&Op::Mkdir { path: path(p) }, i as u64 + 1, T), T);
    }
    let memdb = d.app().memdb().clone();
    let csum = memdb
        .with_tree(|t| t.entry_checksum("priv/lock/file-x"))
        .unwrap();
    let rec = UnlockRecord {
        csum,
        path: path("priv/lock/file-x"),
    };
    let req = encode_normal(DcdbSubtype::UnlockRequest.code(), 1, T, 10, &rec.encode());
    // not expired yet: nothing is sent
    assert!(!d
        .deliver(B, &req, T)
        .iter()
        .any(|a| matches!(a, Action::Multicast(_))));
    // 121 s later by the local clock: the lowest node multicasts UNLOCK with the same record
    let later = Instant::now() + Duration::from_secs(121);
    d.app_mut().set_lock_clock(move || later);
    let out = d.deliver(B, &req, T);
    let sent: Vec<&Vec<u8>> = out
        .iter()
        .filter_map(|a| match a {
            Action::Multicast(b) => Some(b),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    let (h, payload) = crate::codec::decode_normal(sent[0]).unwrap();
    assert_eq!(h.base.subtype, DcdbSubtype::Unlock.code());
    assert_eq!(UnlockRecord::decode(payload).unwrap(), rec);
    // UNLOCK with a stale checksum does nothing; with the right one it deletes
    let stale = UnlockRecord {
        csum: [0; 32],
        path: rec.path.clone(),
    };
    d.deliver(B, &encode_normal(8, 1, T, 11, &stale.encode()), T);
    assert!(memdb.lookup("priv/lock/file-x").is_some());
    d.deliver(B, &encode_normal(8, 1, T + 1, 12, &rec.encode()), T);
    assert!(memdb.lookup("priv/lock/file-x").is_none());
    // a node that is not the lowest never reacts
    let dcdb = Dcdb::new(Arc::new(Memdb::from_tree(Tree::new(T))));
    dcdb.set_quorate(true);
    let mut high = Dfsm::new(dcdb, B);
    high.confchg(&[A, B], &[], &[A, B], T);
    assert_eq!(high.lowest_nodeid(), 1);
}

#[test]
fn acknowledgements_are_no_ops_for_others() {
    let entries = [AckEntry::Applied(A, 7), AckEntry::Known(B, 3)];
    let rec = encode_ack(&entries);
    assert_eq!(rec.csum, ACK_MAGIC);
    assert!(rec.path.starts_with(ACK_PATH_PREFIX));
    assert_eq!(parse_ack(&rec).unwrap(), entries);
    assert_eq!(
        parse_ack(&UnlockRecord {
            csum: [0; 32],
            path: rec.path.clone()
        }),
        None
    );
    // delivered to a node in the original mode: result 0, tree unchanged, no leave
    let mut d = node(true);
    let before = d.app().memdb().checksum();
    let out = d.deliver(B, &encode_normal(7, 1, T, 1, &rec.encode()), T);
    assert!(!left(&out));
    assert_eq!(d.app().memdb().checksum(), before);
    // and the path can never exist: memdb's lookup fails on the ".." component
    assert!(d.app().memdb().lookup(&rec.path).is_none());
}

#[test]
fn leader_selection() {
    let idx = |version, mtime| memdb::Index {
        version,
        last_inode: 0,
        writer: 0,
        mtime,
        entries: vec![],
    };
    assert_eq!(select_leader(&[]), None);
    assert_eq!(select_leader(&[idx(3, 5)]), Some(0));
    assert_eq!(select_leader(&[idx(3, 5), idx(4, 1), idx(2, 9)]), Some(1));
    assert_eq!(
        select_leader(&[idx(3, 5), idx(3, 6), idx(3, 6)]),
        Some(1),
        "equal: first wins"
    );
    assert_eq!(select_leader(&[idx(3, 5), idx(3, 5)]), Some(0));
}

#[test]
fn hostile_update_records_are_rejected() {
    let mut dcdb = Dcdb::new(Arc::new(Memdb::from_tree(Tree::new(T))));
    let mut ctx = crate::app::Ctx::new(A, 1, T);
    let states = [crate::app::MemberState {
        member: A,
        state: &dcdb.memdb().index().encode(),
    }];
    let out = dcdb.process_state_update(&mut ctx, &states).unwrap();
    assert!(out.update_complete && out.updates.is_empty());
    let row = |name: &str, kind, data: Option<Vec<u8>>| memdb::Row {
        inode: 5,
        parent: 0,
        version: 5,
        writer: 1,
        mtime: T,
        kind,
        name: name.to_string(),
        data,
    };
    for bad in [
        row("a/b", 8, None),
        row("", 8, None),
        row("d", 4, Some(vec![1])),
    ] {
        let err = dcdb.process_update(&mut ctx, B, &crate::codec::encode_update(bad.borrowed()));
        assert!(err.is_err(), "{bad:?}");
    }
    assert!(dcdb.process_update(&mut ctx, B, &[1, 2, 3]).is_err());
    assert!(dcdb
        .process_update(
            &mut ctx,
            B,
            &crate::codec::encode_update(row("ok", 8, Some(vec![1])).borrowed())
        )
        .is_ok());
    // malformed STATE blobs make the node leave
    let short = [crate::app::MemberState {
        member: A,
        state: &[0u8; 31],
    }];
    assert!(dcdb.process_state_update(&mut ctx, &short).is_err());
}
