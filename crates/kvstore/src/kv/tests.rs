use super::*;

fn nodes() -> Vec<NodeInfo> {
    [(1, "pve1"), (2, "pve2"), (3, "pve3")]
        .iter()
        .map(|&(nodeid, name)| NodeInfo {
            nodeid,
            name: name.to_string(),
            votes: 1,
        })
        .collect()
}

#[test]
fn update_payload_layout() {
    let p = encode_update("kv/x", b"val").unwrap();
    assert_eq!(p.len(), 259);
    assert_eq!(&p[..5], b"kv/x\0");
    assert!(p[5..256].iter().all(|&b| b == 0));
    assert_eq!(&p[256..], b"val");
    assert_eq!(decode_update(&p), Ok(("kv/x", &b"val"[..])));
    let max = "k".repeat(255);
    let p = encode_update(&max, b"").unwrap();
    assert_eq!(p.len(), 256);
    assert_eq!(decode_update(&p), Ok((max.as_str(), &b""[..])));
    assert_eq!(encode_update(&"k".repeat(256), b""), None);
    assert_eq!(encode_update("a\0b", b""), None);
    // Malformed payloads.
    assert_eq!(decode_update(&[0u8; 255]), Err(UpdateError::Short(255)));
    assert_eq!(decode_update(&[b'a'; 300]), Err(UpdateError::Unterminated));
    let mut bad = vec![0u8; 256];
    bad[0] = 0xff;
    assert_eq!(decode_update(&bad), Err(UpdateError::NotUtf8));
    // Bytes after the NUL inside the key field are ignored.
    let mut junk = vec![0xaau8; 260];
    junk[..3].copy_from_slice(b"k\0z");
    assert_eq!(decode_update(&junk), Ok(("k", &[0xaa; 4][..])));
}

#[test]
fn plain_keys_version_and_delete() {
    let mut t = Tables::new("pve1");
    assert_eq!(t.set_local("kv/a", b"1", 0), Ok(Applied::Plain));
    assert_eq!(t.local().get("kv/a").map(|e| e.version), Some(0));
    t.set_local("kv/a", b"2", 0).unwrap();
    t.set_local("kv/a", b"3", 0).unwrap();
    assert_eq!(
        t.local().get("kv/a"),
        Some(&KvEntry {
            value: b"3".to_vec(),
            version: 2
        })
    );
    t.set_local("kv/a", b"", 0).unwrap();
    assert!(t.local().is_empty());
    t.set_local("kv/a", b"4", 0).unwrap();
    assert_eq!(
        t.local().get("kv/a").map(|e| e.version),
        Some(0),
        "a new key starts at 0"
    );
    assert_eq!(t.get("", "kv/a"), Some(&b"4"[..]));
    assert_eq!(t.get("pve1", "kv/a"), Some(&b"4"[..]));
}

#[test]
fn limits() {
    let mut t = Tables::new("pve1");
    assert!(t.set_local("big", &vec![1u8; MAX_VALUE_SIZE], 0).is_ok());
    assert_eq!(
        t.set_local("big", &vec![1u8; MAX_VALUE_SIZE + 1], 0),
        Err(-libc::EFBIG)
    );
    assert_eq!(t.set_local(&"k".repeat(256), b"x", 0), Err(-libc::EINVAL));
    assert!(t.set_local(&"k".repeat(255), b"x", 0).is_ok());
    assert_eq!(
        t.set_local("nodeip", b"10.0.0.1", 0),
        Err(-libc::ENOMEM),
        "no NUL"
    );
    assert_eq!(t.set_local("nodeip", b"", 0), Err(-libc::ENOMEM));
    assert_eq!(t.set_local("nodeip", &[b'1'; 256], 0), Err(-libc::ENOMEM));
    assert_eq!(t.set_local("rrd/x", b"1:2", 0), Err(-libc::ENOMEM));
    assert_eq!(t.set_local("rrd/x", &[0u8; 4096], 0), Err(-libc::ENOMEM));
    assert!(t.set_local("rrd/x", &[0u8; 4095], 0).is_ok());
}

