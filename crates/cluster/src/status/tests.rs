use super::json::{render_json, StatusJson};
use super::*;

fn member(id: u32, votes: u32, flags: u32, name: &str, addr: &str, local: bool) -> Member {
    Member {
        node_id: id,
        votes,
        flags,
        name: Some(name.into()),
        address: Some(addr.into()),
        local,
    }
}

fn quorum(node_id: u32, ring: (u32, u64), quorate: bool) -> QuorumInfo {
    QuorumInfo {
        date: "Tue Sep 14 11:06:47 2021".into(),
        provider: Some("corosync_votequorum".into()),
        node_id,
        ring_id: RingId {
            node: ring.0,
            seq: ring.1,
        },
        quorate,
    }
}

fn vq(expected: u32, highest: u32, total: u32, quorum: u32, flags: u32) -> Option<VotequorumInfo> {
    Some(VotequorumInfo {
        expected_votes: expected,
        highest_expected: highest,
        total_votes: total,
        quorum,
        flags,
    })
}

/// The "Cluster status after adding 4 nodes" example of the pvecm manual.
fn manual_example() -> StatusSnapshot {
    StatusSnapshot {
        cluster: Some(ClusterInfo {
            name: Some("prod-central".into()),
            config_version: Some("3".into()),
            transport: Some("knet".into()),
            secure_auth: Some("on".into()),
        }),
        quorum: quorum(1, (1, 0x1a8), true),
        votequorum: vq(4, 4, 4, 3, flags::QUORATE),
        members: vec![
            member(1, 1, 0, "hp1", "192.0.2.91", false),
            member(2, 1, 0, "hp2", "192.0.2.92", true),
            member(3, 1, 0, "hp3", "192.0.2.93", false),
            member(4, 1, 0, "hp4", "192.0.2.94", false),
        ],
        qdevice: None,
    }
}

#[test]
fn pvecm_status_matches_the_manual() {
    let expected = "\
Cluster information
-------------------
Name:             prod-central
Config Version:   3
Transport:        knet
Secure auth:      on

Quorum information
------------------
Date:             Tue Sep 14 11:06:47 2021
Quorum provider:  corosync_votequorum
Nodes:            4
Node ID:          0x00000001
Ring ID:          1.1a8
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   4
Highest expected: 4
Total votes:      4
Quorum:           3  
Flags:            Quorate 

Membership information
----------------------
    Nodeid      Votes Name
0x00000001          1 192.0.2.91
0x00000002          1 192.0.2.92 (local)
0x00000003          1 192.0.2.93
0x00000004          1 192.0.2.94
";
    let s = manual_example();
    assert_eq!(render_pvecm_status(&s), expected);
    assert_eq!(s.exit_code(), 0);
}

#[test]
fn pvecm_nodes_matches_the_manual() {
    let expected = "
Membership information
----------------------
    Nodeid      Votes Name
         1          1 hp1
         2          1 hp2 (local)
         3          1 hp3
         4          1 hp4
";
    assert_eq!(render_pvecm_nodes(&manual_example()), expected);
}

#[test]
fn blocked_three_node_cluster_keeps_trailing_blanks() {
    // corosync-facts §2.7: 3-node nodelist, only node 1 up
    let s = StatusSnapshot {
        cluster: None,
        quorum: quorum(1, (1, 5), false),
        votequorum: vq(3, 3, 1, 2, 0),
        members: vec![member(1, 1, 0, "vm", "127.0.0.1", true)],
        qdevice: None,
    };
    let expected = "\
Quorum information
------------------
Date:             Tue Sep 14 11:06:47 2021
Quorum provider:  corosync_votequorum
Nodes:            1
Node ID:          1
Ring ID:          1.5
Quorate:          No

Votequorum information
----------------------
Expected votes:   3
Highest expected: 3
Total votes:      1
Quorum:           2 Activity blocked
Flags:            

Membership information
----------------------
    Nodeid      Votes Name
         1          1 vm (local)
";
    assert_eq!(
        render_quorumtool_status(&s, IdFormat::Decimal, NameFormat::Name),
        expected
    );
    assert_eq!(s.exit_code(), 2);
    // pvecm status without corosync.conf has no cluster block
    assert!(render_pvecm_status(&s).starts_with("Quorum information\n"));
}

const QDEV_OK: u32 = flags::QDEVICE_REGISTERED | flags::QDEVICE_ALIVE | flags::QDEVICE_CAST_VOTE;

