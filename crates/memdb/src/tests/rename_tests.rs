use super::*;
use crate::RowChange;

#[test]
fn rename_moves_entry_keeping_inode_and_data() {
    let mut t = Tree::new(0);
    put(&mut t, "a/f", b"data");
    mkdir(&mut t, "b").unwrap();
    let before = t.lookup("a/f").unwrap();
    let a = t
        .apply(
            &Op::Rename {
                from: "a/f".into(),
                to: "b/g".into(),
            },
            4,
            99,
        )
        .unwrap();
    assert_eq!(a.result, 0);
    let after = t.lookup("b/g").unwrap();
    assert_eq!(after.inode, before.inode, "rename keeps the inode");
    assert_eq!(
        (after.version, after.writer, after.mtime),
        (t.version(), 4, 99)
    );
    assert_eq!(after.parent, t.lookup("b").unwrap().inode);
    assert_eq!(content(&t, "b/g"), b"data");
    assert_eq!(t.lookup("a/f"), None);
    assert!(
        matches!(&a.changes[..], [RowChange::Replace(r), RowChange::Version { .. }] if r.name == "g")
    );
}

#[test]
fn rename_onto_existing_file_replaces_it() {
    let mut t = Tree::new(0);
    put(&mut t, "x.tmp", b"new");
    put(&mut t, "x", b"old");
    let target = t.lookup("x").unwrap().inode;
    let moved = t.lookup("x.tmp").unwrap().inode;
    let a = t
        .apply(
            &Op::Rename {
                from: "x.tmp".into(),
                to: "x".into(),
            },
            W,
            T,
        )
        .unwrap();
    assert_eq!(content(&t, "x"), b"new");
    assert_eq!(t.lookup("x").unwrap().inode, moved);
    assert_eq!(t.get(target), None);
    assert!(
        matches!(&a.changes[..], [RowChange::Delete(d), RowChange::Replace(r), RowChange::Version { .. }] if *d == target && r.inode == moved)
    );
}

#[test]
fn rename_errors() {
    let mut t = Tree::new(0);
    put(&mut t, "d/f", b"1");
    put(&mut t, "e/g", b"2");
    mkdir(&mut t, "empty").unwrap();
    put(&mut t, "file", b"3");
    let v = t.version();
    assert_eq!(rename(&mut t, "nope", "x"), Err(Errno::Enoent));
    assert_eq!(rename(&mut t, "/", "x"), Err(Errno::Eacces));
    assert_eq!(
        rename(&mut t, "d/f", "zz/f"),
        Err(Errno::Enoent),
        "target parent missing"
    );
    assert_eq!(
        rename(&mut t, "d/f", "file/f"),
        Err(Errno::Enotdir),
        "target parent is a file"
    );
    assert_eq!(
        rename(&mut t, "file", "e"),
        Err(Errno::Enotempty),
        "non-empty target dir"
    );
    assert_eq!(
        rename(&mut t, "d", "x"),
        Err(Errno::Enotempty),
        "only empty dirs move"
    );
    assert_eq!(rename(&mut t, "d", "empty"), Err(Errno::Enotempty));
    assert!(
        t.lookup("empty").is_some(),
        "target not lost when the source cannot move"
    );
    assert_eq!(rename(&mut t, "empty", "empty/sub"), Err(Errno::Einval));
    assert_eq!(rename(&mut t, "file", "/"), Err(Errno::Eacces));
    assert_eq!(rename(&mut t, "file", "d/.."), Err(Errno::Eacces));
    assert_eq!(rename(&mut t, "file", "d/."), Err(Errno::Eacces));
    assert_eq!(t.version(), v, "nothing changed");
    assert_eq!(
        rename(&mut t, "file", "/file/"),
        Ok(0),
        "onto itself: no-op"
    );
    assert_eq!(t.version(), v);
}

#[test]
fn rename_dirs_and_file_onto_empty_dir() {
    let mut t = Tree::new(0);
    mkdir(&mut t, "a").unwrap();
    mkdir(&mut t, "b").unwrap();
    assert_eq!(rename(&mut t, "a", "b/a2"), Ok(0));
    assert_eq!(t.lookup("b/a2").unwrap().kind, crate::Kind::Dir);
    put(&mut t, "f", b"z");
    assert_eq!(
        rename(&mut t, "f", "b/a2"),
        Ok(0),
        "an empty target dir is replaced"
    );
    assert_eq!(content(&t, "b/a2"), b"z");
}
