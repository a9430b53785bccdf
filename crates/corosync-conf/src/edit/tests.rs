use std::collections::BTreeMap;

use crate::{ClusterSpec, Config, EditError, LinkSpec, NodeSpec};

fn two_links() -> Config {
    let mut c = Config::create(&ClusterSpec {
        cluster_name: "lab".into(),
        links: vec![
            LinkSpec {
                number: 0,
                priority: None,
            },
            LinkSpec {
                number: 1,
                priority: Some(10),
            },
        ],
        token_coefficient: None,
    });
    for i in 1..=2u32 {
        c.add_node(&spec(&format!("node{i}"), i, &[0, 1])).unwrap();
    }
    c
}

fn spec(name: &str, nodeid: u32, links: &[u8]) -> NodeSpec {
    NodeSpec {
        name: name.into(),
        nodeid,
        quorum_votes: 1,
        addrs: links
            .iter()
            .map(|l| (*l, format!("10.{l}.0.{nodeid}")))
            .collect(),
    }
}

fn names(addrs: &[(&str, &str)]) -> BTreeMap<String, String> {
    addrs
        .iter()
        .map(|(n, a)| (n.to_string(), a.to_string()))
        .collect()
}

#[test]
fn lab_usage_compiles_and_validates() {
    let mut conf = Config::create(&ClusterSpec {
        cluster_name: "lab".into(),
        links: vec![LinkSpec {
            number: 0,
            priority: None,
        }],
        token_coefficient: None,
    });
    conf.add_node(&NodeSpec {
        name: "node1".into(),
        nodeid: 1,
        quorum_votes: 1,
        addrs: [(0u8, "10.99.0.1".to_string())].into(),
    })
    .unwrap();
    conf.set(&["totem"], "token", "2000");
    conf.set(&["logging"], "to_stderr", "yes");
    conf.bump_config_version().unwrap();
    assert!(conf.validate().is_empty(), "{:?}", conf.validate());
    let text = conf.to_text();
    assert!(text.contains("  token: 2000\n"));
    assert!(text.contains("  to_stderr: yes\n"));
}

#[test]
fn add_node_checks() {
    let mut c = two_links();
    let err = |c: &mut Config, s: NodeSpec| c.add_node(&s).unwrap_err().to_string();
    assert_eq!(
        err(&mut c, spec("node1", 9, &[0, 1])),
        "node 'node1' already exists"
    );
    assert_eq!(
        err(&mut c, spec("node3", 2, &[0, 1])),
        "nodeid 2 is already used by node 'node2'"
    );
    assert_eq!(
        err(&mut c, spec("node3", 3, &[0])),
        "node 'node3' needs an address for link 1"
    );
    assert_eq!(
        err(&mut c, spec("node3", 3, &[0, 1, 2])),
        "address given for node 'node3' on link 2, but link 2 is not configured"
    );
    assert_eq!(
        err(&mut c, spec("node_3", 3, &[0, 1])),
        "invalid node name 'node_3': use letters, digits and '-' only, starting and ending with a letter or digit"
    );
    assert_eq!(
        err(&mut c, spec("node3", 65536, &[0, 1])),
        "invalid nodeid 65536 for node 'node3': knet node ids go from 1 to 65535"
    );
    let mut bad = spec("node3", 3, &[0, 1]);
    bad.addrs.insert(1, "10.1.0.3 x".into());
    assert!(matches!(
        c.add_node(&bad),
        Err(EditError::InvalidAddress { .. })
    ));
    let before = c.clone();
    assert!(c.add_node(&spec("node3", 3, &[0, 1, 9])).is_err());
    assert_eq!(c, before, "failed edits change nothing");
    c.add_node(&spec("node3", 3, &[0, 1])).unwrap();
    assert_eq!(c.view().nodes.len(), 3);
}

