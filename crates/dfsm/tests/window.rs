//! Deterministic scenarios: a node rejoining with an older tree, the known window of the
//! original protocol (an acknowledged write lost after its writer was cut off), a stale
//! quorum losing a durable write under the C writer rule, what the quorum-acknowledgement
//! option changes, and its cost.

use dfsm::sim::{Cut, Outcome, Policy, Sim};
use memdb::Op;

fn create(path: &str) -> Op {
    Op::Create {
        path: path.to_string(),
    }
}

fn completed(sim: &Sim, w: usize) -> Option<i32> {
    match sim.writes[w].outcome {
        Outcome::Completed(r, _) => Some(r),
        _ => None,
    }
}

fn assert_converged(sim: &mut Sim) {
    assert!(sim.converge(), "cluster must converge");
    let sum = sim.memdb(1).checksum();
    for n in 2..=sim.size() {
        assert_eq!(sim.memdb(n).checksum(), sum, "node {n} differs");
    }
    assert!(
        sim.violations.iter().all(|v| !v.contains("(b)")),
        "{:?}",
        sim.violations
    );
}

#[test]
fn node_with_an_older_tree_is_updated_by_the_leader() {
    let mut sim = Sim::new(3, Policy::Original, 1);
    sim.start_all();
    sim.run_until_quiet(10_000);
    sim.crash(3);
    for (i, p) in ["a", "b", "c"].iter().enumerate() {
        let w = sim.write(1 + (i as u32 % 2), create(p));
        sim.run_until_quiet(10_000);
        assert_eq!(completed(&sim, w), Some(0));
    }
    let before = sim.stats.state_msgs;
    assert_ne!(sim.memdb(3).checksum(), sim.memdb(1).checksum());
    sim.start(3);
    sim.run_until_quiet(10_000);
    assert_eq!(sim.memdb(3).checksum(), sim.memdb(1).checksum());
    assert_eq!(sim.memdb(3).index(), sim.memdb(2).index());
    // SYNC_START + 3 STATE + the leader's UPDATEs (root + 3 files) + UPDATE_COMPLETE
    assert_eq!(sim.stats.state_msgs - before, 1 + 3 + 4 + 1);
    assert_eq!(sim.history(3), sim.history(1));
}

/// The known window: node 1's write is delivered (and acknowledged) on node 1 and, during
/// the cut, on node 2 only; the majority {3,4,5} never gets it, writes on, and wins the
/// leader election (equal version, newer mtime) when the partitions merge.
fn window_scenario(policy: Policy) -> (Sim, usize, usize) {
    let mut sim = Sim::new(5, policy, 7);
    sim.strict_writers = policy == Policy::QuorumAck;
    sim.quorum_before_flush = Some(false);
    sim.start_all();
    sim.run_until_quiet(100_000);
    let w = sim.write(1, create("acknowledged"));
    while sim.backlog(1) > 0 {
        sim.deliver_one(1);
    }
    sim.partition(&[&[1, 2]], Cut::Min);
    sim.run_until_quiet(100_000);
    sim.advance(2);
    let w2 = sim.write(3, create("majority"));
    sim.run_until_quiet(100_000);
    sim.heal(Cut::Max);
    (sim, w, w2)
}

#[test]
fn original_protocol_loses_a_write_acknowledged_just_before_the_cut() {
    let (mut sim, w, w2) = window_scenario(Policy::Original);
    assert_eq!(completed(&sim, w), Some(0), "the writer was told: success");
    assert_eq!(completed(&sim, w2), Some(0));
    assert_converged(&mut sim);
    for n in 1..=5 {
        assert!(sim.memdb(n).lookup("majority").is_some());
        assert!(
            sim.memdb(n).lookup("acknowledged").is_none(),
            "node {n}: the acknowledged write is gone"
        );
    }
}

