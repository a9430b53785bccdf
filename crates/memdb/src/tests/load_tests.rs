use crate::{LoadError, Row, Tree};

fn row(inode: u64, parent: u64, kind: u8, name: &str, data: Option<&[u8]>) -> Row {
    Row {
        inode,
        parent,
        version: inode,
        writer: 0,
        mtime: 100,
        kind,
        name: name.into(),
        data: data.map(<[u8]>::to_vec),
    }
}

fn version_row(version: u64, kind: u8) -> Row {
    Row {
        version,
        ..row(0, 0, kind, "__version__", None)
    }
}

#[test]
fn placeholder_parent_with_larger_inode() {
    // file 3 lives in dir 9, which in turn lives in dir 5 (rows in inode order)
    let rows = vec![
        version_row(10, 8),
        row(3, 9, 8, "f", Some(b"hi")),
        row(5, 0, 4, "d", None),
        row(9, 5, 4, "sub", None),
    ];
    let t = Tree::from_rows(rows).unwrap();
    assert_eq!(t.read("d/sub/f", 0, 10).unwrap(), b"hi");
    assert_eq!((t.version(), t.last_inode(), t.len()), (10, 9, 4));
    assert_eq!(t.root_info().mtime, 100);
}

#[test]
fn version_row_type_4_or_8_and_fresh_db() {
    for kind in [4, 8] {
        let t = Tree::from_rows(vec![version_row(42, kind)]).unwrap();
        assert_eq!(t.version(), 42);
    }
    let (t, fresh) = Tree::from_rows_fresh(vec![]).unwrap();
    assert!(fresh);
    assert_eq!(t.version(), 1, "a new DB starts at version 1");
    let (_, fresh) = Tree::from_rows_fresh(vec![version_row(0, 8)]).unwrap();
    assert!(fresh, "version 0 counts as new");
    let (_, fresh) = Tree::from_rows_fresh(vec![version_row(1, 8)]).unwrap();
    assert!(!fresh);
}

#[test]
fn load_errors() {
    let v = || version_row(10, 8);
    let cases: Vec<(Vec<Row>, LoadError)> = vec![
        (vec![v(), row(2, 0, 8, "", None)], LoadError::EmptyName(2)),
        (
            vec![v(), row(2, 0, 10, "x", None)],
            LoadError::BadType { inode: 2, kind: 10 },
        ),
        (
            vec![v(), row(2, 0, 4, "d", Some(b"x"))],
            LoadError::DirWithData(2),
        ),
        (
            vec![row(0, 0, 8, "root", None)],
            LoadError::BadVersionRow("root".into()),
        ),
        (
            vec![v(), row(2, 0, 8, "f", None), row(3, 2, 8, "g", None)],
            LoadError::ParentNotDir {
                inode: 3,
                parent: 2,
            },
        ),
        (
            vec![v(), row(3, 2, 8, "g", None), row(2, 0, 8, "f", None)],
            LoadError::ParentNotDir {
                inode: 3,
                parent: 2,
            },
        ),
        (
            vec![v(), row(2, 0, 8, "f", None), row(3, 0, 8, "f", None)],
            LoadError::DuplicateName {
                inode: 3,
                parent: 0,
                name: "f".into(),
            },
        ),
        (
            vec![v(), row(2, 7, 8, "f", None)],
            LoadError::MissingDirectory(7),
        ),
        (
            vec![v(), row(2, 0, 8, "f", None), row(2, 0, 8, "g", None)],
            LoadError::DuplicateInode(2),
        ),
        (
            vec![v(), row(2, 3, 4, "a", None), row(3, 2, 4, "b", None)],
            LoadError::Unreachable(2),
        ),
        (
            vec![v(), row(2, 2, 4, "a", None)],
            LoadError::Unreachable(2),
        ),
        (
            vec![v(), row(2, 0, 8, "..", None)],
            LoadError::BadName {
                inode: 2,
                name: "..".into(),
            },
        ),
        (
            vec![v(), row(2, 0, 8, "a/b", None)],
            LoadError::BadName {
                inode: 2,
                name: "a/b".into(),
            },
        ),
    ];
    for (rows, expected) in cases {
        assert_eq!(
            Tree::from_rows(rows.clone()).unwrap_err(),
            expected,
            "{rows:?}"
        );
    }
}

#[test]
fn error_messages_are_clear() {
    let e = Tree::from_rows(vec![row(2, 7, 8, "f", None)]).unwrap_err();
    assert_eq!(e.to_string(), "missing directory inode 7");
    let e = Tree::from_rows(vec![row(2, 0, 8, "f", None), row(3, 0, 8, "f", None)]).unwrap_err();
    assert!(
        e.to_string()
            .contains("found entry with duplicate name \"f\""),
        "{e}"
    );
}

#[test]
fn empty_blob_counts_as_no_data() {
    let t = Tree::from_rows(vec![
        row(2, 0, 4, "d", Some(b"")),
        row(3, 0, 8, "f", Some(b"")),
    ])
    .unwrap();
    assert_eq!(t.lookup("f").unwrap().size, 0);
}

#[test]
fn duplicate_vmid_is_a_load_error() {
    let rows = vec![
        row(2, 0, 4, "nodes", None),
        row(3, 2, 4, "a", None),
        row(4, 2, 4, "b", None),
        row(5, 3, 4, "qemu-server", None),
        row(6, 4, 4, "lxc", None),
        row(7, 5, 8, "100.conf", Some(b"x")),
        row(8, 6, 8, "100.conf", Some(b"y")),
    ];
    let e = Tree::from_rows(rows.clone()).unwrap_err();
    assert!(
        matches!(&e, LoadError::DuplicateVmid(d) if d.vmid == 100),
        "{e:?}"
    );
    assert!(e.to_string().contains("detected duplicate VMID 100"));
    let ok = Tree::from_rows(rows[..6].to_vec()).unwrap();
    let vm = ok.vmlist().get(100).unwrap();
    assert_eq!((vm.node.as_str(), vm.kind), ("a", crate::VmType::Qemu));
}
