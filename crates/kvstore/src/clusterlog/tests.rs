//! Entry layout, escaping, packing, dedup and the JSON dump.

use super::*;

fn src<'a>(node: &'a str, ident: &'a str, tag: &'a str, pid: u32) -> Source<'a> {
    Source {
        node,
        ident,
        tag,
        pid,
    }
}

/// node "n1", ident "root", tag "t", msg "hi", uid 1, time 0x65000000, pid 0x1234, pri 6.
const SAMPLE: [u8; 61] = [
    0x00, 0x00, 0x00, 0x00, // prev
    0x00, 0x00, 0x00, 0x00, // next
    0x01, 0x00, 0x00, 0x00, // uid
    0x00, 0x00, 0x00, 0x65, // time
    0x40, 0x82, 0xf1, 0x25, 0x19, 0xce, 0xce, 0x21, // fnv("n1\0")
    0xbf, 0x53, 0xbc, 0x1d, 0x46, 0xe2, 0xd1, 0x4d, // fnv("root\0")
    0x34, 0x12, 0x00, 0x00, // pid
    0x06, 0x03, 0x05, 0x02, // priority, node_len, ident_len, tag_len
    0x03, 0x00, 0x00, 0x00, // msg_len
    b'n', b'1', 0x00, b'r', b'o', b'o', b't', 0x00, b't', 0x00, b'h', b'i', 0x00, 0x00, 0x00, 0x00,
    0x00, // the 4 bytes beyond the strings
];

#[test]
fn entry_layout_is_byte_exact() {
    let e = Entry::pack(&src("n1", "root", "t", 0x1234), 1, 0x6500_0000, 6, "hi").unwrap();
    assert_eq!(e.encode(), SAMPLE.to_vec());
    assert_eq!(e.size(), 61);
    assert_eq!(e.lens(), (3, 5, 2, 3));
    let d = Entry::decode_message(&SAMPLE).unwrap();
    assert_eq!(d, e);
    assert_eq!(
        (d.node(), d.ident(), d.tag(), d.msg()),
        (&b"n1"[..], &b"root"[..], &b"t"[..], &b"hi"[..])
    );
    assert_eq!(d.node_digest, 0x21ce_ce19_25f1_8240);
    assert_eq!(d.ident_digest, name_digest("root"));
    // The trailing 4 bytes are accepted whatever they hold, and kept.
    let mut odd = SAMPLE;
    odd[57..].copy_from_slice(&[1, 2, 3, 4]);
    let d = Entry::decode_message(&odd).unwrap();
    assert_eq!(d.encode(), odd.to_vec());
}

#[test]
fn malformed_log_messages_are_rejected() {
    assert_eq!(
        Entry::decode_message(&SAMPLE[..47]),
        Err(EntryError::Short(47))
    );
    assert!(matches!(
        Entry::decode_message(&SAMPLE[..60]),
        Err(EntryError::WrongSize {
            got: 60,
            expected: 61
        })
    ));
    let mut long = SAMPLE.to_vec();
    long.push(0);
    assert!(matches!(
        Entry::decode_message(&long),
        Err(EntryError::WrongSize { .. })
    ));
    // Each string must end in NUL at its declared length.
    for at in [46usize, 51, 53, 56] {
        let mut bad = SAMPLE;
        bad[at] = b'x';
        assert_eq!(
            Entry::decode_message(&bad),
            Err(EntryError::Unterminated),
            "byte {at}"
        );
    }
    // Moving a boundary: node_len 2 makes "n1" unterminated.
    let mut bad = SAMPLE;
    bad[37] = 2;
    bad[40] = 4;
    assert_eq!(Entry::decode_message(&bad), Err(EntryError::Unterminated));
    // Empty strings cannot be NUL-terminated.
    let mut bad = SAMPLE;
    bad[39] = 0;
    bad[40] = 5;
    assert_eq!(Entry::decode_message(&bad), Err(EntryError::Unterminated));
    // A huge msg_len never panics.
    let mut bad = SAMPLE;
    bad[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Entry::decode_message(&bad),
        Err(EntryError::WrongSize { .. })
    ));
    // Arbitrary garbage of every length up to 80 bytes never panics.
    for len in 0..80 {
        let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
        let _ = Entry::decode_message(&junk);
    }
}

#[test]
fn fnv_vectors() {
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(name_digest(""), 0xaf63_bd4c_8601_b7df);
    assert_eq!(name_digest("n1"), fnv1a64(b"n1\0"));
}

#[test]
fn escaping_follows_the_original_rules() {
    let esc = |m: &[u8]| escape_message(m, 100);
    assert_eq!(esc(b"a \"b\"\nc\x7f"), "a \\\"b\\\"#010c#127");
    assert_eq!(esc("grüß €".as_bytes()), "gr\\u00fc\\u00df \\u20ac");
    assert_eq!(esc("x😀y".as_bytes()), "xy");
    assert_eq!(esc("\u{ffff}".as_bytes()), "\\uffff");
    // Invalid UTF-8 is escaped byte-wise; DEL and high bytes become '?'.
    assert_eq!(esc(b"a\xff\"\x01\x1f\x7f"), "a?\\\"#001#031?");
    // The input ends at a NUL.
    assert_eq!(esc(b"ab\0cd"), "ab");
    // Pieces are appended while the output is shorter than bufsize - 7.
    assert_eq!(escape_message(b"abcdefgh", 11), "abcd");
    assert_eq!(escape_message(b"abc\ndef", 11), "abc#010");
    assert_eq!(escape_message("abcé".as_bytes(), 11), "abc\\u00e9");
    assert_eq!(escape_message(b"abc", 10), "");
}

