use super::*;
use crate::{EntryInfo, Kind, Row, RowChange, MAX_FILE_SIZE};

#[test]
fn create_new_file_bumps_version_and_emits_rows() {
    let mut t = Tree::new(5);
    assert_eq!(t.version(), 1);
    let a = t.apply(&Op::Create { path: "f".into() }, W, T).unwrap();
    assert_eq!(a.result, 0);
    let info = t.lookup("f").unwrap();
    let expect = EntryInfo {
        inode: 2,
        parent: 0,
        version: 2,
        writer: W,
        mtime: T,
        size: 0,
        kind: Kind::File,
    };
    assert_eq!(info, expect, "inode = version = new global version");
    assert_eq!(
        (t.version(), t.root_info().writer, t.root_info().mtime),
        (2, W, T)
    );
    let row = Row {
        inode: 2,
        parent: 0,
        version: 2,
        writer: W,
        mtime: T,
        kind: 8,
        name: "f".into(),
        data: None,
    };
    let version = RowChange::Version {
        version: 2,
        writer: W,
        mtime: T,
    };
    assert_eq!(a.changes, vec![RowChange::Replace(row), version]);
}

#[test]
fn create_errors() {
    let mut t = Tree::new(0);
    mkdir(&mut t, "d").unwrap();
    create(&mut t, "f").unwrap();
    let v = t.version();
    assert_eq!(create(&mut t, "f"), Err(Errno::Eexist));
    assert_eq!(
        create(&mut t, "d"),
        Err(Errno::Enotdir),
        "existing dir beats EEXIST"
    );
    assert_eq!(create(&mut t, "x/f"), Err(Errno::Enoent));
    assert_eq!(
        create(&mut t, "f/g"),
        Err(Errno::Enotdir),
        "parent is a file"
    );
    assert_eq!(
        create(&mut t, "f/g/h"),
        Err(Errno::Enoent),
        "file in the middle"
    );
    assert_eq!(create(&mut t, "/"), Err(Errno::Eacces));
    assert_eq!(create(&mut t, "d/.."), Err(Errno::Eacces));
    assert_eq!(t.version(), v, "failed operations change nothing");
}

#[test]
fn write_basic_and_errors() {
    let mut t = Tree::new(0);
    assert_eq!(write(&mut t, "f", 0, b"x", false), Err(Errno::Enoent));
    create(&mut t, "f").unwrap();
    mkdir(&mut t, "d").unwrap();
    assert_eq!(write(&mut t, "d", 0, b"x", false), Err(Errno::Enotdir));
    assert_eq!(write(&mut t, "f", 0, b"hello", false), Ok(5));
    assert_eq!(content(&t, "f"), b"hello");
    let info = t.lookup("f").unwrap();
    assert_eq!((info.version, info.size, info.inode), (t.version(), 5, 2));
}

#[test]
fn write_size_limit() {
    let mut t = Tree::new(0);
    create(&mut t, "f").unwrap();
    let big = vec![1u8; MAX_FILE_SIZE as usize];
    assert_eq!(write(&mut t, "f", 0, &big, false), Ok(MAX_FILE_SIZE));
    assert_eq!(write(&mut t, "f", 1, &big, false), Err(Errno::Efbig));
    assert_eq!(
        write(&mut t, "f", MAX_FILE_SIZE + 1, &[], true),
        Err(Errno::Efbig)
    );
    assert_eq!(write(&mut t, "f", u64::MAX, b"x", false), Err(Errno::Efbig));
    assert_eq!(
        write(&mut t, "nope", MAX_FILE_SIZE, b"x", false),
        Err(Errno::Efbig),
        "EFBIG first"
    );
    assert_eq!(write(&mut t, "f", MAX_FILE_SIZE, &[], true), Ok(0));
}

