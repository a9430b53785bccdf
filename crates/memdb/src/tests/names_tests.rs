//! Untrusted names and paths (from the network) are rejected cleanly, never panic.

use super::*;
use proptest::prelude::*;

#[test]
fn bad_names_and_paths() {
    let mut t = Tree::new(0);
    mkdir(&mut t, "d").unwrap();
    create(&mut t, "d/f").unwrap();
    let long_name = "n".repeat(256);
    let long_path = format!("d/{}", vec!["x"; 2100].join("/"));
    for (p, e) in [
        ("d/a\0b", Errno::Eacces),
        ("d/.", Errno::Eacces),
        ("d/..", Errno::Eacces),
        ("..", Errno::Eacces),
        ("d/../x", Errno::Enoent),
        ("d/./x", Errno::Enoent),
        (long_name.as_str(), Errno::Enametoolong),
        (long_path.as_str(), Errno::Enametoolong),
    ] {
        assert_eq!(create(&mut t, p), Err(e), "create {p:?}");
        assert_eq!(mkdir(&mut t, p), Err(e), "mkdir {p:?}");
        assert_eq!(t.lookup(p), None);
    }
    assert_eq!(create(&mut t, &"n".repeat(255)), Ok(0));
    assert_eq!(delete(&mut t, "d/f\0"), Err(Errno::Eacces));
    assert_eq!(rename(&mut t, "d/f", "d/g\0"), Err(Errno::Eacces));
    assert_eq!(rename(&mut t, "d/f", &long_name), Err(Errno::Enametoolong));
    assert_eq!(
        write(&mut t, &long_path, 0, b"x", false),
        Err(Errno::Enametoolong)
    );
    assert_eq!(t.read(&long_path, 0, 1), Err(Errno::Enoent));
    let m = Op::Mtime {
        path: "d/\0".into(),
        mtime: 1,
    };
    assert_eq!(t.apply(&m, 1, 1), Err(Errno::Eacces));
    assert!(content(&t, "d/f").is_empty(), "nothing touched");
}

fn arb_path() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-c./\\x00]{0,8}",
        proptest::collection::vec(
            prop_oneof![Just("a"), Just("."), Just(".."), Just(""), Just("b\0")],
            0..5
        )
        .prop_map(|v| v.join("/")),
        any::<String>(),
    ]
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        arb_path().prop_map(|path| Op::Create { path }),
        arb_path().prop_map(|path| Op::Mkdir { path }),
        arb_path().prop_map(|path| Op::Delete { path }),
        (arb_path(), arb_path()).prop_map(|(from, to)| Op::Rename { from, to }),
        (arb_path(), any::<u32>()).prop_map(|(path, mtime)| Op::Mtime { path, mtime }),
        (
            arb_path(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..4),
            any::<bool>()
        )
            .prop_map(|(path, offset, data, truncate)| Op::Write {
                path,
                offset: offset % 3_000_000,
                data,
                truncate
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn garbage_never_panics_and_tree_stays_loadable(ops in proptest::collection::vec(arb_op(), 1..40)) {
        let mut t = Tree::new(0);
        for op in &ops {
            let before = t.version();
            match t.apply(op, 1, 2) {
                Ok(_) => {
                    let is_rename = matches!(op, Op::Rename { .. });
                    prop_assert!(t.version() == before + 1 || is_rename);
                }
                Err(_) => prop_assert_eq!(t.version(), before),
            }
        }
        let reloaded = Tree::from_rows(t.to_rows()).unwrap();
        prop_assert_eq!(reloaded.checksum(), t.checksum());
    }
}
