use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Errno, Memdb, Op, Row, SyncError, SyncStage, Tree};

fn op_mkdir(p: &str) -> Op {
    Op::Mkdir { path: p.into() }
}

fn op_put(p: &str, data: &[u8]) -> Op {
    Op::Write {
        path: p.into(),
        offset: 0,
        data: data.to_vec(),
        truncate: true,
    }
}

#[test]
fn memdb_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Memdb>();
}

#[test]
fn failed_commit_enters_error_state_and_db_keeps_old_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let m = Memdb::open(&path).unwrap();
    m.apply(&Op::Create { path: "f".into() }, 0, 10).unwrap();
    m.apply(&op_put("f", b"good"), 0, 11).unwrap();
    let good = m.checksum();
    {
        let db = m.db.lock().unwrap();
        let conn = &db.as_ref().unwrap().conn;
        conn.execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON tree WHEN NEW.name = 'f' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
    }
    assert_eq!(m.apply(&op_put("f", b"bad"), 0, 12), Err(Errno::Eio));
    assert!(m.has_errors());
    assert!(m.last_error().unwrap().contains("injected failure"));
    assert_eq!(
        m.apply(&op_mkdir("d"), 0, 13),
        Err(Errno::Eio),
        "later ops fail too"
    );
    assert_eq!(m.read("f", 0, 10), Err(Errno::Eio));
    assert!(m.with_tree(Tree::has_errors));
    drop(m);
    let m = Memdb::open(&path).unwrap();
    assert_eq!(
        m.read("f", 0, 10).unwrap(),
        b"good",
        "the failed transaction was rolled back"
    );
    assert_eq!(m.checksum(), good);
    assert!(!m.has_errors());
}

