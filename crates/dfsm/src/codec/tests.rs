//! Codec tests against hand-written byte strings.

use super::*;
use memdb::Row;

#[test]
fn group_names_count_the_nul() {
    assert_eq!(DCDB_GROUP.len(), 12);
    assert_eq!(KVSTORE_GROUP.len(), 15);
    assert_eq!(DCDB_GROUP.last(), Some(&0));
    assert_eq!(&KVSTORE_GROUP[..14], b"pve_kvstore_v1");
}

#[test]
fn normal_message_layout() {
    #[rustfmt::skip]
    let wire = [
        0x00, 0x00,             // type 0 = NORMAL
        0x05, 0x00,             // subtype 5 = CREATE
        0x01, 0x00, 0x00, 0x00, // protocol 1
        0x78, 0x56, 0x34, 0x12, // time 0x12345678
        0x00, 0x00, 0x00, 0x00, // reserved
        0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // count
        0xaa, 0xbb,             // payload
    ];
    let encoded = encode_normal(5, 1, 0x1234_5678, 0x0100_0000_0000_002a, &[0xaa, 0xbb]);
    assert_eq!(encoded, wire);
    let (h, payload) = decode_normal(&wire).unwrap();
    assert_eq!(h.base.msg_type, 0);
    assert_eq!(h.base.subtype, 5);
    assert_eq!(h.base.protocol_version, 1);
    assert_eq!(h.base.time, 0x1234_5678);
    assert_eq!(h.base.reserved, 0);
    assert_eq!(h.count, 0x0100_0000_0000_002a);
    assert_eq!(payload, [0xaa, 0xbb]);
}

#[test]
fn state_message_layout() {
    #[rustfmt::skip]
    let wire = [
        0x02, 0x00,             // type 2 = STATE
        0x00, 0x00,             // subtype 0
        0x01, 0x00, 0x00, 0x00, // protocol 1
        0x10, 0x00, 0x00, 0x00, // time 16
        0x00, 0x00, 0x00, 0x00, // reserved
        0x07, 0x00, 0x00, 0x00, // epoch counter 7
        0x20, 0x00, 0x00, 0x00, // epoch time 32
        0x03, 0x00, 0x00, 0x00, // epoch nodeid 3
        0xe8, 0x03, 0x00, 0x00, // epoch pid 1000
        0x01, 0x02, 0x03,       // payload
    ];
    let epoch = Epoch {
        epoch: 7,
        time: 32,
        nodeid: 3,
        pid: 1000,
    };
    assert_eq!(
        encode_state(MsgType::State, 1, 16, &epoch, &[1, 2, 3]),
        wire
    );
    let (h, payload) = decode_state(&wire).unwrap();
    assert_eq!(h.base.msg_type, MsgType::State.code());
    assert_eq!(h.epoch, epoch);
    assert_eq!(payload, [1, 2, 3]);
    // a bare 32-byte state header has an empty payload
    assert_eq!(decode_state(&wire[..32]).unwrap().1, [] as [u8; 0]);
}

#[test]
fn base_header_and_types() {
    let wire = [
        0x06, 0x00, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x09, 0, 0, 0,
    ];
    let h = BaseHeader::decode(&wire).unwrap();
    assert_eq!(MsgType::from_code(h.msg_type), Some(MsgType::Verify));
    assert_eq!(h.protocol_version, 2);
    assert_eq!(h.reserved, 9);
    for code in 0..=6u16 {
        assert_eq!(MsgType::from_code(code).unwrap().code(), code);
    }
    assert_eq!(MsgType::from_code(7), None);
    assert_eq!(MsgType::from_code(0xffff), None);
}

#[test]
fn short_headers_are_rejected() {
    let sixteen = [0u8; 16];
    for len in 0..16 {
        assert!(matches!(
            BaseHeader::decode(&sixteen[..len]),
            Err(CodecError::TooShort { min: 16, .. })
        ));
    }
    let buf = [0u8; 32];
    for len in 0..24 {
        assert_eq!(
            decode_normal(&buf[..len]).unwrap_err(),
            CodecError::TooShort {
                what: "NORMAL message",
                len,
                min: 24
            }
        );
    }
    for len in 0..32 {
        assert_eq!(
            decode_state(&buf[..len]).unwrap_err(),
            CodecError::TooShort {
                what: "state message",
                len,
                min: 32
            }
        );
    }
}