#[test]
fn write_content_rules() {
    let mut t = Tree::new(0);
    create(&mut t, "f").unwrap();
    // no old data: zero-filled up to offset
    write(&mut t, "f", 3, b"ab", false).unwrap();
    assert_eq!(content(&t, "f"), b"\0\0\0ab");
    // extend: old data kept, gap zero-filled
    write(&mut t, "f", 7, b"c", false).unwrap();
    assert_eq!(content(&t, "f"), b"\0\0\0ab\0\0c");
    // overwrite inside without truncate keeps the size
    write(&mut t, "f", 0, b"XY", false).unwrap();
    assert_eq!(content(&t, "f"), b"XY\0ab\0\0c");
    // truncate cuts after the written bytes
    write(&mut t, "f", 1, b"Z", true).unwrap();
    assert_eq!(content(&t, "f"), b"XZ");
    // truncate to 0
    write(&mut t, "f", 0, b"", true).unwrap();
    assert_eq!(t.lookup("f").unwrap().size, 0);
    // truncate-extend of an empty file: size = offset, zeros (QUIRK treated as zeros)
    write(&mut t, "f", 4, b"", true).unwrap();
    assert_eq!(content(&t, "f"), b"\0\0\0\0");
    // truncate-extend of a non-empty file
    write(&mut t, "f", 0, b"ab", true).unwrap();
    write(&mut t, "f", 5, b"", true).unwrap();
    assert_eq!(content(&t, "f"), b"ab\0\0\0");
    // zero-length write without truncate inside the file changes nothing but the version
    let v = t.version();
    assert_eq!(write(&mut t, "f", 1, b"", false), Ok(0));
    assert_eq!(
        (content(&t, "f"), t.version()),
        (b"ab\0\0\0".to_vec(), v + 1)
    );
}

#[test]
fn written_rows_carry_data_and_empty_files_store_null() {
    let mut t = Tree::new(0);
    create(&mut t, "f").unwrap();
    let a = t
        .apply(
            &Op::Write {
                path: "f".into(),
                offset: 0,
                data: b"abc".to_vec(),
                truncate: false,
            },
            3,
            44,
        )
        .unwrap();
    match &a.changes[0] {
        RowChange::Replace(r) => assert_eq!(
            (r.data.as_deref(), r.writer, r.mtime, r.version),
            (Some(&b"abc"[..]), 3, 44, 3)
        ),
        other => panic!("unexpected {other:?}"),
    }
    let a = t
        .apply(
            &Op::Write {
                path: "f".into(),
                offset: 0,
                data: vec![],
                truncate: true,
            },
            3,
            45,
        )
        .unwrap();
    assert!(matches!(&a.changes[0], RowChange::Replace(r) if r.data.is_none()));
}

#[test]
fn mkdir_rules() {
    let mut t = Tree::new(0);
    assert_eq!(mkdir(&mut t, "a"), Ok(0));
    let info = t.lookup("a").unwrap();
    assert_eq!(
        (info.kind, info.inode, info.version, info.size),
        (Kind::Dir, 2, 2, 0)
    );
    assert_eq!(mkdir(&mut t, "a"), Err(Errno::Eexist));
    create(&mut t, "f").unwrap();
    assert_eq!(mkdir(&mut t, "f"), Err(Errno::Eexist));
    assert_eq!(mkdir(&mut t, "x/y"), Err(Errno::Enoent));
    assert_eq!(mkdir(&mut t, "f/y"), Err(Errno::Enotdir));
    assert_eq!(mkdir(&mut t, ""), Err(Errno::Eacces));
    assert_eq!(mkdir(&mut t, "a/."), Err(Errno::Eacces));
    assert_eq!(mkdir(&mut t, "/a//b/"), Ok(0), "slashes tolerated");
    assert!(t.lookup("a/b").is_some());
    let a = t.apply(&Op::Mkdir { path: "c".into() }, W, T).unwrap();
    assert!(matches!(&a.changes[0], RowChange::Replace(r) if r.kind == 4 && r.data.is_none()));
}

#[test]
fn delete_rules() {
    let mut t = Tree::new(0);
    assert_eq!(delete(&mut t, "x"), Err(Errno::Enoent));
    for root in ["", "/", "."] {
        assert_eq!(delete(&mut t, root), Err(Errno::Eacces));
    }
    mkdir(&mut t, "d").unwrap();
    create(&mut t, "d/f").unwrap();
    assert_eq!(delete(&mut t, "d"), Err(Errno::Enotempty));
    let inode = t.lookup("d/f").unwrap().inode;
    let a = t.apply(&Op::Delete { path: "d/f".into() }, W, 77).unwrap();
    assert_eq!(
        a.changes,
        vec![
            RowChange::Delete(inode),
            RowChange::Version {
                version: 4,
                writer: W,
                mtime: 77
            }
        ]
    );
    assert_eq!(t.lookup("d/f"), None);
    assert_eq!(delete(&mut t, "d"), Ok(0), "rmdir/unlink are the same op");
    assert!(t.is_empty());
    assert_eq!(t.version(), 5);
}

