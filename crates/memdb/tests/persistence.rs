//! Persistence: reopen gives the identical tree, the on-disk format is the original's.

use std::os::unix::fs::PermissionsExt;

use memdb::{Errno, Memdb, Op, LOCK_FILE_NAME, SCHEMA};
use rusqlite::Connection;

fn apply(m: &Memdb, op: Op) -> Result<u64, Errno> {
    m.apply(&op, 3, 1_700_000_000)
}

fn mkdir(m: &Memdb, p: &str) {
    apply(m, Op::Mkdir { path: p.into() }).unwrap();
}

fn put(m: &Memdb, p: &str, data: &[u8]) {
    if m.lookup(p).is_none() {
        apply(m, Op::Create { path: p.into() }).unwrap();
    }
    let w = Op::Write {
        path: p.into(),
        offset: 0,
        data: data.to_vec(),
        truncate: true,
    };
    apply(m, w).unwrap();
}

type RawRow = (i64, i64, i64, i64, i64, i64, String, Option<Vec<u8>>);

fn raw_rows(path: &std::path::Path) -> Vec<RawRow> {
    let c = Connection::open(path).unwrap();
    let mut s = c
        .prepare("SELECT inode, parent, version, writer, mtime, type, name, data FROM tree ORDER BY inode")
        .unwrap();
    let rows = s
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn reopen_gives_identical_tree() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let m = Memdb::open(&path).unwrap();
    mkdir(&m, "nodes");
    mkdir(&m, "nodes/pve1");
    mkdir(&m, "nodes/pve1/qemu-server");
    put(&m, "nodes/pve1/qemu-server/100.conf", b"memory: 512\n");
    put(&m, "datacenter.cfg", b"keyboard: de\n");
    put(&m, "tmp", b"x");
    apply(
        &m,
        Op::Rename {
            from: "tmp".into(),
            to: "nodes/pve1/moved".into(),
        },
    )
    .unwrap();
    apply(
        &m,
        Op::Delete {
            path: "datacenter.cfg".into(),
        },
    )
    .unwrap();
    apply(
        &m,
        Op::Mtime {
            path: "nodes".into(),
            mtime: 42,
        },
    )
    .unwrap();
    let (sum, index, version) = (m.checksum(), m.index(), m.version());
    let vmlist = m.vmlist_text();
    drop(m);
    let m = Memdb::open(&path).unwrap();
    assert_eq!(m.checksum(), sum);
    assert_eq!(m.index(), index);
    assert_eq!(m.version(), version);
    assert!(
        m.vmlist_text()
            .contains("\"100\": { \"node\": \"pve1\", \"type\": \"qemu\""),
        "{vmlist}"
    );
}

#[test]
fn on_disk_format_matches_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let m = Memdb::open(&path).unwrap();
    let created = memdb::unix_now();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(dir.path().join(LOCK_FILE_NAME).exists());
    // a brand-new DB has only the __version__ row: version 1, writer 0, mtime now
    let rows = raw_rows(&path);
    assert_eq!(rows.len(), 1);
    let (inode, parent, version, writer, mtime, kind, name, data) = rows[0].clone();
    assert_eq!(
        (inode, parent, version, writer, kind, name.as_str(), data),
        (0, 0, 1, 0, 8, "__version__", None)
    );
    assert!((mtime - created as i64).abs() <= 2);
    mkdir(&m, "d");
    apply(
        &m,
        Op::Create {
            path: "d/empty".into(),
        },
    )
    .unwrap();
    put(&m, "f", b"abc");
    let c = Connection::open(&path).unwrap();
    let sql: String = c
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'tree'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let expected = SCHEMA.replace("IF NOT EXISTS ", "");
    assert_eq!(sql, expected.trim_end_matches(';'));
    let count: i64 = c
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 1, "only the tree table");
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let rows = raw_rows(&path);
    let names: Vec<&str> = rows.iter().map(|r| r.6.as_str()).collect();
    assert_eq!(names, ["__version__", "d", "empty", "f"], "no root row");
    assert_eq!(
        &rows[0].2,
        &(m.version() as i64),
        "__version__ holds the global version"
    );
    let d = &rows[1];
    assert_eq!(
        (d.0, d.2, d.5, d.7.clone()),
        (2, 2, 4, None),
        "dir: inode = version, no data"
    );
    let e = &rows[2];
    assert_eq!(
        (e.0, e.1, e.2, e.5, e.7.clone()),
        (3, 2, 3, 8, None),
        "empty file stores NULL"
    );
    let f = &rows[3];
    assert_eq!(
        (f.0, f.2, f.3, f.4, f.7.clone()),
        (4, 5, 3, 1_700_000_000, Some(b"abc".to_vec()))
    );
}