#[test]
fn concurrent_writers_and_readers() {
    let dir = tempfile::tempdir().unwrap();
    let m = Arc::new(Memdb::open(dir.path().join("config.db")).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                let p = format!("f{i}");
                m.apply(&Op::Create { path: p.clone() }, i, 1).unwrap();
                for n in 0..25u32 {
                    m.apply(&op_put(&p, &n.to_le_bytes()), i, 2).unwrap();
                    let _ = m.read(&p, 0, 4).unwrap();
                    let _ = m.readdir("").unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(m.version(), 1 + 4 * 26);
    let sum = m.checksum();
    let path = m.path().unwrap().to_path_buf();
    drop(m);
    assert_eq!(Memdb::open(path).unwrap().checksum(), sum);
}

#[test]
fn local_unlock_of_expired_lock() {
    let m = Memdb::in_memory();
    m.apply(&op_mkdir("priv"), 0, 1).unwrap();
    m.apply(&op_mkdir("priv/lock"), 0, 1).unwrap();
    m.apply(&op_mkdir("priv/lock/file-x"), 0, 1).unwrap();
    let now = Instant::now();
    assert_eq!(
        m.unlock_expired_local("priv/lock/file-x", 5, now),
        Ok(false)
    );
    assert_eq!(m.unlock_expired_local("priv/lock/nope", 5, now), Ok(false));
    assert_eq!(
        m.unlock_expired_local("priv", 5, now),
        Ok(false),
        "not a lock dir"
    );
    let later = now + Duration::from_secs(130);
    assert_eq!(m.expired_locks(later).len(), 1);
    assert_eq!(
        m.unlock_expired_local("priv/lock/file-x", 5, later),
        Ok(true)
    );
    assert!(m.lookup("priv/lock/file-x").is_none());
    assert!(m.expired_locks(later).is_empty());
}

#[test]
fn cluster_unlock_requires_matching_checksum() {
    let m = Memdb::in_memory();
    for p in ["priv", "priv/lock", "priv/lock/a"] {
        m.apply(&op_mkdir(p), 3, 1).unwrap();
    }
    let csum = m.with_tree(|t| t.entry_checksum("priv/lock/a")).unwrap();
    let later = Instant::now() + Duration::from_secs(121);
    assert!(!m.unlock_request_expired("priv/lock/a", &[0; 32], later));
    assert!(m.unlock_request_expired("priv/lock/a", &csum, later));
    assert_eq!(m.unlock("priv/lock/a", &[0; 32], 1, 9), Ok(false));
    assert_eq!(m.unlock("priv/lock/a", &csum, 1, 9), Ok(true));
    assert_eq!(
        m.unlock("priv/lock/a", &csum, 1, 9),
        Ok(false),
        "already gone"
    );
}

fn leader_and_member() -> (Memdb, Memdb) {
    let leader = Memdb::in_memory();
    let member = Memdb::in_memory();
    for m in [&leader, &member] {
        m.apply(&op_mkdir("d"), 1, 100).unwrap();
        m.apply(
            &Op::Create {
                path: "d/shared".into(),
            },
            1,
            100,
        )
        .unwrap();
    }
    leader
        .apply(
            &Op::Create {
                path: "d/new".into(),
            },
            1,
            101,
        )
        .unwrap();
    leader.apply(&op_put("d/new", b"leader"), 1, 102).unwrap();
    member
        .apply(
            &Op::Create {
                path: "member-only".into(),
            },
            2,
            103,
        )
        .unwrap();
    (leader, member)
}

/// Makes SQLite refuse to store a row with this name (injected failure).
fn refuse_rows_named(m: &Memdb, name: &str) {
    let db = m.db.lock().unwrap();
    let conn = &db.as_ref().unwrap().conn;
    conn.execute_batch(&format!(
        "CREATE TRIGGER boom BEFORE INSERT ON tree WHEN NEW.name = '{name}' \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
    ))
    .unwrap();
}

/// Receives `records` into a new sync stage.
fn received(records: Vec<Row>) -> SyncStage {
    let mut stage = SyncStage::new();
    for record in records {
        stage.receive(record).unwrap();
    }
    stage
}

fn sync_into(leader: &Memdb, member: &Memdb, skip: usize) -> Result<(), SyncError> {
    let li = leader.index();
    let wanted = li.missing_in(&member.index());
    let updates: Vec<_> =
        leader.with_tree(|t| wanted.iter().skip(skip).filter_map(|i| t.row(*i)).collect());
    member.apply_sync(&li, received(updates))
}

#[test]
fn sync_commit_in_memory() {
    let (leader, member) = leader_and_member();
    sync_into(&leader, &member, 0).unwrap();
    assert_eq!(member.checksum(), leader.checksum());
    assert!(
        member.lookup("member-only").is_none(),
        "deletions are inferred"
    );
}

#[test]
fn sync_commit_persists_and_rejects_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let (leader, _) = leader_and_member();
    let member = Memdb::open(&path).unwrap();
    member.apply(&op_mkdir("old"), 2, 5).unwrap();
    sync_into(&leader, &member, 0).unwrap();
    assert_eq!(member.checksum(), leader.checksum());
    drop(member);
    let member = Memdb::open(&path).unwrap();
    assert_eq!(
        member.checksum(),
        leader.checksum(),
        "sync result is on disk"
    );
    leader.apply(&op_put("d/new", b"changed"), 1, 200).unwrap();
    let err = sync_into(&leader, &member, 1).unwrap_err();
    assert!(matches!(err, SyncError::IndexMismatch { .. }), "{err}");
    assert!(member.has_errors());
    assert_eq!(member.apply(&op_mkdir("x"), 0, 1), Err(Errno::Eio));
    let before = member.with_tree(|t| t.version());
    drop(member);
    let member = Memdb::open(&path).unwrap();
    assert_eq!(member.version(), before, "rolled back");
}

#[test]
fn a_rejected_sync_keeps_the_old_tree_in_memory() {
    let (leader, member) = leader_and_member();
    let before = member.checksum();
    leader.apply(&op_put("d/new", b"changed"), 1, 200).unwrap();
    let err = sync_into(&leader, &member, 1).unwrap_err();
    assert!(matches!(err, SyncError::IndexMismatch { .. }), "{err}");
    assert!(member.has_errors());
    assert!(member.with_tree(Tree::has_errors));
    assert_eq!(member.checksum(), before);
}

#[test]
fn a_sync_stage_refuses_records_no_tree_can_hold() {
    let record = |inode, kind, name: &str, data: Option<&[u8]>| Row {
        inode,
        parent: 0,
        version: 5,
        writer: 1,
        mtime: 7,
        kind,
        name: name.into(),
        data: data.map(<[u8]>::to_vec),
    };
    let mut stage = SyncStage::new();
    for bad in [
        record(3, 8, "a/b", None),
        record(3, 8, "..", None),
        record(3, 8, "", None),
        record(3, 6, "x", None),
        record(3, 4, "d", Some(b"data")),
    ] {
        assert!(stage.receive(bad.clone()).is_err(), "{bad:?}");
    }
    assert!(stage.is_empty());
    stage.receive(record(0, 4, "", None)).unwrap();
    stage.receive(record(3, 8, "f", Some(b"x"))).unwrap();
    assert_eq!(stage.len(), 2);
}

#[test]
fn the_last_update_record_of_an_inode_wins() {
    let (leader, member) = leader_and_member();
    let li = leader.index();
    let wanted = li.missing_in(&member.index());
    let mut updates: Vec<_> =
        leader.with_tree(|t| wanted.iter().filter_map(|i| t.row(*i)).collect());
    let mut stale = updates.last().unwrap().clone();
    stale.data = Some(b"stale".to_vec());
    updates.insert(0, stale);
    member.apply_sync(&li, received(updates)).unwrap();
    assert_eq!(member.checksum(), leader.checksum());
}

#[test]
fn a_sync_whose_database_write_fails_leaves_the_database_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let (leader, _) = leader_and_member();
    let member = Memdb::open(&path).unwrap();
    member.apply(&op_mkdir("old"), 2, 5).unwrap();
    let before = member.checksum();
    refuse_rows_named(&member, "new");
    let err = sync_into(&leader, &member, 0).unwrap_err();
    assert!(matches!(err, SyncError::Store(_)), "{err}");
    assert!(member.has_errors());
    assert_eq!(member.readdir(""), Err(Errno::Eio), "nothing is served");
    assert_eq!(member.apply(&op_mkdir("x"), 0, 1), Err(Errno::Eio));
    drop(member);
    let member = Memdb::open(&path).unwrap();
    assert_eq!(member.checksum(), before, "the database was rolled back");
}