#[test]
fn qdevice_column_and_row_when_casting() {
    // corosync-facts §2.7: 2-node + qdevice (ffsplit, votes 1), node 1 up, qnetd ACK
    let s = StatusSnapshot {
        cluster: None,
        quorum: quorum(1, (1, 0xd), true),
        votequorum: vq(2, 2, 2, 2, flags::QUORATE | flags::QDEVICE_REGISTERED),
        members: vec![member(1, 1, QDEV_OK, "vm", "127.0.0.1", true)],
        qdevice: Some(QdeviceInfo {
            name: "Qdevice".into(),
            votes: 1,
        }),
    };
    let text = render_quorumtool_status(&s, IdFormat::Decimal, NameFormat::Name);
    assert!(
        text.ends_with(
            "Quorum:           2  
Flags:            Quorate Qdevice 

Membership information
----------------------
    Nodeid      Votes    Qdevice Name
         1          1    A,V,NMW vm (local)
         0          1            Qdevice
"
        ),
        "{text}"
    );
    let hex = render_membership(&s, IdFormat::Hex, NameFormat::Address);
    assert!(
        hex.ends_with(
            "0x00000001          1    A,V,NMW 127.0.0.1 (local)\n0x00000000          1            Qdevice\n"
        ),
        "{hex}"
    );
}

#[test]
fn qdevice_not_counted_locally_shows_votes_suffix() {
    // lab-facts §3: n2 cut from n1, qnetd answers NACK
    let s = StatusSnapshot {
        cluster: None,
        quorum: quorum(2, (2, 0xd), false),
        votequorum: vq(3, 3, 1, 2, flags::QDEVICE_REGISTERED),
        members: vec![member(
            2,
            1,
            flags::QDEVICE_REGISTERED | flags::QDEVICE_ALIVE,
            "n2",
            "10.99.0.12",
            true,
        )],
        qdevice: Some(QdeviceInfo {
            name: "Qdevice".into(),
            votes: 1,
        }),
    };
    let text = render_quorumtool_status(&s, IdFormat::Decimal, NameFormat::Name);
    assert!(
        text.ends_with(
            "Quorum:           2 Activity blocked
Flags:            Qdevice 

Membership information
----------------------
    Nodeid      Votes    Qdevice Name
         2          1   A,NV,NMW n2 (local)
         0          0            Qdevice (votes 1)
"
        ),
        "{text}"
    );
}

#[test]
fn qdevice_cells_and_flag_words() {
    assert_eq!(qdevice_cell(0), "NR");
    assert_eq!(qdevice_cell(flags::QDEVICE_REGISTERED), "NA,NV,NMW");
    assert_eq!(qdevice_cell(QDEV_OK | flags::QDEVICE_MASTER_WINS), "A,V,MW");
    assert_eq!(
        flag_words(flags::TWO_NODE | flags::QUORATE | flags::WAIT_FOR_ALL),
        ["2Node", "Quorate", "WaitForAll"]
    );
    assert_eq!(
        flag_words(0x3f | flags::QDEVICE_REGISTERED | flags::QDEVICE_ALIVE),
        [
            "2Node",
            "Quorate",
            "WaitForAll",
            "LastManStanding",
            "AutoTieBreaker",
            "AllowDownscale",
            "Qdevice"
        ]
    );
    // a member without a device shows NR once another member has one
    let mut s = manual_example();
    s.members[0].flags = QDEV_OK;
    s.qdevice = Some(QdeviceInfo {
        name: "Qdevice".into(),
        votes: 1,
    });
    let text = render_pvecm_nodes(&s);
    assert!(
        text.contains("         2          1         NR hp2 (local)\n"),
        "{text}"
    );
    // hp2 (local) does not cast → 0 votes and the suffix
    assert!(
        text.ends_with("         0          0            Qdevice (votes 1)\n"),
        "{text}"
    );
}

#[test]
fn two_node_flags_line() {
    let mut s = manual_example();
    s.votequorum = vq(
        2,
        2,
        2,
        1,
        flags::TWO_NODE | flags::QUORATE | flags::WAIT_FOR_ALL,
    );
    let text = render_pvecm_status(&s);
    assert!(
        text.contains("\nQuorum:           1  \nFlags:            2Node Quorate WaitForAll \n"),
        "{text}"
    );
}