#[test]
fn node_ips_and_clinfo_version() {
    let mut t = Tables::new("pve1");
    assert_eq!(
        t.set_local("nodeip", b"10.0.0.1\0", 0),
        Ok(Applied::NodeIp { changed: true })
    );
    assert_eq!(t.clinfo_version(), 1);
    assert_eq!(
        t.set_local("nodeip", b"10.0.0.1\0", 0),
        Ok(Applied::NodeIp { changed: false })
    );
    assert_eq!(t.clinfo_version(), 1);
    assert_eq!(t.node_ips()["pve1"], "10.0.0.1");
    // nodeip is not a plain key.
    assert_eq!(t.get("", "nodeip"), None);
    // Remote updates need the node list.
    assert_eq!(t.set_remote(2, "nodeip", b"10.0.0.2\0", 0), None);
    t.set_nodes(&nodes());
    assert_eq!(t.clinfo_version(), 2);
    assert_eq!(
        t.set_remote(2, "nodeip", b"10.0.0.2\0", 0),
        Some(Applied::NodeIp { changed: true })
    );
    assert_eq!(t.node_ips()["pve2"], "10.0.0.2");
    assert_eq!(t.clinfo_version(), 3);
    assert_eq!(
        t.set_remote(9, "nodeip", b"10.0.0.9\0", 0),
        None,
        "unknown node"
    );
    assert_eq!(t.set_remote(2, "nodeip", b"bad", 0), None);
}

#[test]
fn remote_tables_online_flags_and_reload() {
    let mut t = Tables::new("pve1");
    assert_eq!(t.set_remote(2, "kv/a", b"x", 0), None);
    t.set_online(&[1, 2]);
    assert_eq!(t.clinfo_version(), 0, "no cluster information yet");
    t.set_nodes(&nodes());
    t.set_online(&[1, 2]);
    assert!(t.online(1) && t.online(2) && !t.online(3) && !t.online(7));
    assert_eq!(t.set_remote(2, "kv/a", b"x", 0), Some(Applied::Plain));
    t.set_remote(2, "kv/a", b"y", 0);
    assert_eq!(t.get("pve2", "kv/a"), Some(&b"y"[..]));
    assert_eq!(t.get("pve3", "kv/a"), None);
    assert_eq!(t.get("nope", "kv/a"), None);
    // A reload keeps flags and tables of nodes that keep their id.
    let mut renamed = nodes();
    renamed[1].name = "pve2b".into();
    renamed.remove(0);
    t.set_nodes(&renamed);
    assert!(t.online(2) && !t.online(1));
    assert_eq!(t.get("pve2b", "kv/a"), Some(&b"y"[..]));
    // Remote rrd samples go to the shared table.
    assert_eq!(
        t.set_remote(3, "rrd/pve2-node/pve3", b"1:2\0", 100),
        Some(Applied::Rrd {
            key: "pve2-node/pve3".into()
        })
    );
    assert_eq!(t.rrd_dump(400), "pve2-node/pve3:1:2\n");
    assert_eq!(t.rrd_dump(401), "");
}

#[test]
fn version_block_matches_the_original_layout() {
    let mut t = Tables::new("pve1");
    // Local-only: identical to the local-mode renderer of the daemon.
    assert_eq!(t.version_block(), "\"kvstore\": {\n\"pve1\": {\n}\n}\n");
    t.set_local("kv/b", b"1", 0).unwrap();
    t.set_local("kv/a", b"1", 0).unwrap();
    t.set_local("kv/a", b"2", 0).unwrap();
    t.set_local("rrd/x", b"1\0", 0).unwrap();
    t.set_local("nodeip", b"1.2.3.4\0", 0).unwrap();
    assert_eq!(
        t.version_block(),
        "\"kvstore\": {\n\"pve1\": {\n\"kv/a\": 1,\n\"kv/b\": 0}\n}\n"
    );
    t.set_nodes(&nodes());
    t.set_remote(3, "tasklist", b"[]", 0);
    assert_eq!(
        t.version_block(),
        "\"kvstore\": {\n\"pve1\": {\n\"kv/a\": 1,\n\"kv/b\": 0}\n,\n\"pve3\": {\n\"tasklist\": 0}\n}\n"
    );
    // A node whose table became empty still has a (now empty) block.
    t.set_remote(3, "tasklist", b"", 0);
    assert!(t.version_block().ends_with(",\n\"pve3\": {\n}\n}\n"));
}