#[test]
fn mtime_rules() {
    let mut t = Tree::new(0);
    let op = |p: &str, m| Op::Mtime {
        path: p.into(),
        mtime: m,
    };
    assert_eq!(t.apply(&op("x", 5), 1, 1), Err(Errno::Enoent));
    assert_eq!(t.apply(&op("/", 5), 1, 1), Err(Errno::Eacces));
    create(&mut t, "f").unwrap();
    assert_eq!(t.apply(&op("f/g", 5), 1, 1), Err(Errno::Enotdir));
    let a = t.apply(&op("f", 5), 9, 1234).unwrap();
    assert_eq!(a.result, 0);
    let info = t.lookup("f").unwrap();
    assert_eq!((info.mtime, info.writer, info.version), (5, 9, 3));
    assert_eq!(
        (t.root_info().mtime, t.root_info().writer),
        (5, 9),
        "root takes the requested mtime"
    );
    let back = t.apply(&op("f", 1), 2, 1).map(|a| a.result);
    assert_eq!(
        back,
        Ok(0),
        "ordinary entries may go back in time, any writer"
    );
    assert_eq!(t.lookup("f").unwrap().mtime, 1);
}

#[test]
fn error_flag_makes_every_op_eio() {
    let mut t = Tree::new(0);
    create(&mut t, "f").unwrap();
    t.set_error();
    assert!(t.has_errors());
    for op in [
        Op::Create { path: "g".into() },
        Op::Write {
            path: "f".into(),
            offset: 0,
            data: b"x".to_vec(),
            truncate: false,
        },
        Op::Mkdir { path: "d".into() },
        Op::Delete { path: "f".into() },
        Op::Rename {
            from: "f".into(),
            to: "g".into(),
        },
        Op::Mtime {
            path: "f".into(),
            mtime: 1,
        },
    ] {
        assert_eq!(t.apply(&op, W, T), Err(Errno::Eio), "{op:?}");
    }
    assert_eq!(t.read("f", 0, 10), Err(Errno::Eio));
    assert_eq!(t.readdir(""), Err(Errno::Eio));
}

#[test]
fn read_side() {
    let mut t = Tree::new(0);
    put(&mut t, "d/f", b"0123456789");
    assert_eq!(t.read("d/f", 2, 3).unwrap(), b"234");
    assert_eq!(t.read("d/f", 8, 100).unwrap(), b"89");
    assert_eq!(t.read("d/f", 100, 5).unwrap(), b"");
    assert_eq!(
        t.read("d", 0, 5),
        Err(Errno::Enoent),
        "directories are not readable"
    );
    assert_eq!(t.read("d/x", 0, 5), Err(Errno::Enoent));
    create(&mut t, "d/a").unwrap();
    let names: Vec<String> = t
        .readdir("/d/")
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["a", "f"]);
    assert_eq!(t.readdir("d/f"), Err(Errno::Enotdir));
    assert_eq!(t.readdir("zz"), Err(Errno::Enoent));
    assert_eq!(t.lookup("//d///f").unwrap().size, 10);
    assert_eq!(t.lookup(".").unwrap().inode, 0);
    assert_eq!(t.path_of(t.lookup("d/f").unwrap().inode).unwrap(), "d/f");
    assert_eq!(t.row(0).unwrap().name, "", "root record has an empty name");
    assert_eq!(t.row(0).unwrap().kind, 4);
}

#[test]
fn statfs_numbers() {
    let mut t = Tree::new(0);
    let s = t.statfs();
    assert_eq!(
        (s.bsize, s.blocks, s.bfree, s.bavail),
        (4096, 32768, 32768, 32768)
    );
    assert_eq!((s.files, s.ffree, s.namemax), (262144, 262143, 256));
    put(&mut t, "a", &[1; 4097]);
    put(&mut t, "b", &[1; 1]);
    let s = t.statfs();
    assert_eq!(
        (s.bfree, s.ffree),
        (32768 - 2, 262144 - 3),
        "ceil(4098/4096) = 2 blocks"
    );
}