/// A DB as the C daemon writes it: single-line schema text, `__version__` of type 4 (after
/// a sync), a file moved into a directory created later, a guest config.
#[test]
fn opens_a_hand_built_original_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS tree ( inode INTEGER PRIMARY KEY NOT NULL, parent INTEGER NOT NULL CHECK(typeof(parent)=='integer'), version INTEGER NOT NULL CHECK(typeof(version)=='integer'), writer INTEGER NOT NULL CHECK(typeof(writer)=='integer'), mtime INTEGER NOT NULL CHECK(typeof(mtime)=='integer'), type INTEGER NOT NULL CHECK(typeof(type)=='integer'), name TEXT NOT NULL, data BLOB);
             BEGIN;
             INSERT INTO tree VALUES (0, 0, 20, 2, 1600000020, 4, '__version__', NULL);
             INSERT INTO tree VALUES (3, 12, 19, 2, 1600000019, 8, 'user.cfg.moved', X'7573657220636667');
             INSERT INTO tree VALUES (5, 0, 5, 1, 1600000005, 4, 'nodes', NULL);
             INSERT INTO tree VALUES (6, 5, 6, 1, 1600000006, 4, 'pve1', NULL);
             INSERT INTO tree VALUES (7, 6, 7, 1, 1600000007, 4, 'lxc', NULL);
             INSERT INTO tree VALUES (9, 7, 9, 1, 1600000009, 8, '200.conf', X'61726368');
             INSERT INTO tree VALUES (12, 0, 12, 2, 1600000012, 4, 'later', NULL);
             COMMIT;",
        )
        .unwrap();
    }
    let before = raw_rows(&path);
    let m = Memdb::open(&path).unwrap();
    assert_eq!(m.version(), 20);
    let root = m.with_tree(|t| t.root_info());
    assert_eq!((root.writer, root.mtime), (2, 1_600_000_020));
    assert_eq!(m.read("later/user.cfg.moved", 0, 100).unwrap(), b"user cfg");
    assert_eq!(m.lookup("later/user.cfg.moved").unwrap().inode, 3);
    assert_eq!(m.vmlist().get(200).unwrap().node, "pve1");
    assert_eq!(m.with_tree(|t| (t.last_inode(), t.len())), (12, 7));
    assert_eq!(raw_rows(&path), before, "opening changed no row");
    // the next op continues the numbering and overwrites __version__ with type 8
    apply(&m, Op::Mkdir { path: "new".into() }).unwrap();
    assert_eq!(m.lookup("new").unwrap().inode, 21);
    let rows = raw_rows(&path);
    assert_eq!((rows[0].2, rows[0].5), (21, 8));
    let sum = m.checksum();
    drop(m);
    assert_eq!(Memdb::open(&path).unwrap().checksum(), sum);
}

/// §2.13: moving files/dirs into directories created later survives close/reopen.
#[test]
fn placeholder_logic_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let m = Memdb::open(&path).unwrap();
    apply(
        &m,
        Op::Create {
            path: "testfile1".into(),
        },
    )
    .unwrap();
    mkdir(&m, "testdir1");
    mkdir(&m, "outer");
    mkdir(&m, "outer/inner");
    apply(
        &m,
        Op::Rename {
            from: "testfile1".into(),
            to: "outer/inner/testfile1".into(),
        },
    )
    .unwrap();
    apply(
        &m,
        Op::Rename {
            from: "testdir1".into(),
            to: "outer/inner/testdir1".into(),
        },
    )
    .unwrap();
    let sum = m.checksum();
    drop(m);
    let m = Memdb::open(&path).unwrap();
    assert_eq!(m.checksum(), sum);
    assert_eq!(
        apply(
            &m,
            Op::Create {
                path: "outer/inner/testfile1".into()
            }
        ),
        Err(Errno::Eexist)
    );
    assert_eq!(
        apply(
            &m,
            Op::Mkdir {
                path: "outer/inner/testdir1".into()
            }
        ),
        Err(Errno::Eexist)
    );
}

#[test]
fn second_open_is_refused_while_the_first_lives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let first = Memdb::open(&path).unwrap();
    let err = Memdb::open(&path).err().expect("second open must fail");
    let msg = err.to_string();
    assert!(msg.starts_with("another pmxcfs instance holds"), "{msg}");
    assert!(msg.contains(LOCK_FILE_NAME), "{msg}");
    let start = std::time::Instant::now();
    assert!(Memdb::open_waiting(&path, std::time::Duration::from_millis(300)).is_err());
    assert!(start.elapsed() >= std::time::Duration::from_millis(300));
    drop(first);
    Memdb::open(&path).expect("lock released on drop");
}
