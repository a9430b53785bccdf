//! Quorum and quorum device rules.

use super::*;

#[test]
fn device_incompatible_with_two_node() {
    assert_eq!(
        device_only(|c| c.set(&["quorum"], "two_node", "1")),
        "quorum.two_node cannot be used together with a quorum device: remove two_node (or the device)"
    );
}

#[test]
fn device_incompatible_with_last_man_standing() {
    assert_eq!(
        device_only(|c| c.set(&["quorum"], "last_man_standing", "1")),
        "quorum.last_man_standing cannot be used together with a quorum device: remove last_man_standing (or the device)"
    );
}

#[test]
fn device_incompatible_with_auto_tie_breaker() {
    assert_eq!(
        device_only(|c| c.set(&["quorum"], "auto_tie_breaker", "1")),
        "quorum.auto_tie_breaker cannot be used together with a quorum device: remove auto_tie_breaker (or the device)"
    );
}

#[test]
fn device_incompatible_with_allow_downscale() {
    assert_eq!(
        device_only(|c| c.set(&["quorum"], "allow_downscale", "1")),
        "quorum.allow_downscale cannot be used together with a quorum device: remove allow_downscale (or the device)"
    );
}

#[test]
fn device_votes_needed_with_expected_votes() {
    assert_eq!(
        device_only(|c| {
            c.set(&["quorum", "device", "net"], "algorithm", "lms");
            c.remove(&["quorum", "device"], "votes");
            c.set(&["quorum"], "expected_votes", "3");
        }),
        "quorum.expected_votes is set but quorum.device.votes is not: corosync cannot tell the device's votes; set quorum.device.votes or remove expected_votes"
    );
}

#[test]
fn device_votes_needed_with_unequal_votes() {
    let text = BASE.replace(
        "quorum_votes: 1\n    ring0_addr: 10.0.0.2",
        "quorum_votes: 2\n    ring0_addr: 10.0.0.2",
    );
    let mut c = Config::parse(&text).unwrap();
    with_device(&mut c);
    c.set(&["quorum", "device", "net"], "algorithm", "lms");
    c.remove(&["quorum", "device"], "votes");
    assert_eq!(
        messages(&c),
        vec!["nodes have different quorum_votes and quorum.device.votes is not set: corosync cannot compute the device's votes; set quorum.device.votes"]
    );
}

#[test]
fn device_votes_too_high() {
    assert_eq!(
        device_only(|c| {
            c.set(&["quorum", "device", "net"], "algorithm", "lms");
            c.set(&["quorum", "device"], "votes", "2");
            c.set(&["quorum"], "expected_votes", "3");
        }),
        "quorum.device.votes (2) is too high for expected_votes (3): expected_votes minus device votes must be at least 2"
    );
}

#[test]
fn device_model_missing() {
    assert_eq!(
        device_only(|c| assert!(c.remove(&["quorum", "device"], "model"))),
        "quorum.device has no model, so corosync ignores the device: add 'model: net' or remove the device section"
    );
}

#[test]
fn device_model_unknown() {
    assert_eq!(
        device_only(|c| c.set(&["quorum", "device"], "model", "disk")),
        "quorum.device.model is 'disk': the only model is 'net'"
    );
}

#[test]
fn net_host_missing() {
    assert_eq!(
        device_only(|c| assert!(c.remove(&["quorum", "device", "net"], "host"))),
        "quorum.device.net.host is not set: add the address of the QNetd server"
    );
}

#[test]
fn invalid_algorithm() {
    assert_eq!(
        device_only(|c| c.set(&["quorum", "device", "net"], "algorithm", "majority")),
        "quorum.device.net.algorithm is 'majority': use ffsplit (even node count) or lms (odd node count)"
    );
}

#[test]
fn test_algorithm() {
    assert_eq!(
        device_only(|c| c.set(&["quorum", "device", "net"], "algorithm", "test")),
        "quorum.device.net.algorithm 'test' is for development only and refused unless corosync-qdevice runs with -S net_test_algorithm_enabled=on: use ffsplit or lms"
    );
}

#[test]
fn two_node_lms_needs_two_nodes() {
    assert_eq!(
        device_only(|c| {
            c.set(&["quorum", "device", "net"], "algorithm", "2nodelms");
            c.remove_node("pve2").unwrap();
        }),
        "quorum.device.net.algorithm 2nodelms needs exactly 2 nodes, but 1 are configured: use lms"
    );
}

#[test]
fn ffsplit_needs_one_device_vote() {
    assert_eq!(
        device_only(|c| c.set(&["quorum", "device"], "votes", "2")),
        "algorithm ffsplit needs 'quorum.device.votes: 1' but it is 2: set votes to 1 or use lms"
    );
}

#[test]
fn ffsplit_needs_one_vote_per_node() {
    let text = BASE.replace(
        "quorum_votes: 1\n    ring0_addr: 10.0.0.2",
        "quorum_votes: 2\n    ring0_addr: 10.0.0.2",
    );
    let mut c = Config::parse(&text).unwrap();
    with_device(&mut c);
    assert_eq!(
        messages(&c),
        vec!["algorithm ffsplit needs every node to have 1 vote, but node 'pve2' has 2: set its quorum_votes to 1 or use lms"]
    );
}

#[test]
fn tls_values() {
    assert_eq!(
        device_only(|c| c.set(&["quorum", "device", "net"], "tls", "maybe")),
        "quorum.device.net.tls is 'maybe': use on, off or required"
    );
    let mut c = base();
    with_device(&mut c);
    c.set(&["quorum", "device", "net"], "tls", "Required");
    assert!(c.validate().is_empty());
}

#[test]
fn net_port() {
    assert_eq!(
        device_only(|c| c.set(&["quorum", "device", "net"], "port", "0")),
        "quorum.device.net.port is '0': use a port number from 1 to 65535"
    );
}

#[test]
fn tie_breaker() {
    assert_eq!(
        device_only(|c| c.set(&["quorum", "device", "net"], "tie_breaker", "first")),
        "quorum.device.net.tie_breaker is 'first': use lowest, highest or a node id"
    );
}

#[test]
fn atb_and_lms_in_odd_cluster() {
    let text = BASE.replace(
        "quorum_votes: 1\n    ring0_addr: 10.0.0.2",
        "quorum_votes: 2\n    ring0_addr: 10.0.0.2",
    );
    let mut c = Config::parse(&text).unwrap();
    c.set(&["quorum"], "auto_tie_breaker", "1");
    c.set(&["quorum"], "last_man_standing", "1");
    assert_eq!(
        messages(&c),
        vec!["auto_tie_breaker and last_man_standing are both set in a cluster with an odd number of votes and no wait_for_all: corosync refuses to start; set 'wait_for_all: 1' or drop last_man_standing"]
    );
    c.set(&["quorum"], "wait_for_all", "1");
    assert!(c.validate().is_empty());
}
