//! The behaviours of the original `check_memdb.c` (§2.13) and the index vector (§2.6).

use super::*;
use crate::{hex, Index, IndexEntry};
use sha2::{Digest, Sha256};

#[test]
fn dir_tests() {
    let mut t = Tree::new(0);
    assert_eq!(mkdir(&mut t, "/dir1/sdir1"), Err(Errno::Enoent));
    assert_eq!(delete(&mut t, "/dir1"), Err(Errno::Enoent));
    assert_eq!(mkdir(&mut t, "/dir1"), Ok(0));
    assert_eq!(mkdir(&mut t, "/dir1"), Err(Errno::Eexist));
    assert_eq!(mkdir(&mut t, "/dir1/sdir1"), Ok(0));
    assert_eq!(delete(&mut t, "/dir1"), Err(Errno::Enotempty));
    assert_eq!(delete(&mut t, "/dir1/sdir1"), Ok(0));
    assert_eq!(delete(&mut t, "/dir1"), Ok(0));
}

#[test]
fn file_tests() {
    let mut t = Tree::new(0);
    assert_eq!(write(&mut t, "/file1", 0, b"x", false), Err(Errno::Enoent));
    assert_eq!(create(&mut t, "/file1"), Ok(0));
    assert_eq!(write(&mut t, "/file1", 0, &[b'a'; 1024], false), Ok(1024));
    assert_eq!(write(&mut t, "/file1", 0, b"0123456789", true), Ok(10));
    assert_eq!(t.lookup("/file1").unwrap().size, 10);
    assert_eq!(write(&mut t, "/file1", 3, b"X", false), Ok(1));
    assert_eq!(write(&mut t, "/file1", 6, b"X", false), Ok(1));
    assert_eq!(t.lookup("/file1").unwrap().size, 10);
    assert_eq!(content(&t, "/file1"), b"012X45X789");
}

#[test]
fn fresh_db_statfs_one_inode() {
    let t = Tree::new(0);
    assert_eq!(t.statfs().files - t.statfs().ffree, 1);
}

/// Moves files and dirs into directories created later (parent inode > child inode), then
/// reloads from rows: the placeholder logic must rebuild the same tree.
#[test]
fn moved_entries_survive_reload() {
    let mut t = Tree::new(0);
    create(&mut t, "f1").unwrap();
    mkdir(&mut t, "d1").unwrap();
    put(&mut t, "old/f2", b"two");
    mkdir(&mut t, "late").unwrap();
    mkdir(&mut t, "late/later").unwrap();
    rename(&mut t, "f1", "late/later/f1").unwrap();
    rename(&mut t, "d1", "late/d1").unwrap();
    rename(&mut t, "old/f2", "late/later/f2").unwrap();
    let f1 = t.lookup("late/later/f1").unwrap();
    assert!(f1.parent > f1.inode, "the child has the smaller inode");
    let reloaded = Tree::from_rows(t.to_rows()).unwrap();
    assert_eq!(reloaded.checksum(), t.checksum());
    assert_eq!(reloaded.index(), t.index());
    let mut r = reloaded;
    assert_eq!(create(&mut r, "late/later/f1"), Err(Errno::Eexist));
    assert_eq!(mkdir(&mut r, "late/d1"), Err(Errno::Eexist));
    assert_eq!(content(&r, "late/later/f2"), b"two");
}

fn index_test_tree() -> Tree {
    let mut t = Tree::new(0);
    for n in 0..100 {
        let p = format!("testfile{n}");
        t.apply(&Op::Create { path: p.clone() }, 0, 1234).unwrap();
        let w = Op::Write {
            path: p,
            offset: 0,
            data: vec![0; 32768],
            truncate: false,
        };
        assert_eq!(t.apply(&w, 0, 1234).unwrap().result, 32768);
    }
    t
}

#[test]
fn index_test_vector() {
    let t = index_test_tree();
    let idx = t.index();
    assert_eq!(
        (idx.version, idx.last_inode, idx.size(), idx.bytes()),
        (201, 200, 101, 4072)
    );
    assert_eq!((idx.writer, idx.mtime), (0, 1234));
    let f7 = t.lookup("testfile7").unwrap();
    assert_eq!(
        (f7.inode, f7.version),
        (16, 17),
        "file N: inode 2+2N, version 3+2N"
    );
    let blob = idx.encode();
    assert_eq!(blob.len(), 4072);
    assert_eq!(
        hex(&Sha256::digest(&blob)),
        "913fd95015af9d93f10dd51ba2a7bb11351bcfe040be21e95fcba834adc3ec10"
    );
    assert_eq!(Index::decode(&blob).unwrap(), idx);
}

