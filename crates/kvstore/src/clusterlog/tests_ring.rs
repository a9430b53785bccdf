//! Ring layout, wrap-around, walking, sort, merge and hostile rings.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

fn src(node: &str) -> Source<'_> {
    Source {
        node,
        ident: "u",
        tag: "t",
        pid: 7,
    }
}

/// An entry of exactly `size` bytes (node names of one character).
fn sized(node: &str, uid: u32, time: u32, size: usize) -> Entry {
    let text = "x".repeat(size - 48 - 2 - 2 - node.len() - 1 - 1);
    let e = Entry::pack(&src(node), uid, time, 6, &text).unwrap();
    assert_eq!(e.size() as usize, size);
    e
}

fn uids(ring: &Ring) -> Vec<u32> {
    ring.entries().iter().map(|e| e.uid).collect()
}

#[test]
fn ring_layout_is_byte_exact() {
    let mut ring = Ring::new(MIN_SIZE).unwrap();
    assert_eq!(Ring::new(MIN_SIZE - 1), Err(RingError::TooSmall(40959)));
    assert_eq!(&ring.as_bytes()[..8], &[0x00, 0xa0, 0x00, 0x00, 0, 0, 0, 0]);
    let e = Entry::pack(
        &Source {
            node: "n1",
            ident: "root",
            tag: "t",
            pid: 0x1234,
        },
        1,
        0x6500_0000,
        6,
        "hi",
    )
    .unwrap();
    assert!(ring.push(&e));
    assert!(ring.push(&e));
    let b = ring.as_bytes();
    // cpos = 72 (second entry); 61 bytes round up to 64.
    assert_eq!(&b[4..8], &[72, 0, 0, 0]);
    assert_eq!(
        &b[8..16],
        &[0, 0, 0, 0, 72, 0, 0, 0],
        "first: prev 0, next 72"
    );
    assert_eq!(
        &b[72..80],
        &[8, 0, 0, 0, 136, 0, 0, 0],
        "second: prev 8, next 136"
    );
    assert_eq!(&b[16..69], &e.encode()[8..]);
    assert_eq!(&b[69..72], &[0, 0, 0], "alignment gap");
    let state = Ring::from_state(b).unwrap();
    assert_eq!(state.entries(), vec![e.clone(), e]);
}

#[test]
fn wrap_around_keeps_the_newest_and_skips_the_overwritten_window() {
    let mut ring = Ring::new(MIN_SIZE).unwrap();
    // 1000-byte entries at 8, 1008, ..., 39008 (40 fit), the 41st wraps to 8.
    for uid in 1..=41 {
        assert!(ring.push(&sized("a", uid, uid, 1000)));
    }
    assert_eq!(ring.cpos(), 8);
    let walked = uids(&ring);
    // uid 1 was overwritten; uids 2..=5 lie within cpos + 4096 and count as overwritten.
    let mut expected = vec![41];
    expected.extend((6..=40).rev());
    assert_eq!(walked, expected);
    // Second lap reaches the end of the first: entry 41's prev (39008) is now <= cpos.
    for uid in 42..=80 {
        assert!(ring.push(&sized("a", uid, uid, 1000)));
    }
    assert_eq!(ring.cpos(), 39008);
    let items: Vec<WalkItem> = ring.walk().collect();
    assert_eq!(items.len(), 40);
    assert_eq!(
        items.last().map(|i| (i.entry.uid, i.wraps_onto_visited)),
        Some((41, true))
    );
    // The JSON dump drops that last entry (as the original), sort keeps it.
    let mut log = ClusterLog::new();
    for item in items.iter().rev() {
        log.insert(&item.entry);
    }
    let log_json = |ring: &Ring| {
        let mut l = ClusterLog::new();
        l.ring = ring.clone();
        l.dump_json(1000).matches("\"uid\"").count()
    };
    assert_eq!(log_json(&ring), 39);
    assert_eq!(uids(&sort(&ring)).len(), 40);
}