#[test]
fn a_batch_is_committed_at_its_end_in_one_piece() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let m = Memdb::open(&path).unwrap();
    m.apply(&op_mkdir("d"), 0, 10).unwrap();
    m.begin_batch();
    m.apply(&Op::Create { path: "d/f".into() }, 0, 11).unwrap();
    m.apply(&op_put("d/f", b"data"), 0, 12).unwrap();
    // In memory at once (readers see it), on disk only at the end of the batch.
    assert_eq!(m.read("d/f", 0, 10).unwrap(), b"data");
    m.end_batch().unwrap();
    let committed = m.checksum();
    // A crash (drop without end_batch) loses the open batch and nothing before it.
    m.begin_batch();
    m.apply(&op_put("d/f", b"lost"), 0, 13).unwrap();
    drop(m);
    let m = Memdb::open(&path).unwrap();
    assert_eq!(m.read("d/f", 0, 10).unwrap(), b"data");
    assert_eq!(m.checksum(), committed);
}

#[test]
fn a_failed_batch_commit_enters_the_error_state_and_keeps_the_db_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let m = Memdb::open(&path).unwrap();
    m.apply(&op_mkdir("d"), 0, 10).unwrap();
    let before = m.checksum();
    refuse_rows_named(&m, "g");
    m.begin_batch();
    m.apply(&Op::Create { path: "d/f".into() }, 0, 11).unwrap();
    m.apply(&Op::Create { path: "d/g".into() }, 0, 12).unwrap();
    assert_eq!(m.end_batch(), Err(Errno::Eio));
    assert!(m.has_errors());
    assert!(m.with_tree(Tree::has_errors));
    drop(m);
    let m = Memdb::open(&path).unwrap();
    assert!(m.lookup("d/f").is_none(), "the whole batch was rolled back");
    assert_eq!(m.checksum(), before);
}

#[test]
fn a_batch_writes_the_same_rows_as_the_same_operations_one_by_one() {
    let ops = [
        op_mkdir("d"),
        Op::Create { path: "d/a".into() },
        op_put("d/a", b"first"),
        Op::Create { path: "d/b".into() },
        Op::Rename {
            from: "d/a".into(),
            to: "d/c".into(),
        },
        op_put("d/b", b"second"),
        Op::Delete { path: "d/b".into() },
        op_mkdir("e"),
        Op::Rename {
            from: "d/c".into(),
            to: "e/c".into(),
        },
        op_put("e/c", b"third"),
        Op::Create { path: "d/a".into() },
    ];
    let dir = tempfile::tempdir().unwrap();
    let rows_after = |name: &str, batched: bool| {
        let path = dir.path().join(name);
        let m = Memdb::open(&path).unwrap();
        if batched {
            m.begin_batch();
        }
        for (i, op) in ops.iter().enumerate() {
            m.apply(op, 1, 100 + i as u32).unwrap();
        }
        if batched {
            m.end_batch().unwrap();
        }
        drop(m);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT inode, parent, version, writer, mtime, type, name, data FROM tree ORDER BY inode")
            .unwrap();
        let rows = stmt.query_map([], |r| {
            Ok((
                [
                    r.get::<_, i64>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ],
                r.get::<_, String>(6)?,
                r.get::<_, Option<Vec<u8>>>(7)?,
            ))
        });
        rows.unwrap().collect::<Result<Vec<_>, _>>().unwrap()
    };
    let one_by_one = rows_after("single.db", false);
    assert_eq!(rows_after("batched.db", true), one_by_one);
    assert!(one_by_one
        .iter()
        .any(|r| r.1 == "c" && r.2.as_deref() == Some(&b"third"[..])));
}

#[test]
fn only_the_last_change_of_each_row_is_kept_in_order() {
    use crate::RowChange;
    let version = |v| RowChange::Version {
        version: v,
        writer: 1,
        mtime: 0,
    };
    let row = |inode, v| {
        RowChange::Replace(Row {
            inode,
            parent: 0,
            version: v,
            writer: 1,
            mtime: 0,
            kind: 8,
            name: format!("f{inode}"),
            data: None,
        })
    };
    let changes = vec![
        row(5, 1),
        version(1),
        row(5, 2),
        version(2),
        row(6, 3),
        RowChange::Delete(5),
        version(3),
    ];
    assert_eq!(
        RowChange::last_per_row(changes),
        vec![row(6, 3), RowChange::Delete(5), version(3)]
    );
}