#[test]
fn index_layout_and_digest_fields() {
    let mut t = Tree::new(0);
    put(&mut t, "a", b"xyz");
    let idx = t.index();
    let blob = idx.encode();
    assert_eq!(&blob[0..8], &t.version().to_le_bytes());
    assert_eq!(&blob[8..16], &2u64.to_le_bytes(), "last_inode");
    assert_eq!(&blob[16..20], &W.to_le_bytes());
    assert_eq!(&blob[20..24], &T.to_le_bytes());
    assert_eq!(&blob[24..28], &2u32.to_le_bytes());
    assert_eq!(&blob[28..32], &112u32.to_le_bytes());
    assert_eq!(&blob[32..40], &0u64.to_le_bytes(), "root first");
    assert_eq!(&blob[72..80], &2u64.to_le_bytes());
    // §2.6: version ‖ writer ‖ mtime ‖ size ‖ type ‖ parent ‖ name ‖ data
    let mut h = Sha256::new();
    h.update(3u64.to_le_bytes());
    h.update(W.to_le_bytes());
    h.update(T.to_le_bytes());
    h.update(3u32.to_le_bytes());
    h.update([8u8]);
    h.update(0u64.to_le_bytes());
    h.update(b"a");
    h.update(b"xyz");
    let digest: [u8; 32] = h.finalize().into();
    assert_eq!(idx.entries[1].digest, digest);
    // §2.8 entry checksum: the same with the inode first
    let mut h = Sha256::new();
    h.update(2u64.to_le_bytes());
    h.update(3u64.to_le_bytes());
    h.update(W.to_le_bytes());
    h.update(T.to_le_bytes());
    h.update(3u32.to_le_bytes());
    h.update([8u8]);
    h.update(0u64.to_le_bytes());
    h.update(b"a");
    h.update(b"xyz");
    let csum: [u8; 32] = h.finalize().into();
    assert_eq!(t.entry_checksum("a"), Some(csum));
    // §2.7 whole tree: root then "a", each with inode first
    let mut h = Sha256::new();
    h.update(0u64.to_le_bytes());
    h.update(3u64.to_le_bytes());
    h.update(W.to_le_bytes());
    h.update(T.to_le_bytes());
    h.update(0u32.to_le_bytes());
    h.update([4u8]);
    h.update(0u64.to_le_bytes());
    h.update(2u64.to_le_bytes());
    h.update(3u64.to_le_bytes());
    h.update(W.to_le_bytes());
    h.update(T.to_le_bytes());
    h.update(3u32.to_le_bytes());
    h.update([8u8]);
    h.update(0u64.to_le_bytes());
    h.update(b"a");
    h.update(b"xyz");
    let whole: [u8; 32] = h.finalize().into();
    assert_eq!(t.checksum(), whole);
}

#[test]
fn index_decode_validates() {
    use crate::IndexError;
    let blob = index_test_tree().index().encode();
    assert_eq!(Index::decode(&blob[..31]), Err(IndexError::TooShort(31)));
    assert!(matches!(
        Index::decode(&blob[..4071]),
        Err(IndexError::LengthMismatch { .. })
    ));
    let mut bad = blob.clone();
    bad[24] = 3; // size field
    assert!(matches!(
        Index::decode(&bad),
        Err(IndexError::SizeMismatch { .. })
    ));
    let mut bad = blob.clone();
    bad[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Index::decode(&bad),
        Err(IndexError::SizeMismatch { .. })
    ));
    let mut bad = blob;
    bad[72..80].copy_from_slice(&0u64.to_le_bytes()); // second entry inode 0 again
    assert_eq!(Index::decode(&bad), Err(IndexError::Unsorted(1)));
}

#[test]
fn missing_in_walks_both_indexes_in_inode_order() {
    let index = |entries: &[(u64, u8)]| Index {
        version: 9,
        last_inode: 9,
        writer: 1,
        mtime: 1,
        entries: entries
            .iter()
            .map(|&(inode, d)| IndexEntry {
                inode,
                digest: [d; 32],
            })
            .collect(),
    };
    let leader = index(&[(1, 1), (3, 3), (5, 5), (7, 7)]);
    let member = index(&[(2, 2), (3, 3), (4, 4), (7, 0), (8, 8)]);
    assert_eq!(leader.missing_in(&member), vec![1, 5, 7]);
    assert_eq!(leader.missing_in(&index(&[])), vec![1, 3, 5, 7]);
    assert_eq!(index(&[]).missing_in(&leader), Vec::<u64>::new());
    assert_eq!(leader.missing_in(&leader), Vec::<u64>::new());
}

#[test]
fn index_diffs() {
    let mut leader = Tree::new(0);
    put(&mut leader, "a", b"1");
    put(&mut leader, "b", b"2");
    let mut member = leader.clone();
    put(&mut leader, "a", b"changed");
    delete(&mut leader, "b").unwrap();
    put(&mut member, "c", b"3");
    mkdir(&mut member, "e").unwrap();
    let (li, mi) = (leader.index(), member.index());
    let a = leader.lookup("a").unwrap().inode;
    let c = member.lookup("c").unwrap().inode;
    let b = member.lookup("b").unwrap().inode;
    assert_eq!(li.missing_in(&mi), vec![0, a], "root and the changed file");
    let e = member.lookup("e").unwrap().inode;
    assert_eq!(member.inodes_absent_from(&li), vec![b, c, e]);
    // same version/writer/mtime on both sides: the root digests agree
    let mut twin = leader.clone();
    put(&mut twin, "a", b"other");
    put(&mut leader, "a", b"changed again");
    assert_eq!(leader.index().missing_in(&twin.index()), vec![a]);
}
