//! Corrupt and foreign files are refused with a clear error and left byte-for-byte intact.

use std::path::{Path, PathBuf};

use memdb::{Memdb, SCHEMA};
use rusqlite::Connection;

fn db_with(dir: &Path, sql: &str) -> PathBuf {
    let path = dir.join("config.db");
    let c = Connection::open(&path).unwrap();
    c.execute_batch(sql).unwrap();
    path
}

/// Opens `path`, expects failure with a message containing `needle` and the file name, and
/// checks that the file (and its directory, apart from the lock file) did not change.
fn expect_refused(path: &Path, needle: &str) {
    let dir = path.parent().unwrap();
    let before = std::fs::read(path).unwrap();
    let listing = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != memdb::LOCK_FILE_NAME)
            .collect();
        v.sort();
        v
    };
    let files_before = listing(dir);
    let err = Memdb::open(path).err().expect("open must fail");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "names the file: {msg}"
    );
    assert!(msg.contains(needle), "expected {needle:?} in {msg}");
    assert_eq!(std::fs::read(path).unwrap(), before, "file bytes unchanged");
    assert_eq!(
        listing(dir),
        files_before,
        "no -wal/-shm or other files left"
    );
}

fn valid_schema_with(rows: &str) -> String {
    format!("{SCHEMA}\nBEGIN;\nINSERT INTO tree VALUES (0, 0, 9, 0, 1, 8, '__version__', NULL);\n{rows}\nCOMMIT;")
}

#[test]
fn random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let bytes: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, bytes).unwrap();
    expect_refused(&path, "not an SQLite database");
}

#[test]
fn truncated_sqlite_header_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend_from_slice(&[0xff; 200]);
    std::fs::write(&path, bytes).unwrap();
    expect_refused(&path, "foreign database");
}

#[test]
fn sqlite_with_another_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_with(
        dir.path(),
        "CREATE TABLE users (id INTEGER, name TEXT); INSERT INTO users VALUES (1, 'x');",
    );
    expect_refused(&path, "no table \"tree\" (found: users)");
}

#[test]
fn tree_table_with_a_different_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_with(
        dir.path(),
        "CREATE TABLE tree (inode INTEGER PRIMARY KEY, name TEXT);",
    );
    expect_refused(&path, "different schema");
}

#[test]
fn row_with_bad_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_with(
        dir.path(),
        &valid_schema_with("INSERT INTO tree VALUES (2, 0, 2, 0, 1, 5, 'x', NULL);"),
    );
    expect_refused(&path, "inode 2: unknown entry type 5");
}

#[test]
fn directory_with_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_with(
        dir.path(),
        &valid_schema_with("INSERT INTO tree VALUES (2, 0, 2, 0, 1, 4, 'd', X'00');"),
    );
    expect_refused(&path, "inode 2: directory with data");
}

#[test]
fn duplicate_names() {
    let dir = tempfile::tempdir().unwrap();
    let rows = "INSERT INTO tree VALUES (2, 0, 2, 0, 1, 8, 'f', NULL);
                INSERT INTO tree VALUES (3, 0, 3, 0, 1, 8, 'f', NULL);";
    let path = db_with(dir.path(), &valid_schema_with(rows));
    expect_refused(&path, "found entry with duplicate name \"f\"");
}

#[test]
fn missing_directory_and_bad_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_with(
        dir.path(),
        &valid_schema_with("INSERT INTO tree VALUES (2, 77, 2, 0, 1, 8, 'f', NULL);"),
    );
    expect_refused(&path, "missing directory inode 77");
    let dir = tempfile::tempdir().unwrap();
    let path = db_with(
        dir.path(),
        &valid_schema_with("INSERT INTO tree VALUES (2, 0, 2, -1, 1, 8, 'f', NULL);"),
    );
    expect_refused(&path, "out of range");
    let dir = tempfile::tempdir().unwrap();
    let sql = format!("{SCHEMA} INSERT INTO tree VALUES (0, 0, 2, 0, 1, 8, 'root', NULL);");
    let path = db_with(dir.path(), &sql);
    expect_refused(&path, "inode 0 row must be named");
}

#[test]
fn duplicate_vmid() {
    let dir = tempfile::tempdir().unwrap();
    let rows = "INSERT INTO tree VALUES (2, 0, 2, 0, 1, 4, 'nodes', NULL);
                INSERT INTO tree VALUES (3, 2, 3, 0, 1, 4, 'a', NULL);
                INSERT INTO tree VALUES (4, 2, 4, 0, 1, 4, 'b', NULL);
                INSERT INTO tree VALUES (5, 3, 5, 0, 1, 4, 'qemu-server', NULL);
                INSERT INTO tree VALUES (6, 4, 6, 0, 1, 4, 'qemu-server', NULL);
                INSERT INTO tree VALUES (7, 5, 7, 0, 1, 8, '100.conf', NULL);
                INSERT INTO tree VALUES (8, 6, 8, 0, 1, 8, '100.conf', NULL);";
    let path = db_with(dir.path(), &valid_schema_with(rows));
    expect_refused(&path, "detected duplicate VMID 100");
}

#[test]
fn empty_file_and_empty_sqlite_db_are_new_databases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    std::fs::write(&path, b"").unwrap();
    assert_eq!(Memdb::open(&path).unwrap().version(), 1);
    let dir = tempfile::tempdir().unwrap();
    let path = db_with(dir.path(), "PRAGMA user_version = 0;");
    assert_eq!(Memdb::open(&path).unwrap().version(), 1);
}