#[test]
fn sort_orders_by_time_node_uid() {
    let mut ring = Ring::default();
    for (uid, time) in [(1, 30), (2, 10), (3, 20), (4, 10)] {
        ring.push(&sized("a", uid, time, 100));
    }
    let sorted = sort(&ring);
    assert_eq!(sorted.size(), ring.size());
    assert_eq!(uids(&sorted), vec![1, 3, 4, 2]);
    assert!(sort(&Ring::default()).is_empty());
    // Entries equal under the comparator collapse.
    ring.push(&sized("a", 4, 10, 100));
    assert_eq!(uids(&sort(&ring)), vec![1, 3, 4, 2]);
}

#[test]
fn same_second_entries_follow_the_original_comparator() {
    // u64 order: beta < alpha; the original's truncated difference puts alpha first.
    let (alpha, beta) = (name_digest("alpha"), name_digest("beta"));
    assert!(beta < alpha);
    assert!((alpha.wrapping_sub(beta) as u32 as i32) < 0);
    let mut ring = Ring::default();
    ring.push(&Entry::pack(&src("alpha"), 1, 100, 6, "a").unwrap());
    ring.push(&Entry::pack(&src("beta"), 1, 100, 6, "b").unwrap());
    let nodes: Vec<Vec<u8>> = sort(&ring)
        .entries()
        .iter()
        .map(|e| e.node().to_vec())
        .collect();
    assert_eq!(
        nodes,
        vec![b"beta".to_vec(), b"alpha".to_vec()],
        "newest first"
    );
}

#[test]
fn non_transitive_orders_match_glib() {
    // alpha < beta, beta < delta, delta < alpha under the original comparator. The
    // expected orders were produced by inserting the same sequences into GLib 2.74's
    // GTree with the original comparator.
    let e = |n: &str| Entry::pack(&src(n), 1, 100, 6, "m").unwrap();
    let cases: [(&[&str], &[&str]); 3] = [
        (&["alpha", "beta", "delta"], &["delta", "alpha", "beta"]),
        (&["delta", "beta", "alpha"], &["beta", "delta", "alpha"]),
        (&["beta", "alpha", "delta"], &["alpha", "beta", "delta"]),
    ];
    for (input, expected) in cases {
        let mut tree = EntryTree::new();
        for n in input {
            tree.insert(e(n));
        }
        let got: Vec<Vec<u8>> = tree
            .into_sorted()
            .iter()
            .map(|e| e.node().to_vec())
            .collect();
        let expected: Vec<Vec<u8>> = expected.iter().map(|n| n.as_bytes().to_vec()).collect();
        assert_eq!(got, expected, "insertion order {input:?}");
    }
}

fn three_logs() -> Vec<ClusterLog> {
    let mut logs: Vec<ClusterLog> = (0..3).map(|_| ClusterLog::new()).collect();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        for k in 0..20u32 {
            let entry = logs[i].log(
                &src(name),
                1000 + k * 3 + i as u32,
                6,
                &format!("{name}{k}"),
            );
            // Some entries reached one other node before the partition.
            if k % 4 == 0 {
                logs[(i + 1) % 3].insert(&entry.unwrap());
            }
        }
    }
    logs
}

#[test]
fn merge_of_three_logs_gives_identical_rings_everywhere() {
    let mut logs = three_logs();
    let states: Vec<Ring> = logs
        .iter_mut()
        .map(|l| Ring::from_state(&l.get_state()).unwrap())
        .collect();
    for (i, log) in logs.iter_mut().enumerate() {
        let refs: Vec<Option<&Ring>> = states.iter().map(Some).collect();
        assert!(log.merge(&refs, i));
    }
    assert_eq!(logs[0].ring(), logs[1].ring());
    assert_eq!(logs[1].ring(), logs[2].ring());
    let entries = logs[0].entries();
    assert_eq!(entries.len(), 60);
    let times: Vec<u32> = entries.iter().map(|e| e.time).collect();
    assert!(
        times.windows(2).all(|w| w[0] > w[1]),
        "newest first, no duplicates"
    );
    assert_eq!(logs[0].dedup()[&name_digest("c")], (1000 + 19 * 3 + 2, 20));
    assert_eq!(logs[0].dump_json(5), logs[2].dump_json(5));
    assert!(!logs[0].merge(&[None], 0), "fewer than two logs");
}

