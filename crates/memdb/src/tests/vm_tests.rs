use super::*;
use crate::{render_vmlist, VmType};

fn node_dirs(t: &mut Tree) {
    for p in [
        "nodes",
        "nodes/a",
        "nodes/b",
        "nodes/a/qemu-server",
        "nodes/a/lxc",
    ] {
        mkdir(t, p).unwrap();
    }
    for p in ["nodes/b/qemu-server", "nodes/b/lxc", "nodes/b/openvz"] {
        mkdir(t, p).unwrap();
    }
}

#[test]
fn create_write_delete_maintain_the_list() {
    let mut t = Tree::new(0);
    node_dirs(&mut t);
    let v0 = t.vmlist().version();
    create(&mut t, "nodes/a/qemu-server/100.conf").unwrap();
    let e = t.vmlist().get(100).unwrap().clone();
    assert_eq!((e.node.as_str(), e.kind), ("a", VmType::Qemu));
    write(
        &mut t,
        "nodes/a/qemu-server/100.conf",
        0,
        b"cores: 1\n",
        false,
    )
    .unwrap();
    assert!(
        t.vmlist().get(100).unwrap().version > e.version,
        "each write re-registers"
    );
    assert_eq!(t.vmlist().version(), v0 + 2);
    assert_eq!(
        create(&mut t, "nodes/b/qemu-server/100.conf"),
        Err(Errno::Eexist)
    );
    assert_eq!(create(&mut t, "nodes/a/lxc/100.conf"), Err(Errno::Eexist));
    assert_eq!(
        write(&mut t, "nodes/b/lxc/100.conf", 0, b"", false),
        Err(Errno::Eexist),
        "EEXIST before ENOENT"
    );
    create(&mut t, "nodes/b/lxc/101.conf").unwrap();
    create(&mut t, "nodes/b/lxc/100.conf.tmp").unwrap();
    delete(&mut t, "nodes/a/qemu-server/100.conf").unwrap();
    assert!(t.vmlist().get(100).is_none());
    create(&mut t, "nodes/b/openvz/100.conf").unwrap();
    assert_eq!(t.vmlist().get(100).unwrap().kind, VmType::Openvz);
    assert_eq!(t.vmlist().len(), 2);
    let text = render_vmlist(t.vmlist());
    assert!(
        text.contains("\"101\": { \"node\": \"b\", \"type\": \"lxc\", \"version\": "),
        "{text}"
    );
}

#[test]
fn migration_rename_is_allowed() {
    let mut t = Tree::new(0);
    node_dirs(&mut t);
    put(&mut t, "nodes/a/qemu-server/100.conf", b"cfg");
    assert_eq!(
        rename(
            &mut t,
            "nodes/a/qemu-server/100.conf",
            "nodes/b/qemu-server/100.conf"
        ),
        Ok(0)
    );
    assert_eq!(t.vmlist().get(100).unwrap().node, "b");
    assert_eq!(t.vmlist().len(), 1);
    // and to another type (lxc) on the same VMID is also a migration of the same guest
    assert_eq!(
        rename(
            &mut t,
            "nodes/b/qemu-server/100.conf",
            "nodes/a/lxc/100.conf"
        ),
        Ok(0)
    );
    assert_eq!(t.vmlist().get(100).unwrap().kind, VmType::Lxc);
}

#[test]
fn rename_clashes() {
    let mut t = Tree::new(0);
    node_dirs(&mut t);
    put(&mut t, "nodes/a/qemu-server/100.conf", b"a");
    put(&mut t, "nodes/a/qemu-server/101.conf", b"b");
    put(&mut t, "tmpfile", b"t");
    assert_eq!(
        rename(&mut t, "tmpfile", "nodes/b/qemu-server/100.conf"),
        Err(Errno::Eexist)
    );
    assert_eq!(
        rename(
            &mut t,
            "nodes/a/qemu-server/101.conf",
            "nodes/b/qemu-server/100.conf"
        ),
        Err(Errno::Eexist),
        "different VMID is no migration"
    );
    // replacing the own config through a temp file is fine (same node and type)
    put(&mut t, "nodes/a/qemu-server/100.conf.tmp.123", b"new");
    assert_eq!(
        rename(
            &mut t,
            "nodes/a/qemu-server/100.conf.tmp.123",
            "nodes/a/qemu-server/100.conf"
        ),
        Ok(0)
    );
    assert_eq!(content(&t, "nodes/a/qemu-server/100.conf"), b"new");
    assert_eq!(t.vmlist().get(100).unwrap().node, "a");
    // moving a config to a non-config name drops it from the list
    assert_eq!(
        rename(&mut t, "nodes/a/qemu-server/101.conf", "nodes/a/101.bak"),
        Ok(0)
    );
    assert!(t.vmlist().get(101).is_none());
}

#[test]
fn non_guest_paths_are_ignored() {
    let mut t = Tree::new(0);
    node_dirs(&mut t);
    mkdir(&mut t, "nodes/a/qemu-server/200.conf").unwrap();
    create(&mut t, "nodes/a/qemu-server/0200.conf").unwrap();
    mkdir(&mut t, "nodes/bad_name").unwrap();
    mkdir(&mut t, "nodes/bad_name/qemu-server").unwrap();
    create(&mut t, "nodes/bad_name/qemu-server/300.conf").unwrap();
    assert!(t.vmlist().is_empty());
    let reloaded = Tree::from_rows(t.to_rows()).unwrap();
    assert!(reloaded.vmlist().is_empty());
}