#[test]
fn pack_cuts_long_names_and_messages() {
    let long = "n".repeat(300);
    let e = Entry::pack(&src(&long, "u", "t", 1), 1, 5, 6, "m").unwrap();
    assert_eq!(e.node().len(), 254);
    assert_eq!(e.lens().0, 255);
    // The digest covers the first 255 bytes of the name (no NUL among them).
    assert_eq!(e.node_digest, fnv1a64(&long.as_bytes()[..255]));
    assert_eq!(Entry::pack(&src("n", "u", "t", 1), 1, 5, 8, "m"), None);

    // Plain ASCII stops at bufsize - 7 characters: entry size 4094.
    let e = Entry::pack(&src("n", "u", "t", 1), 1, 5, 6, &"x".repeat(9000)).unwrap();
    assert_eq!(e.size(), 4094);
    assert!(Entry::decode_message(&e.encode()).is_ok());

    // QUIRK: a 6-byte escape at the limit overshoots; msg_len is cut to size 4096 and
    // the message loses its NUL at the declared end (receivers reject it).
    let room = 4096 - 44 - 6;
    let msg = format!("{}{}", "x".repeat(room - 8), "é".repeat(10));
    let e = Entry::pack(&src("n", "u", "t", 1), 1, 5, 6, &msg).unwrap();
    assert_eq!(e.size(), 4096);
    assert_eq!(e.encode().len(), 4096);
    assert_eq!(
        Entry::decode_message(&e.encode()),
        Err(EntryError::Unterminated)
    );
    assert_eq!(
        e.msg().len(),
        room - 2,
        "the text still ends in the trailing bytes"
    );
    let mut log = ClusterLog::new();
    assert!(log.insert(&e));
    assert_eq!(log.entries(), vec![e]);
}

#[test]
fn dedup_per_node() {
    let mut log = ClusterLog::new();
    let a = Entry::pack(&src("a", "u", "t", 1), 5, 100, 6, "x").unwrap();
    assert!(log.insert(&a));
    assert!(!log.insert(&a), "same (time, uid)");
    let older_uid = Entry::pack(&src("a", "u", "t", 1), 4, 100, 6, "x").unwrap();
    assert!(!log.insert(&older_uid));
    let older_time = Entry::pack(&src("a", "u", "t", 1), 9, 99, 6, "x").unwrap();
    assert!(!log.insert(&older_time));
    let next_uid = Entry::pack(&src("a", "u", "t", 1), 6, 100, 6, "x").unwrap();
    assert!(log.insert(&next_uid));
    // Another node has its own record.
    let b = Entry::pack(&src("b", "u", "t", 1), 1, 50, 6, "x").unwrap();
    assert!(log.insert(&b));
    assert_eq!(log.dedup()[&name_digest("a")], (100, 6));
    assert_eq!(log.entries().len(), 3);
}

#[test]
fn dump_is_newest_first_in_the_exact_layout() {
    let mut log = ClusterLog::new();
    assert_eq!(log.dump_json(50), "{\n\"data\": [\n]\n}\n");
    log.log(
        &src("node1", "root", "cluster", 10),
        1000,
        6,
        "starting cluster log",
    );
    log.log(&src("node1", "root@pam", "pvecm", 11), 1001, 5, "second");
    assert_eq!(
        log.dump_json(50),
        "{\n\"data\": [\n\
         {\"uid\": 2, \"time\": 1001, \"pri\": 5, \"tag\": \"pvecm\", \"pid\": 11, \"node\": \"node1\", \"user\": \"root@pam\", \"msg\": \"second\"},\n\
         {\"uid\": 1, \"time\": 1000, \"pri\": 6, \"tag\": \"cluster\", \"pid\": 10, \"node\": \"node1\", \"user\": \"root\", \"msg\": \"starting cluster log\"}\n\
         ]\n}\n"
    );
    assert_eq!(log.dump_json(1).matches("uid").count(), 1);
    assert_eq!(log.dump_json(0), "{\n\"data\": [\n]\n}\n");
    let only_pam = log.dump_json_for(50, "root@pam");
    assert_eq!(only_pam.matches("uid").count(), 1);
    assert!(only_pam.contains("\"user\": \"root@pam\""));
    assert_eq!(log.dump_json_for(50, "nobody").matches("uid").count(), 0);
    assert_eq!(log.dump_json_for(50, ""), log.dump_json(50));
    // Priorities >= 8 are not logged and use no uid.
    assert_eq!(log.log(&src("node1", "root", "t", 1), 1002, 8, "no"), None);
    let e = log
        .log(&src("node1", "root", "t", 1), 1002, 7, "yes")
        .unwrap();
    assert_eq!(e.uid, 3);
}

#[test]
fn the_message_is_escaped_in_the_dump() {
    let mut log = ClusterLog::new();
    log.log(&src("n", "u", "t", 1), 1, 3, "say \"hi\"\n");
    assert!(log.dump_json(5).contains("\"msg\": \"say \\\"hi\\\"#010\""));
}
