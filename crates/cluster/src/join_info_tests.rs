use super::*;
use serde_json::json;

fn fp() -> String {
    ["AB"; 32].join(":")
}

/// A `GET /cluster/config/join` answer shaped as §7.3 describes (values are text).
fn join_api() -> Value {
    json!({
        "nodelist": [
            { "name": "pve1", "nodeid": "1", "quorum_votes": "1",
              "ring0_addr": "10.0.0.1", "ring1_addr": "10.1.0.1",
              "pve_addr": "192.0.2.1", "pve_fp": fp() },
            { "name": "pve2", "nodeid": "2", "quorum_votes": "1",
              "ring0_addr": "10.0.0.2", "ring1_addr": "10.1.0.2",
              "pve_addr": "192.0.2.2", "pve_fp": fp().replace("AB", "CD") }
        ],
        "preferred_node": "pve1",
        "totem": {
            "cluster_name": "prod", "config_version": "3",
            "interface": { "0": { "linknumber": "0" }, "1": { "linknumber": "1" } },
            "ip_version": "ipv4-6", "link_mode": "passive", "secauth": "on", "version": "2"
        },
        "config_digest": "0123"
    })
}

#[test]
fn built_from_the_join_api() {
    let info = JoinInformation::from_join_api(&join_api()).unwrap();
    assert_eq!(info.ip_address, "192.0.2.1");
    assert_eq!(info.fingerprint, fp());
    assert_eq!(
        info.peer_links,
        BTreeMap::from([
            ("0".to_string(), "10.0.0.1".to_string()),
            ("1".to_string(), "10.1.0.1".to_string())
        ])
    );
    assert_eq!(info.ring_addr, ["10.0.0.1", "10.1.0.1"]);
    assert_eq!(info.link_numbers(), [0, 1]);
    assert_eq!(info.cluster_name().as_deref(), Some("prod"));
    assert!(!info.link0_may_be_empty());
}

#[test]
fn blob_round_trip_and_key_order() {
    let info = JoinInformation::from_join_api(&join_api()).unwrap();
    let blob = info.encode();
    let json_text = String::from_utf8(STANDARD.decode(&blob).unwrap()).unwrap();
    assert!(
        json_text.starts_with(r#"{"ipAddress":"192.0.2.1","fingerprint":"AB:"#),
        "{json_text}"
    );
    let order: Vec<usize> = [
        "\"ipAddress\"",
        "\"fingerprint\"",
        "\"peerLinks\"",
        "\"ring_addr\"",
        "\"totem\"",
    ]
    .iter()
    .map(|k| json_text.find(k).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{json_text}");
    assert_eq!(JoinInformation::decode(&blob).unwrap(), info);

    // pasted with line breaks and without padding
    let mut pasted = blob.trim_end_matches('=').to_string();
    pasted.insert(20, '\n');
    pasted.insert_str(0, "  ");
    assert_eq!(JoinInformation::decode(&pasted).unwrap(), info);
}

#[test]
fn gui_style_blob_with_single_link() {
    let text = format!(
        r#"{{"ipAddress":"10.0.0.1","fingerprint":"{}","peerLinks":{{"0":"10.0.0.1"}},"ring_addr":["10.0.0.1"],"totem":{{"cluster_name":"c1","interface":{{"0":{{"linknumber":"0"}}}}}}}}"#,
        fp().to_lowercase()
    );
    let info = JoinInformation::decode(&STANDARD.encode(text)).unwrap();
    assert_eq!(info.link_numbers(), [0]);
    assert!(info.link0_may_be_empty());
    // a totem without interfaces means link 0
    let mut bare = info.clone();
    bare.totem.remove("interface");
    assert_eq!(bare.link_numbers(), [0]);
}

#[test]
fn bad_blobs_say_what_to_do() {
    let e = |b: &str| JoinInformation::decode(b).unwrap_err().0;
    assert!(e("!!!").contains("not valid base64"), "{}", e("!!!"));
    assert!(e(&STANDARD.encode("hello")).contains("copy it again"));
    let no_totem = format!(r#"{{"ipAddress":"10.0.0.1","fingerprint":"{}"}}"#, fp());
    assert!(e(&STANDARD.encode(no_totem)).contains("totem"));
    let bad_fp = r#"{"ipAddress":"10.0.0.1","fingerprint":"AB:CD","totem":{}}"#;
    assert!(e(&STANDARD.encode(bad_fp)).contains("invalid fingerprint"));

    let mut api = join_api();
    api["preferred_node"] = json!("pve9");
    assert!(JoinInformation::from_join_api(&api)
        .unwrap_err()
        .0
        .contains("no nodelist entry for 'pve9'"));
    let mut api = join_api();
    api.as_object_mut().unwrap().remove("totem");
    assert!(JoinInformation::from_join_api(&api).is_err());
}

#[test]
fn numbers_are_tolerated_where_text_is_expected() {
    let mut api = join_api();
    api["nodelist"][0]["ring0_addr"] = json!("10.0.0.1");
    api["nodelist"][0]["link2_addr"] = json!("10.2.0.1");
    api["nodelist"][0]["ring_addr"] = json!("x");
    api["totem"]["interface"] = json!([{ "linknumber": 0 }, { "linknumber": "2" }]);
    let info = JoinInformation::from_join_api(&api).unwrap();
    assert_eq!(info.ring_addr, ["10.0.0.1", "10.1.0.1", "10.2.0.1"]);
    assert_eq!(info.link_numbers(), [0, 2]);
    assert_eq!(link_key_number("ring10_addr"), Some(10));
    assert_eq!(link_key_number("ring_addr"), None);
    assert_eq!(link_key_number("ring0_addrx"), None);
}

#[test]
fn join_api_versions() {
    check_cluster_version(0).unwrap();
    check_cluster_version(1).unwrap();
    check_joining_node_version(0).unwrap();
    check_joining_node_version(5).unwrap();
    let e = check_cluster_version(-1).unwrap_err().0;
    assert_eq!(
        e,
        "error: incompatible join API version on cluster (-1), local node has 1 and supports >= 0. Make sure all cluster nodes are up-to-date."
    );
    let e = check_joining_node_version(-1).unwrap_err().0;
    assert_eq!(
        e,
        "error: unsupported old API version on joining node (-1), cluster node has 1 and supports >= 0. Please upgrade node before joining"
    );
}

#[test]
fn authkey_travels_as_latin1_text() {
    let all: Vec<u8> = (0..=255).collect();
    let text = authkey_to_text(&all);
    assert_eq!(text.chars().count(), 256);
    assert_eq!(authkey_from_text(&text).unwrap(), all);
    let json_text = serde_json::to_string(&authkey_to_text(&[0, b'\n', 0x41, 0xff])).unwrap();
    assert_eq!(json_text, "\"\\u0000\\nA\u{ff}\"");
    assert_eq!(
        json_text.as_bytes()[json_text.len() - 3..],
        [0xc3, 0xbf, b'"']
    );
    let back: String = serde_json::from_str(&json_text).unwrap();
    assert_eq!(authkey_from_text(&back).unwrap(), [0, b'\n', 0x41, 0xff]);
    assert!(authkey_from_text("€").is_err());
}