#[test]
fn quorum_ack_does_not_acknowledge_that_write_and_the_minority_rolls_back() {
    let (mut sim, w, w2) = window_scenario(Policy::QuorumAck);
    assert_eq!(
        sim.writes[w].outcome,
        Outcome::Aborted,
        "outcome unknown: EBUSY, never success"
    );
    assert!(
        sim.stats.rollbacks >= 2,
        "nodes 1 and 2 undid the unconfirmed write"
    );
    assert_eq!(completed(&sim, w2), Some(0));
    assert_converged(&mut sim);
    for n in 1..=5 {
        assert!(sim.memdb(n).lookup("majority").is_some());
        assert!(sim.memdb(n).lookup("acknowledged").is_none());
    }
    // in a healthy view writes are acknowledged after the quorum confirmed them
    let w3 = sim.write(4, create("later"));
    sim.run_until_quiet(100_000);
    assert_eq!(completed(&sim, w3), Some(0));
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
}

/// With the C writer rule, node 1 alone (its daemon is the only one running, corosync is
/// quorate) accepts writes on its tree; nodes 2 and 3 restart with older trees, form a
/// quorate view, accept a write that reaches both (durable by any definition), and lose
/// it when node 1 comes back with the higher version.
#[test]
fn stale_quorum_with_the_c_writer_rule() {
    let scenario = |strict: bool| {
        let mut sim = Sim::new(3, Policy::Original, 3);
        sim.strict_writers = strict;
        sim.start_all();
        sim.run_until_quiet(10_000);
        sim.crash(2);
        sim.crash(3);
        let alone: Vec<usize> = ["x", "y"].iter().map(|p| sim.write(1, create(p))).collect();
        sim.run_until_quiet(10_000);
        sim.crash(1);
        sim.start(2);
        sim.start(3);
        sim.run_until_quiet(10_000);
        let durable = sim.write(2, create("durable"));
        sim.run_until_quiet(10_000);
        assert!(
            sim.memdb(3).lookup("durable").is_some(),
            "both members applied it"
        );
        sim.start(1);
        assert!(sim.converge());
        (sim, alone, durable)
    };
    let (sim, alone, durable) = scenario(false);
    assert!(
        alone.iter().all(|w| completed(&sim, *w) == Some(0)),
        "C lets node 1 write alone"
    );
    assert_eq!(completed(&sim, durable), Some(0));
    assert!(
        sim.memdb(2).lookup("durable").is_none(),
        "lost: node 1's tree won by version"
    );
    // the recommended rule refuses node 1's writes (EACCES) and the durable write survives
    let (sim, alone, durable) = scenario(true);
    assert!(alone
        .iter()
        .all(|w| sim.writes[*w].outcome == Outcome::Refused(-libc::EACCES)));
    assert_eq!(completed(&sim, durable), Some(0));
    assert!((1..=3).all(|n| sim.memdb(n).lookup("durable").is_some()));
}

/// Message delays (rounds in which every member delivers what was sent before) and
/// multicasts until the writer is answered, in a quiet cluster.
fn cost(policy: Policy, nodes: u32) -> (u32, u64) {
    let mut sim = Sim::new(nodes, policy, 11);
    sim.strict_writers = true;
    sim.start_all();
    sim.run_until_quiet(1_000_000);
    let before = sim.stats.normal_msgs;
    let w = sim.write(1, create("f"));
    let mut rounds = 0;
    while completed(&sim, w).is_none() {
        assert!(sim.deliver_round() > 0, "stalled");
        rounds += 1;
    }
    sim.run_until_quiet(1_000_000);
    (rounds, sim.stats.normal_msgs - before)
}

#[test]
fn cost_of_quorum_acknowledgement() {
    for nodes in [3, 5, 9, 16] {
        let (r0, m0) = cost(Policy::Original, nodes);
        let (r1, m1) = cost(Policy::QuorumAck, nodes);
        println!("{nodes:>2} nodes: original {r0} round(s), {m0} multicast(s); quorum ack {r1} rounds, {m1} multicasts");
        assert_eq!((r0, m0), (1, 1));
        assert_eq!((r1, m1), (3, 1 + 2 * u64::from(nodes)));
    }
}
