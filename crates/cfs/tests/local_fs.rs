//! pmxcfs in local mode, exercised through ordinary file operations.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::{errno, mode_of, sh_as, Pmxcfs};

#[test]
fn files_and_directories_behave_like_the_original() {
    let pve = Pmxcfs::start();
    fs::write(pve.path("storage.cfg"), "dir: local\n").unwrap();
    assert_eq!(
        fs::read_to_string(pve.path("storage.cfg")).unwrap(),
        "dir: local\n"
    );

    // Overwrite with truncation, then a partial write keeps the rest (no O_TRUNC).
    fs::write(pve.path("f"), "0123456789").unwrap();
    {
        use std::os::unix::fs::FileExt;
        let f = fs::OpenOptions::new()
            .write(true)
            .open(pve.path("f"))
            .unwrap();
        f.write_at(b"X", 3).unwrap();
        f.write_at(b"X", 6).unwrap();
    }
    assert_eq!(fs::read_to_string(pve.path("f")).unwrap(), "012X45X789");
    fs::OpenOptions::new()
        .write(true)
        .open(pve.path("f"))
        .unwrap()
        .set_len(4)
        .unwrap();
    assert_eq!(fs::read_to_string(pve.path("f")).unwrap(), "012X");

    fs::create_dir(pve.path("ha")).unwrap();
    fs::write(pve.path("ha/resources.cfg"), "vm: 100\n").unwrap();
    fs::rename(pve.path("ha/resources.cfg"), pve.path("ha/groups.cfg")).unwrap();
    let mut names: Vec<_> = fs::read_dir(pve.path("ha"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["groups.cfg"]);
    // rename replaces an existing file, as file_set_contents relies on.
    fs::write(pve.path("ha/new.tmp"), "new").unwrap();
    fs::rename(pve.path("ha/new.tmp"), pve.path("ha/groups.cfg")).unwrap();
    assert_eq!(
        fs::read_to_string(pve.path("ha/groups.cfg")).unwrap(),
        "new"
    );

    fs::remove_file(pve.path("ha/groups.cfg")).unwrap();
    fs::remove_dir(pve.path("ha")).unwrap();
    assert!(!pve.path("ha").exists());

    // The node's directories exist from the start, and the links point into them.
    for dir in ["qemu-server", "lxc", "openvz", "priv"] {
        assert!(pve.path("local").join(dir).is_dir(), "{dir}");
    }
    fs::write(pve.path("qemu-server/100.conf"), "name: a\n").unwrap();
    let host = fs::read_link(pve.path("local")).unwrap();
    assert!(pve.mnt().join(&host).join("qemu-server/100.conf").is_file());

    // Root listing: synthetic entries plus the tree.
    let root: Vec<_> = fs::read_dir(pve.mnt())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for name in [
        ".members",
        ".vmlist",
        ".version",
        ".rrd",
        ".clusterlog",
        ".debug",
        "local",
        "nodes",
        "priv",
        "storage.cfg",
    ] {
        assert!(
            root.contains(&name.to_string()),
            "{name} missing from {root:?}"
        );
    }
}

#[test]
fn errors_match_the_original() {
    let pve = Pmxcfs::start();
    // 1 MiB is the limit.
    fs::write(pve.path("max"), vec![b'x'; 1 << 20]).unwrap();
    assert_eq!(
        errno(fs::write(pve.path("big"), vec![b'x'; (1 << 20) + 1])),
        libc::EFBIG
    );
    assert_eq!(
        errno(fs::write(pve.path("missing/file"), "x")),
        libc::ENOENT
    );
    fs::create_dir(pve.path("d")).unwrap();
    assert_eq!(errno(fs::create_dir(pve.path("d"))), libc::EEXIST);
    fs::write(pve.path("d/x"), "x").unwrap();
    assert_eq!(errno(fs::remove_dir(pve.path("d"))), libc::ENOTEMPTY);
    // Only empty directories can be renamed.
    assert_eq!(
        errno(fs::rename(pve.path("d"), pve.path("e"))),
        libc::ENOTEMPTY
    );
    assert_eq!(
        errno(std::os::unix::fs::symlink("x", pve.path("link"))),
        libc::ENOSYS
    );
    // The daemon answers ENOSYS for link as well; the kernel reports that as EPERM.
    assert_eq!(
        errno(fs::hard_link(pve.path("d/x"), pve.path("hard"))),
        libc::EPERM
    );

    // VMIDs are unique across nodes and guest types.
    let host = fs::read_link(pve.path("local")).unwrap();
    fs::write(pve.mnt().join(&host).join("qemu-server/100.conf"), "").unwrap();
    fs::create_dir_all(pve.path("nodes/other/lxc")).unwrap();
    fs::create_dir_all(pve.path("nodes/other/qemu-server")).unwrap();
    assert_eq!(
        errno(fs::write(pve.path("nodes/other/lxc/100.conf"), "")),
        libc::EEXIST
    );
    fs::write(pve.path("nodes/other/lxc/101.conf"), "").unwrap();
    assert_eq!(
        errno(fs::rename(
            pve.path("nodes/other/lxc/101.conf"),
            pve.path("nodes/other/qemu-server/100.conf")
        )),
        libc::EEXIST
    );
    // Migration: moving a guest's own config to another node is allowed.
    fs::rename(
        pve.mnt().join(&host).join("qemu-server/100.conf"),
        pve.path("nodes/other/qemu-server/100.conf"),
    )
    .unwrap();
    let vmlist = fs::read_to_string(pve.path(".vmlist")).unwrap();
    assert!(
        vmlist.contains("\"100\": { \"node\": \"other\", \"type\": \"qemu\""),
        "{vmlist}"
    );

    // The synthetic names and files are not memdb entries.
    assert_eq!(
        errno(fs::rename(pve.path("d/x"), pve.path(".members"))),
        libc::EACCES
    );
    assert_eq!(errno(fs::write(pve.path(".members"), "x")), libc::EACCES);
    assert_eq!(errno(fs::write(pve.path(".debug"), "2\n")), libc::EIO);

    // Ownership and modes are fixed by path.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        errno(fs::set_permissions(
            pve.path("d/x"),
            fs::Permissions::from_mode(0o644)
        )),
        libc::EPERM
    );
    fs::set_permissions(pve.path("d/x"), fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(
        errno(std::os::unix::fs::chown(pve.path("d/x"), Some(1000), None)),
        libc::EPERM
    );
    std::os::unix::fs::chown(pve.path("d/x"), Some(0), None).unwrap();

    // Names the tree cannot hold are refused (the kernel passes up to 1024 bytes).
    let long = "n".repeat(300);
    assert_eq!(
        errno(fs::write(pve.path(&format!("d/{long}")), "")),
        libc::ENAMETOOLONG
    );
}