#[test]
fn without_votequorum() {
    let s = StatusSnapshot {
        cluster: None,
        quorum: QuorumInfo {
            date: "Thu Jan  1 00:00:00 1970".into(),
            provider: None,
            node_id: 1,
            ring_id: RingId {
                node: 1,
                seq: 0x1a8,
            },
            quorate: true,
        },
        votequorum: None,
        members: vec![member(1, 1, QDEV_OK, "a", "10.0.0.1", true)],
        qdevice: None,
    };
    assert_eq!(
        render_quorumtool_status(&s, IdFormat::Decimal, NameFormat::Name),
        "Quorum information
------------------
Date:             Thu Jan  1 00:00:00 1970
Quorum provider:  Not configured
Nodes:            1
Node ID:          1
Ring ID:          1a8
Quorate:          Yes
"
    );
    assert_eq!(
        render_pvecm_nodes(&s),
        "\nMembership information\n----------------------\n    Nodeid Name\n         1 a (local)\n"
    );
}

#[test]
fn names_fall_back_to_addresses_and_back() {
    let mut s = manual_example();
    s.members[0].name = None;
    s.members[1].address = None;
    s.members[2].name = None;
    s.members[2].address = None;
    let nodes = render_pvecm_nodes(&s);
    assert!(
        nodes.contains("         1          1 192.0.2.91\n"),
        "{nodes}"
    );
    assert!(nodes.contains("         3          1 \n"), "{nodes}");
    let status = render_pvecm_status(&s);
    assert!(
        status.contains("0x00000002          1 hp2 (local)\n"),
        "{status}"
    );
}

#[test]
fn cluster_info_from_corosync_conf_and_defaults() {
    let conf =
        "totem {\n  cluster_name: demo\n  config_version: 7\n  secauth: on\n  version: 2\n}\n";
    let info = ClusterInfo::from_corosync_conf(conf).unwrap();
    assert_eq!(
        render_cluster_info(Some(&info)),
        "Cluster information\n-------------------\nName:             demo\nConfig Version:   7\nTransport:        knet\nSecure auth:      on\n\n"
    );
    let empty = ClusterInfo::from_corosync_conf("totem {\n}\n").unwrap();
    assert!(render_cluster_info(Some(&empty))
        .contains("Name:             UNKOWN?\nConfig Version:   -1\n"));
    assert_eq!(ClusterInfo::from_corosync_conf("logging {\n}\n"), None);
    assert_eq!(ClusterInfo::from_corosync_conf("totem {\n"), None);
    assert_eq!(render_cluster_info(None), "");
}

#[test]
fn json_document() {
    let s = StatusSnapshot {
        cluster: Some(ClusterInfo {
            name: Some("lab".into()),
            config_version: Some("2".into()),
            transport: None,
            secure_auth: None,
        }),
        quorum: quorum(1, (1, 0xd), true),
        votequorum: vq(3, 3, 3, 2, flags::QUORATE | flags::QDEVICE_REGISTERED),
        members: vec![
            member(1, 1, QDEV_OK, "n1", "10.99.0.11", true),
            member(2, 1, 0, "n2", "10.99.0.12", false),
        ],
        qdevice: Some(QdeviceInfo {
            name: "Qdevice".into(),
            votes: 1,
        }),
    };
    let value: serde_json::Value = serde_json::from_str(&render_json(&s)).unwrap();
    let expected = serde_json::json!({
        "cluster": {"name": "lab", "config_version": "2", "transport": null, "secure_auth": null},
        "quorum": {"date": "Tue Sep 14 11:06:47 2021", "provider": "corosync_votequorum",
                   "nodes": 2, "node_id": 1, "ring_id": "1.d", "quorate": true},
        "votequorum": {"expected_votes": 3, "highest_expected": 3, "total_votes": 3, "quorum": 2,
                       "activity_blocked": false, "flags": ["Quorate", "Qdevice"], "flags_raw": 66},
        "members": [
            {"node_id": 1, "votes": 1, "name": "n1", "address": "10.99.0.11", "local": true,
             "qdevice": {"alive": true, "cast_vote": true, "master_wins": false, "text": "A,V,NMW"}},
            {"node_id": 2, "votes": 1, "name": "n2", "address": "10.99.0.12", "local": false,
             "qdevice": null}
        ],
        "qdevice": {"name": "Qdevice", "votes": 1, "counted_locally": true}
    });
    assert_eq!(value, expected);
    let back: StatusJson = serde_json::from_value(value).unwrap();
    assert_eq!(back, StatusJson::from(&s));

    let mut plain = manual_example();
    plain.votequorum = None;
    let v: serde_json::Value = serde_json::from_str(&render_json(&plain)).unwrap();
    assert_eq!(v["votequorum"], serde_json::Value::Null);
    assert_eq!(v["qdevice"], serde_json::Value::Null);
    assert_eq!(v["quorum"]["ring_id"], "1a8");
    assert_eq!(v["members"][0]["votes"], serde_json::Value::Null);
}
