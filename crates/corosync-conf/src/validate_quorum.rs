//! Quorum checks: votequorum's configuration errors (which stop corosync at start-up and
//! disable the device at reload) and corosync-qdevice's checks of `quorum.device.net`.

use crate::cnum;
use crate::view::{ConfView, QuorumDevice};
use crate::Problem;

fn on(v: Option<u8>) -> bool {
    v.is_some_and(|v| v != 0)
}

pub(crate) fn quorum(view: &ConfView, out: &mut Vec<Problem>) {
    let q = &view.quorum;
    let node_votes: Vec<u32> = view
        .nodes
        .iter()
        .map(|n| n.quorum_votes.unwrap_or(1))
        .collect();
    let total: u64 = node_votes.iter().map(|v| u64::from(*v)).sum();

    let wait_for_all = q.wait_for_all.map_or(on(q.two_node), |w| w != 0);
    if on(q.auto_tie_breaker)
        && on(q.last_man_standing)
        && !wait_for_all
        && !view.nodes.is_empty()
        && total % 2 == 1
    {
        out.push(Problem::AtbLmsOddCluster);
    }

    let Some(device) = &q.device else { return };
    let model = device.model.as_deref().unwrap_or("");
    if model.is_empty() {
        // votequorum treats a device without model as not configured.
        out.push(Problem::DeviceModelMissing);
        return;
    }
    for (option, value) in [
        ("two_node", q.two_node),
        ("last_man_standing", q.last_man_standing),
        ("auto_tie_breaker", q.auto_tie_breaker),
        ("allow_downscale", q.allow_downscale),
    ] {
        if on(value) {
            out.push(Problem::DeviceIncompatible { option });
        }
    }
    // An unreadable votes value is reported by the value checks; don't guess here.
    let votes_unreadable = device.other.contains_key("votes");
    let expected = q.expected_votes.filter(|e| *e != 0);
    if device.votes.is_none() && !votes_unreadable {
        if expected.is_some() {
            out.push(Problem::DeviceVotesNeededForExpectedVotes);
        }
        if !view.nodes.is_empty() && total != view.nodes.len() as u64 {
            out.push(Problem::DeviceVotesNeededForUnequalVotes);
        }
    }
    if let (Some(votes), Some(expected)) = (device.votes, expected) {
        if votes > 0 && i64::from(expected) - i64::from(votes) < 2 {
            out.push(Problem::DeviceVotesTooHigh { expected, votes });
        }
    }
    if model != "net" {
        out.push(Problem::DeviceModelUnknown {
            model: model.to_string(),
        });
        return;
    }
    net(view, device, votes_unreadable, out);
}

fn net(view: &ConfView, device: &QuorumDevice, votes_unreadable: bool, out: &mut Vec<Problem>) {
    let net = device.net.clone().unwrap_or_default();
    if matches!(net.host.as_deref(), None | Some("")) {
        out.push(Problem::NetHostMissing);
    }
    match net.algorithm.as_deref().unwrap_or("ffsplit") {
        "ffsplit" => {
            if device.votes != Some(1) && !votes_unreadable {
                out.push(Problem::FfsplitDeviceVotes {
                    found: device
                        .votes
                        .map_or("not set".to_string(), |v| v.to_string()),
                });
            }
            for (i, node) in view.nodes.iter().enumerate() {
                let votes = node.quorum_votes.unwrap_or(1);
                if votes != 1 && !node.other.contains_key("quorum_votes") {
                    out.push(Problem::FfsplitNodeVotes {
                        node: node.label(i),
                        votes,
                    });
                }
            }
        }
        "lms" => {}
        "2nodelms" => {
            if view.nodes.len() != 2 {
                out.push(Problem::TwoNodeLmsNodeCount {
                    nodes: view.nodes.len(),
                });
            }
        }
        "test" => out.push(Problem::TestAlgorithm),
        other => out.push(Problem::InvalidAlgorithm {
            value: other.to_string(),
        }),
    }
    if let Some(tls) = &net.tls {
        let known = ["on", "off", "yes", "no", "1", "0", "required"];
        if !known.iter().any(|k| k.eq_ignore_ascii_case(tls)) {
            out.push(Problem::InvalidTls { value: tls.clone() });
        }
    }
    if let Some(port) = &net.port {
        if cnum::parse_in_range(port, 1, 65535).is_none() {
            out.push(Problem::InvalidNetPort {
                value: port.clone(),
            });
        }
    }
    if let Some(tb) = &net.tie_breaker {
        let ok = tb == "lowest"
            || tb == "highest"
            || cnum::parse_in_range(tb, 1, i64::from(u32::MAX)).is_some();
        if !ok {
            out.push(Problem::InvalidTieBreaker { value: tb.clone() });
        }
    }
}