#[test]
fn cluster_locks_follow_the_original_rules() {
    let pve = Pmxcfs::start();
    let lock = pve.path("priv/lock/file-storage_cfg");
    fs::create_dir(&lock).unwrap();
    assert_eq!(errno(fs::create_dir(&lock)), libc::EEXIST);
    assert_eq!(
        errno(fs::rename(&lock, pve.path("priv/lock/other"))),
        libc::EACCES
    );
    // utime(0, 0) asks to remove a stale lock; a fresh one stays and the caller gets EACCES.
    let out = std::process::Command::new("touch")
        .args(["-d", "@0"])
        .arg(&lock)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
    assert!(lock.is_dir());
    // The holder refreshes it with the current time, and releases it with rmdir.
    let now = std::process::Command::new("touch")
        .arg(&lock)
        .status()
        .unwrap();
    assert!(now.success());
    fs::remove_dir(&lock).unwrap();
}

#[test]
fn permissions_for_root_and_unprivileged_users() {
    let pve = Pmxcfs::start();
    fs::write(pve.path("storage.cfg"), "x\n").unwrap();
    fs::write(pve.path("priv/authkey.key"), "secret\n").unwrap();
    let www_data = fs::metadata(pve.path("storage.cfg")).unwrap().gid();

    assert_eq!(mode_of(&pve.path("storage.cfg")), 0o640);
    assert_eq!(mode_of(&pve.path("priv")), 0o700);
    assert_eq!(mode_of(&pve.path("priv/authkey.key")), 0o600);
    assert_eq!(mode_of(&pve.path("nodes")), 0o755);
    assert_eq!(
        mode_of(&pve.path("local")),
        0o755,
        "quorate: writable link mode"
    );
    assert_eq!(mode_of(&pve.path(".members")), 0o440);
    assert_eq!(mode_of(&pve.path(".debug")), 0o640);
    let meta = fs::metadata(pve.path("storage.cfg")).unwrap();
    assert_eq!((meta.uid(), meta.nlink()), (0, 1));
    assert_eq!(fs::metadata(pve.path("nodes")).unwrap().nlink(), 2);

    let mnt = pve.mnt();
    let m = mnt.display();
    // Group www-data reads configuration but not secrets, and cannot write.
    let out = sh_as(www_data, &format!("cat {m}/storage.cfg"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "x\n");
    assert!(!sh_as(www_data, &format!("cat {m}/priv/authkey.key"))
        .status
        .success());
    assert!(!sh_as(www_data, &format!("echo y > {m}/storage.cfg"))
        .status
        .success());
    assert!(!sh_as(www_data, &format!("mkdir {m}/newdir"))
        .status
        .success());
    // Others cannot even read.
    assert!(!sh_as(65534, &format!("cat {m}/storage.cfg"))
        .status
        .success());
    assert_eq!(fs::read_to_string(pve.path("storage.cfg")).unwrap(), "x\n");
}

#[test]
fn virtual_files_have_the_original_format() {
    let pve = Pmxcfs::start();
    let host = fs::read_link(pve.path("local")).unwrap();
    let nodename = host.file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(host.to_str().unwrap(), format!("nodes/{nodename}"));
    assert_eq!(
        fs::read_link(pve.path("qemu-server"))
            .unwrap()
            .to_str()
            .unwrap(),
        format!("nodes/{nodename}/qemu-server")
    );
    assert_eq!(
        fs::read_to_string(pve.path(".members")).unwrap(),
        format!("{{\n\"nodename\": \"{nodename}\",\n\"version\": 0\n}}\n")
    );
    let empty = fs::read_to_string(pve.path(".vmlist")).unwrap();
    assert!(
        empty.starts_with("{\n\"version\": ") && empty.ends_with("\n\n}\n"),
        "{empty:?}"
    );
    fs::write(pve.path("local/lxc/200.conf"), "").unwrap();
    let vmlist = fs::read_to_string(pve.path(".vmlist")).unwrap();
    assert!(
        vmlist.contains(&format!(
            "\"ids\": {{\n\"200\": {{ \"node\": \"{nodename}\", \"type\": \"lxc\", \"version\": "
        )),
        "{vmlist}"
    );
    assert!(vmlist.ends_with("}}\n\n}\n"), "{vmlist:?}");

    let before = fs::read_to_string(pve.path(".version")).unwrap();
    assert!(before.contains("\"storage.cfg\": 0,\n"), "{before}");
    fs::write(pve.path("storage.cfg"), "x").unwrap();
    let after = fs::read_to_string(pve.path(".version")).unwrap();
    assert!(after.contains("\"storage.cfg\": "), "{after}");
    assert!(
        !after.contains("\"storage.cfg\": 0,\n"),
        "counter did not move: {after}"
    );
    assert!(after.ends_with(&format!(
        "\"kvstore\": {{\n\"{nodename}\": {{\n}}\n}}\n}}\n"
    )));

    let log = fs::read_to_string(pve.path(".clusterlog")).unwrap();
    assert!(
        log.starts_with("{\n\"data\": [\n{\"uid\": 1, \"time\": "),
        "{log}"
    );
    assert!(
        log.contains("\"tag\": \"cluster\"")
            && log.contains("\"msg\": \"starting cluster log\"}\n]\n}\n")
    );
    assert_eq!(fs::read_to_string(pve.path(".rrd")).unwrap(), "");

    assert_eq!(fs::read_to_string(pve.path(".debug")).unwrap(), "0\n");
    fs::write(pve.path(".debug"), "1\n").unwrap();
    assert_eq!(fs::read_to_string(pve.path(".debug")).unwrap(), "1\n");

    let stat = nix_statvfs(&pve.mnt());
    assert_eq!(
        (stat.f_bsize, stat.f_blocks, stat.f_files, stat.f_namemax),
        (4096, 32768, 262144, 256)
    );
}

fn nix_statvfs(path: &std::path::Path) -> libc::statvfs {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: valid path and out-pointer.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        assert_eq!(libc::statvfs(c.as_ptr(), &mut s), 0);
        s
    }
}
