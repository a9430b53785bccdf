//! Round trips over the fixtures in `tests/data/`.

use std::path::PathBuf;

use corosync_conf::Config;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn fixtures() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "fixtures missing");
    out
}

fn fixture(name: &str) -> Config {
    let text = std::fs::read_to_string(data_dir().join(name)).unwrap();
    Config::parse(&text).unwrap()
}

#[test]
fn unedited_text_is_returned_byte_for_byte() {
    for (name, text) in fixtures() {
        let conf = Config::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!conf.is_modified(), "{name}");
        assert_eq!(conf.to_text(), text, "{name}");
    }
}

#[test]
fn canonical_text_reads_back_to_the_same_view() {
    for (name, text) in fixtures() {
        let conf = Config::parse(&text).unwrap();
        let canonical = conf.to_canonical_text();
        let again = Config::parse(&canonical).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again.view(), conf.sorted().view(), "{name}");
        assert_eq!(again.root(), conf.sorted().root(), "{name}");
    }
}

#[test]
fn canonical_of_canonical_is_stable() {
    for (name, text) in fixtures() {
        let once = Config::parse(&text).unwrap().to_canonical_text();
        let twice = Config::parse(&once).unwrap().to_canonical_text();
        assert_eq!(once, twice, "{name}");
    }
}

#[test]
fn files_written_by_proxmox_are_already_canonical() {
    for name in [
        "single-node.conf",
        "four-nodes-two-links.conf",
        "qdevice.conf",
    ] {
        let conf = fixture(name);
        assert_eq!(conf.to_canonical_text(), conf.to_text(), "{name}");
        assert_eq!(conf.view(), conf.sorted().view(), "{name}");
    }
}

#[test]
fn fixtures_validate_as_expected() {
    for name in [
        "single-node.conf",
        "four-nodes-two-links.conf",
        "qdevice.conf",
        "old-style.conf",
        "comments-unknown.conf",
    ] {
        assert_eq!(fixture(name).validate(), vec![], "{name}");
    }
    let quirks: Vec<String> = fixture("crlf-quirks.conf")
        .validate()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        quirks,
        vec![
            "crypto_cipher 'aes256 # not a comment' is used with crypto_hash none: corosync refuses a cipher without a hash; set 'crypto_hash: sha256'",
            "totem.crypto_cipher is 'aes256 # not a comment': use one of none, aes256, aes192, aes128",
        ]
    );
}

#[test]
fn views_of_fixtures() {
    let four = fixture("four-nodes-two-links.conf").view();
    assert_eq!(four.nodes.len(), 4);
    assert_eq!(four.totem.interfaces[1].knet_link_priority, Some(10));
    assert_eq!(four.totem.token_coefficient, Some(125));
    assert_eq!(
        four.nodes[3].addrs.get(&1).map(String::as_str),
        Some("198.51.100.22")
    );

    let old = fixture("old-style.conf").view();
    assert_eq!(old.nodes[0].name, None);
    assert_eq!(old.nodes[0].label(0), "192.0.2.1");
    assert_eq!(old.totem.interfaces[0].linknumber, None);
    assert_eq!(old.totem.interfaces[0].link(), Some(0));
    assert_eq!(
        old.totem.interfaces[0]
            .other
            .get("bindnetaddr")
            .map(String::as_str),
        Some("192.0.2.0")
    );

    let q = fixture("qdevice.conf").view();
    let device = q.quorum.device.unwrap();
    assert_eq!(device.votes, Some(1));
    let net = device.net.unwrap();
    assert_eq!(net.algorithm.as_deref(), Some("ffsplit"));
    assert_eq!(net.host.as_deref(), Some("10.30.0.250"));

    let c = fixture("comments-unknown.conf");
    let v = c.view();
    assert_eq!(v.totem.token, Some(10000));
    assert_eq!(
        v.totem.other.get("knet_mtu").map(String::as_str),
        Some("1397")
    );
    assert_eq!(
        v.nodes[1].other.get("datacenterid").map(String::as_str),
        Some("2")
    );
    assert_eq!(v.other_sections.len(), 2);
    assert_eq!(v.logging.other_sections[0].name, "logger_subsys");
    assert_eq!(v.quorum.two_node, Some(1));

    let quirks = fixture("crlf-quirks.conf").view();
    assert_eq!(quirks.totem.token, Some(2000), "last value wins");
    assert_eq!(
        quirks.totem.secauth.as_deref(),
        Some("off"),
        "sections merge"
    );
    assert_eq!(
        quirks.nodes[0].addrs.get(&0).map(String::as_str),
        Some("10.0.0.2")
    );
}

#[test]
fn editing_a_hand_written_file_keeps_comments_and_unknown_keys() {
    let mut c = fixture("comments-unknown.conf");
    c.bump_config_version().unwrap();
    let text = c.to_text();
    assert_ne!(text, c.original_text().unwrap());
    assert!(text.starts_with(
        "# Managed by hand on hv1 -- keep the comments!\n# Last change: raised the token for the slow WAN link.\n\nlogging {\n"
    ));
    for needle in [
        "  # bumped on every change\n  config_version: 22\n",
        "    # the future: knet_transport: sctp\n  }\n",
        "  # office\n  node {\n",
        "    datacenterid: 2\n",
        "system {\n  # keep corosync responsive on busy hosts\n  sched_rr: yes\n}\n",
        "  knet_compression_model: none\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(text.ends_with("}\n\n# end of file\n"));
    assert_eq!(c.validate(), vec![]);
}

#[test]
fn serialises_the_view() {
    let v = fixture("four-nodes-two-links.conf").view();
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["totem"]["cluster_name"], "prod-east");
    assert_eq!(json["totem"]["config_version"], 14);
    assert_eq!(json["nodes"][0]["addrs"]["1"], "198.51.100.11");
    assert_eq!(json["quorum"]["device"], serde_json::Value::Null);
}