#[test]
fn add_node_to_parsed_config_keeps_comments() {
    let text = "# keep me\ntotem {\n  version: 2\n  x_custom: 1\n}\n";
    let mut c = Config::parse(text).unwrap();
    assert!(!c.is_modified());
    c.add_node(&spec("a", 1, &[0])).unwrap();
    assert!(c.is_modified());
    let out = c.to_text();
    assert!(out.contains("# keep me\ntotem {"));
    assert!(out.contains("x_custom: 1"));
    assert!(out.contains("    ring0_addr: 10.0.0.1\n"));
}

#[test]
fn remove_node_returns_it() {
    let mut c = two_links();
    let n = c.remove_node("node1").unwrap();
    assert_eq!(n.nodeid, Some(1));
    assert_eq!(c.view().nodes.len(), 1);
    assert_eq!(
        c.remove_node("node1").unwrap_err().to_string(),
        "node 'node1' does not exist"
    );
}

#[test]
fn set_node_address_updates_existing_key() {
    let mut c = Config::parse(
        "nodelist {\n  node {\n    name: a\n    nodeid: 1\n    link0_addr: 10.0.0.1\n  }\n}\n",
    )
    .unwrap();
    c.set_node_address("a", 0, "10.0.0.1").unwrap();
    assert!(!c.is_modified());
    c.set_node_address("a", 0, "10.0.0.9").unwrap();
    assert!(c.is_modified());
    assert_eq!(c.get(&["nodelist", "node"], "link0_addr"), Some("10.0.0.9"));
    assert_eq!(c.get(&["nodelist", "node"], "ring0_addr"), None);
    assert_eq!(
        c.set_node_address("b", 0, "x").unwrap_err(),
        EditError::UnknownNode { name: "b".into() }
    );
    assert_eq!(
        c.set_node_address("a", 3, "x").unwrap_err().to_string(),
        "address given for node 'a' on link 3, but link 3 is not configured"
    );
    assert_eq!(
        c.set_node_address("a", 8, "x").unwrap_err().to_string(),
        "link 8 is out of range: corosync supports links 0 to 7"
    );
}

#[test]
fn add_link_needs_every_node() {
    let mut c = two_links();
    let spec2 = LinkSpec {
        number: 2,
        priority: Some(5),
    };
    assert_eq!(
        c.add_link(&spec2, names(&[("node1", "10.2.0.1")]))
            .unwrap_err()
            .to_string(),
        "node 'node2' needs an address for link 2"
    );
    assert_eq!(
        c.add_link(&spec2, names(&[("nodeX", "10.2.0.1")]))
            .unwrap_err(),
        EditError::UnknownNode {
            name: "nodeX".into()
        }
    );
    assert_eq!(
        c.add_link(
            &LinkSpec {
                number: 1,
                priority: None
            },
            BTreeMap::new()
        )
        .unwrap_err()
        .to_string(),
        "link 1 is already configured"
    );
    c.add_link(
        &spec2,
        names(&[("node1", "10.2.0.1"), ("node2", "10.2.0.2")]),
    )
    .unwrap();
    let v = c.view();
    assert_eq!(v.totem.interfaces.len(), 3);
    assert!(v.nodes.iter().all(|n| n.addrs.len() == 3));
    assert!(c.validate().iter().all(|p| !p.to_string().contains("link")));
}

#[test]
fn remove_link_cleans_nodes_and_refuses_the_last() {
    let mut c = two_links();
    assert_eq!(
        c.remove_link(5).unwrap_err().to_string(),
        "link 5 is not configured"
    );
    c.remove_link(0).unwrap();
    let v = c.view();
    assert_eq!(v.totem.interfaces.len(), 1);
    assert_eq!(v.totem.interfaces[0].linknumber, Some(1));
    assert!(v.nodes.iter().all(|n| n.addrs.keys().eq([1u8].iter())));
    assert_eq!(
        c.remove_link(1).unwrap_err().to_string(),
        "link 1 is the only link left: a cluster needs at least one"
    );
}
