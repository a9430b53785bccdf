//! Property tests: configurations built through the API, arbitrary trees, arbitrary text.

use std::collections::{BTreeMap, BTreeSet};

use corosync_conf::{ClusterSpec, Config, Entry, Item, LinkSpec, NodeSpec, Section};
use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;

/// Sections the generated extra keys go to (all accept unknown keys).
const EXTRA_PATHS: &[&[&str]] = &[
    &["totem"],
    &["logging"],
    &["quorum"],
    &["system"],
    &["x-custom", "sub"],
    &["totem", "interface"],
];

fn extra() -> impl Strategy<Value = (usize, String, String)> {
    (
        0..EXTRA_PATHS.len(),
        "x_[a-z_]{1,10}",
        "[A-Za-z0-9./:_#}-]([A-Za-z0-9./:_#} -]{0,20}[A-Za-z0-9./:_#}-])?",
    )
}

prop_compose! {
    fn api_config()(
        cluster_name in "[a-z][a-z0-9-]{0,13}[a-z0-9]",
        links in btree_set(0u8..8, 1..4),
        priorities in vec(option::of(any::<u8>()), 8),
        token_coefficient in option::of(0u32..2000),
        ids in btree_set(1u32..65536, 1..7),
        extras in vec(extra(), 0..8),
        token in option::of(any::<u32>()),
    ) -> Config {
        let mut conf = Config::create(&ClusterSpec {
            cluster_name,
            links: links
                .iter()
                .map(|&number| LinkSpec { number, priority: priorities[number as usize] })
                .collect(),
            token_coefficient,
        });
        for (i, &nodeid) in ids.iter().enumerate() {
            let addrs: BTreeMap<u8, String> =
                links.iter().map(|&l| (l, format!("10.{l}.{}.{}", i / 250, i % 250 + 1))).collect();
            conf.add_node(&NodeSpec { name: format!("node{nodeid}"), nodeid, quorum_votes: 1, addrs })
                .unwrap();
        }
        if let Some(token) = token {
            conf.set(&["totem"], "token", &token.to_string());
        }
        for (path, key, value) in extras {
            conf.set(EXTRA_PATHS[path], &key, &value);
        }
        conf.bump_config_version().unwrap();
        conf
    }
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_.}-]{0,8}",
        Just("node".to_string()),
        Just("interface".to_string()),
        Just("name".to_string()),
        Just("ring0_addr".to_string()),
        Just("linknumber".to_string()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9#:}., _-]{0,15}".prop_map(|s| s.trim_matches([' ', '\t']).to_string())
}

fn comments() -> impl Strategy<Value = Vec<String>> {
    vec("#[ -~]{0,20}".prop_map(|s| s.trim_end().to_string()), 0..2)
}

fn section_strategy() -> impl Strategy<Value = Section> {
    let leaf = (name(), vec((comments(), name(), value()), 0..4), comments()).prop_map(
        |(name, values, trailing)| Section {
            name,
            entries: values
                .into_iter()
                .map(|(comments, key, value)| Entry {
                    comments,
                    item: Item::Value { key, value },
                })
                .collect(),
            trailing_comments: trailing,
            header_comments: Vec::new(),
        },
    );
    leaf.prop_recursive(3, 24, 4, |inner| {
        (
            name(),
            vec(
                (
                    comments(),
                    prop_oneof![
                        inner.prop_map(Item::Section),
                        (name(), value()).prop_map(|(key, value)| Item::Value { key, value })
                    ],
                ),
                0..5,
            ),
            comments(),
        )
            .prop_map(|(name, items, trailing)| Section {
                name,
                entries: items
                    .into_iter()
                    .map(|(comments, item)| Entry { comments, item })
                    .collect(),
                trailing_comments: trailing,
                header_comments: Vec::new(),
            })
    })
}

prop_compose! {
    fn tree()(
        top in vec(prop_oneof![
            section_strategy().prop_map(|mut s| { s.name = "nodelist".into(); s }),
            section_strategy().prop_map(|mut s| { s.name = "totem".into(); s }),
            section_strategy(),
        ], 0..4),
        header in comments(),
        trailing in comments(),
        entry_comments in vec(comments(), 4),
    ) -> Section {
        Section {
            name: String::new(),
            entries: top
                .into_iter()
                .zip(entry_comments)
                .map(|(s, comments)| Entry { comments, item: Item::Section(s) })
                .collect(),
            trailing_comments: trailing,
            header_comments: header,
        }
    }
}

proptest! {
    #[test]
    fn api_configs_round_trip_and_validate(conf in api_config()) {
        let text = conf.to_text();
        prop_assert_eq!(&text, &conf.to_canonical_text());
        let again = Config::parse(&text).unwrap();
        prop_assert_eq!(again.view(), conf.sorted().view());
        prop_assert_eq!(again.to_canonical_text(), text);
        prop_assert_eq!(conf.validate(), vec![]);
        let links: BTreeSet<u8> = again.view().totem.interfaces.iter().filter_map(|i| i.linknumber).collect();
        prop_assert!(again.view().nodes.iter().all(|n| n.addrs.keys().copied().collect::<BTreeSet<u8>>() == links));
    }

    #[test]
    fn arbitrary_trees_read_back_sorted(root in tree()) {
        let conf = Config::from_root(root);
        let text = conf.to_canonical_text();
        let again = Config::parse(&text).unwrap();
        let sorted = conf.sorted();
        prop_assert_eq!(again.root(), sorted.root());
        prop_assert_eq!(again.view(), sorted.view());
        prop_assert_eq!(again.to_canonical_text(), text);
        corosync_conf::fuzz_check(conf.to_canonical_text().as_bytes());
    }

    #[test]
    fn structured_text_never_panics(text in "[a-z{}:# \t\r\n\u{0}é-]{0,300}") {
        corosync_conf::fuzz_check(text.as_bytes());
    }

    #[test]
    fn any_text_never_panics(text in any::<String>()) {
        corosync_conf::fuzz_check(text.as_bytes());
    }

    #[test]
    fn any_bytes_never_panic(data in vec(any::<u8>(), 0..400)) {
        corosync_conf::fuzz_check(&data);
    }
}