#[test]
fn verify_payloads() {
    let req = [0x01, 0x02, 0, 0, 0, 0, 0, 0x80];
    assert_eq!(decode_verify_request(&req), Ok(0x8000_0000_0000_0201));
    assert_eq!(encode_verify_request(0x8000_0000_0000_0201), req);
    for len in [0, 7, 9, 40] {
        assert!(matches!(
            decode_verify_request(&vec![0; len]),
            Err(CodecError::BadLength { expected: 8, .. })
        ));
    }
    let mut verify = vec![0x05, 0, 0, 0, 0, 0, 0, 0];
    verify.extend(0x20..0x40u8);
    let csum: [u8; 32] = core::array::from_fn(|i| 0x20 + i as u8);
    assert_eq!(decode_verify(&verify), Ok((5, csum)));
    assert_eq!(encode_verify(5, &csum).to_vec(), verify);
    for len in [0, 8, 39, 41] {
        assert!(matches!(
            decode_verify(&vec![0; len]),
            Err(CodecError::BadLength { expected: 40, .. })
        ));
    }
}

#[test]
fn subtypes() {
    for code in 1..=8u16 {
        assert_eq!(DcdbSubtype::from_code(code).unwrap().code(), code);
    }
    assert_eq!(DcdbSubtype::from_code(0), None);
    assert_eq!(DcdbSubtype::from_code(9), None);
}

#[test]
fn fuse_op_write_layout() {
    #[rustfmt::skip]
    let wire = [
        0x03, 0x00, 0x00, 0x00, // size 3
        0x0a, 0x00, 0x00, 0x00, // offset 10
        0x04, 0x00, 0x00, 0x00, // pathlen 4 ("a/b" + NUL)
        0x00, 0x00, 0x00, 0x00, // tolen 0
        0x01, 0x00, 0x00, 0x00, // flags 1 = truncate
        b'a', b'/', b'b', 0x00,
        b'x', b'y', b'z',
    ];
    let op = FuseOp {
        offset: 10,
        flags: 1,
        path: Some("a/b".into()),
        to: None,
        data: b"xyz".to_vec(),
    };
    assert_eq!(op.encode(), wire);
    assert_eq!(FuseOp::decode(&wire), Ok(op));
}

#[test]
fn fuse_op_rename_layout() {
    #[rustfmt::skip]
    let wire = [
        0x00, 0x00, 0x00, 0x00, // size 0
        0x00, 0x00, 0x00, 0x00, // offset
        0x02, 0x00, 0x00, 0x00, // pathlen 2
        0x03, 0x00, 0x00, 0x00, // tolen 3
        0x00, 0x00, 0x00, 0x00, // flags
        b'f', 0x00,
        b't', b'o', 0x00,
    ];
    let op = FuseOp::decode(&wire).unwrap();
    assert_eq!(op.path.as_deref(), Some("f"));
    assert_eq!(op.to.as_deref(), Some("to"));
    assert!(op.data.is_empty());
    assert_eq!(op.encode(), wire);
    // no strings at all: 20 zero bytes are a valid (empty) record
    assert_eq!(FuseOp::decode(&[0; 20]), Ok(FuseOp::default()));
}

#[test]
fn fuse_op_malformed() {
    let ok = FuseOp {
        path: Some("p".into()),
        data: vec![1, 2],
        ..FuseOp::default()
    }
    .encode();
    for len in 0..20 {
        assert!(matches!(
            FuseOp::decode(&ok[..len]),
            Err(CodecError::TooShort { min: 20, .. })
        ));
    }
    // one byte missing / one byte too many
    assert!(matches!(
        FuseOp::decode(&ok[..ok.len() - 1]),
        Err(CodecError::LengthMismatch {
            declared: 4,
            actual: 3,
            ..
        })
    ));
    let mut long = ok.clone();
    long.push(0);
    assert!(matches!(
        FuseOp::decode(&long),
        Err(CodecError::LengthMismatch { .. })
    ));
    // huge lengths do not overflow
    #[rustfmt::skip]
    let huge = [
        0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0, 0, 0, 0, b'x',
    ];
    assert!(matches!(
        FuseOp::decode(&huge),
        Err(CodecError::LengthMismatch { .. })
    ));
    // path without its NUL
    #[rustfmt::skip]
    let no_nul = [0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'a', b'b'];
    assert_eq!(
        FuseOp::decode(&no_nul),
        Err(CodecError::MissingNul {
            what: "FUSE-op path"
        })
    );
    // target without its NUL
    #[rustfmt::skip]
    let to_no_nul = [0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, b'a', 0, b'b'];
    assert_eq!(
        FuseOp::decode(&to_no_nul),
        Err(CodecError::MissingNul {
            what: "FUSE-op target"
        })
    );
    // not UTF-8
    #[rustfmt::skip]
    let latin1 = [0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe9, 0];
    assert_eq!(
        FuseOp::decode(&latin1),
        Err(CodecError::NotUtf8 {
            what: "FUSE-op path"
        })
    );
    // an embedded NUL is kept for memdb to reject
    #[rustfmt::skip]
    let inner_nul = [0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'a', 0, b'b', 0];
    assert_eq!(
        FuseOp::decode(&inner_nul).unwrap().path.as_deref(),
        Some("a\0b")
    );
}

