//! `quorate-probe`: prints this node's Corosync state as JSON, read through the Corosync client
//! libraries. Runs inside a lab node (`quorate-lab exec NODE -- quorate-probe quorum`).
//!
//! `quorum`: quorate flag, members, votes (exit 0 quorate, 2 not quorate, 1 error);
//! `links`: knet link status towards every other configured node; `timers`: effective token and
//! consensus timeouts; `cluster`: cluster name, config version, nodelist and member addresses;
//! `dcdb-inject HEX…`: join the DCDB group and multicast raw messages (a hostile peer for tests).

use std::process::ExitCode;

mod inject;

fn main() -> ExitCode {
    let what = std::env::args().nth(1).unwrap_or_default();
    if what == "dcdb-inject" {
        let messages: Vec<String> = std::env::args().skip(2).collect();
        return match inject::inject(&messages) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("quorate-probe: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let result = match what.as_str() {
        "quorum" => corosync_client::quorum_state().map(|s| {
            let code = if s.quorate { 0 } else { 2 };
            (serde_json::to_string(&s), code)
        }),
        "links" => peer_links().map(|l| (serde_json::to_string(&l), 0)),
        "timers" => corosync_client::totem_timers().map(|t| (serde_json::to_string(&t), 0)),
        "cluster" => corosync_client::cluster_info().map(|c| (serde_json::to_string(&c), 0)),
        _ => {
            eprintln!("usage: quorate-probe quorum|links|timers|cluster|dcdb-inject HEX...");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok((Ok(json), code)) => {
            println!("{json}");
            ExitCode::from(code)
        }
        Ok((Err(e), _)) => {
            eprintln!("quorate-probe: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("quorate-probe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn peer_links() -> corosync_client::Result<Vec<corosync_client::PeerLinks>> {
    let local = corosync_client::Votequorum::connect()?.info(0)?.node_id;
    let peers: Vec<u32> = corosync_client::node_names()?
        .into_keys()
        .filter(|id| *id != local)
        .collect();
    corosync_client::link_status(&peers)
}