#[test]
fn merge_skips_invalid_states_and_uses_the_live_local_ring() {
    let mut logs = three_logs();
    let s1 = Ring::from_state(&logs[1].get_state()).unwrap();
    // Logged after the state was sent: the merge still sees it in the local ring.
    logs[0].log(&src("a"), 5000, 6, "late");
    let mut local = logs.remove(0);
    assert!(local.merge(&[None, Some(&s1), None], 0));
    let entries = local.entries();
    assert_eq!(entries[0].msg(), b"late");
    assert!(entries.iter().all(|e| e.node() != b"c" || e.uid % 4 == 1));
    assert!(Ring::from_state(&[0u8; 8]).is_err());
    assert!(Ring::from_state(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).is_ok());
    assert!(Ring::from_state(&[10, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
}

#[test]
fn merge_stops_at_the_size_limit() {
    let mut a = ClusterLog::new();
    let mut b = ClusterLog::new();
    for uid in 1..=40 {
        a.insert(&sized("a", uid, 2 * uid, 4000));
        b.insert(&sized("b", uid, 2 * uid + 1, 4000));
    }
    let sa = Ring::from_state(&a.get_state()).unwrap();
    let sb = Ring::from_state(&b.get_state()).unwrap();
    assert!(a.merge(&[Some(&sa), Some(&sb)], 0));
    let merged = a.entries();
    // 4000 bytes take 4000 of ring space; 31 * 4000 >= 131072 - 8 - 4096.
    assert_eq!(merged.len(), 32);
    assert_eq!(merged[0].time, 81);
    assert_eq!(merged.last().map(|e| e.time), Some(50));
}

#[test]
fn time_zero_hides_older_entries_in_a_merge() {
    let mut a = Ring::default();
    a.push(&sized("a", 1, 50, 100));
    a.push(&sized("a", 2, 0, 100));
    let mut b = Ring::default();
    b.push(&sized("b", 1, 40, 100));
    let (ring, _) = merge(&[Some(&a), Some(&b)]);
    assert_eq!(uids(&ring), vec![1]);
    assert_eq!(ring.entries()[0].node(), b"b");
}

fn ring_with(cpos: u32, entries: &[(u32, u32, u32, &Entry)]) -> Ring {
    let mut bytes = Ring::default().into_bytes();
    bytes[4..8].copy_from_slice(&cpos.to_le_bytes());
    for (off, prev, next, e) in entries {
        let b = e.encode_linked(*prev, *next);
        bytes[*off as usize..*off as usize + b.len()].copy_from_slice(&b);
    }
    Ring::from_state(&bytes).unwrap()
}

#[test]
fn hostile_rings_never_loop_or_panic() {
    let e = sized("a", 1, 10, 100);
    // prev pointing at itself (the original would loop forever).
    assert_eq!(ring_with(8, &[(8, 8, 112, &e)]).entries().len(), 1);
    // Two entries pointing at each other.
    let r = ring_with(112, &[(8, 112, 112, &e), (112, 8, 216, &e)]);
    assert_eq!(r.entries().len(), 2);
    // Inconsistent next, unaligned or out-of-range cpos.
    assert!(ring_with(8, &[(8, 0, 200, &e)]).entries().is_empty());
    assert!(ring_with(9, &[]).entries().is_empty());
    assert!(ring_with(u32::MAX, &[]).entries().is_empty());
    assert!(ring_with(131_064, &[]).entries().is_empty());
    // Random garbage.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..200 {
        let mut bytes = vec![0u8; 256];
        rng.fill(&mut bytes[..]);
        let len = bytes.len() as u32;
        bytes[..4].copy_from_slice(&len.to_le_bytes());
        bytes[4..8].copy_from_slice(&(8 * rng.random_range(0..32u32)).to_le_bytes());
        let ring = Ring::from_state(&bytes).unwrap();
        let _ = ring.entries();
        let _ = merge(&[Some(&ring), Some(&ring)]);
    }
}