#[test]
fn unlock_record() {
    let mut wire = vec![0x11; 32];
    wire.extend_from_slice(b"priv/lock/x\0");
    let rec = UnlockRecord::decode(&wire).unwrap();
    assert_eq!(rec.csum, [0x11; 32]);
    assert_eq!(rec.path, "priv/lock/x");
    assert_eq!(rec.encode(), wire);
    // minimum: 32 bytes + a lone NUL (empty path)
    let mut min = vec![0u8; 33];
    assert_eq!(UnlockRecord::decode(&min).unwrap().path, "");
    for len in 0..33 {
        assert!(matches!(
            UnlockRecord::decode(&min[..len]),
            Err(CodecError::TooShort { min: 33, .. })
        ));
    }
    min[32] = b'x';
    assert_eq!(
        UnlockRecord::decode(&min),
        Err(CodecError::MissingNul {
            what: "unlock path"
        })
    );
}

#[test]
fn update_record_file_layout() {
    #[rustfmt::skip]
    let wire = [
        0x01, 0, 0, 0, 0, 0, 0, 0,       // parent 1
        0x05, 0, 0, 0, 0, 0, 0, 0,       // inode 5
        0x09, 0, 0, 0, 0, 0, 0, 0,       // version 9
        0x02, 0, 0, 0,                   // writer 2
        0xd2, 0x04, 0, 0,                // mtime 1234
        0x02, 0, 0, 0,                   // size 2
        0x02, 0, 0, 0,                   // namelen 2
        0x08,                            // type 8 = file
        b'f', 0x00,                      // name
        0xde, 0xad,                      // data
    ];
    let row = Row {
        inode: 5,
        parent: 1,
        version: 9,
        writer: 2,
        mtime: 1234,
        kind: 8,
        name: "f".into(),
        data: Some(vec![0xde, 0xad]),
    };
    assert_eq!(encode_update(row.borrowed()), wire);
    assert_eq!(decode_update(&wire), Ok(row));
}

#[test]
fn update_record_root_and_dir() {
    #[rustfmt::skip]
    let root = [
        0, 0, 0, 0, 0, 0, 0, 0,          // parent 0
        0, 0, 0, 0, 0, 0, 0, 0,          // inode 0
        0x2a, 0, 0, 0, 0, 0, 0, 0,       // version 42
        0x01, 0, 0, 0,                   // writer 1
        0x64, 0, 0, 0,                   // mtime 100
        0, 0, 0, 0,                      // size 0
        0x01, 0, 0, 0,                   // namelen 1 (empty name)
        0x04,                            // type 4 = directory
        0x00,
    ];
    let row = decode_update(&root).unwrap();
    assert_eq!(
        (row.inode, row.version, row.kind, row.name.as_str()),
        (0, 42, 4, "")
    );
    assert_eq!(row.data, None);
    assert_eq!(encode_update(row.borrowed()), root);
}

#[test]
fn update_record_malformed() {
    let row = Row {
        inode: 3,
        parent: 0,
        version: 3,
        writer: 1,
        mtime: 5,
        kind: 8,
        name: "ab".into(),
        data: Some(vec![7; 4]),
    };
    let ok = encode_update(row.borrowed());
    for len in 0..41 {
        assert!(matches!(
            decode_update(&ok[..len]),
            Err(CodecError::TooShort { min: 41, .. })
        ));
    }
    assert!(matches!(
        decode_update(&ok[..ok.len() - 1]),
        Err(CodecError::LengthMismatch { .. })
    ));
    let mut long = ok.clone();
    long.push(1);
    assert!(matches!(
        decode_update(&long),
        Err(CodecError::LengthMismatch { .. })
    ));
    let mut bad_type = ok.clone();
    bad_type[40] = 0;
    assert_eq!(decode_update(&bad_type), Err(CodecError::BadEntryType(0)));
    // namelen 0: no NUL at all
    let mut no_name = ok[..41].to_vec();
    no_name[32..36].copy_from_slice(&0u32.to_le_bytes());
    no_name[36..40].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(
        decode_update(&no_name),
        Err(CodecError::MissingNul {
            what: "UPDATE name"
        })
    );
    // name not NUL-terminated
    let mut unterminated = ok.clone();
    unterminated[43] = b'c';
    assert_eq!(
        decode_update(&unterminated),
        Err(CodecError::MissingNul {
            what: "UPDATE name"
        })
    );
}
