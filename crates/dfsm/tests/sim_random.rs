//! Seeded random schedules of the simulated cluster (partitions, merges, crashes,
//! restarts, slow members, hourly VERIFY) with the safety checks of `dfsm::sim`:
//! (a) quiet views have identical trees, (b) no write applied without quorum,
//! (c) durable writes are never lost, plus convergence after healing.
//!
//! Replay one schedule with its log:
//! `DFSM_SEED=17 DFSM_NODES=5 DFSM_POLICY=orig DFSM_STRICT=1 DFSM_SIM_LOG=1 \
//!  cargo test -p dfsm --test sim_random replay -- --nocapture`

use dfsm::sim::{run_schedule, Policy, Schedule, ScheduleReport};

/// Runs the schedules on two threads; returns (schedule, report) pairs.
fn run_all(schedules: Vec<Schedule>) -> Vec<(Schedule, ScheduleReport)> {
    let half = schedules.len() / 2;
    let (first, second) = schedules.split_at(half);
    std::thread::scope(|s| {
        let run = |part: &[Schedule]| {
            part.iter()
                .map(|sc| (*sc, run_schedule(sc)))
                .collect::<Vec<_>>()
        };
        let h = s.spawn(move || run(first));
        let mut out = run(second);
        let mut all = h.join().expect("worker thread");
        all.append(&mut out);
        all
    })
}

fn replay_hint(s: &Schedule) -> String {
    let policy = match s.policy {
        Policy::Original => "orig",
        Policy::QuorumAck => "ack",
    };
    format!(
        "replay: DFSM_SEED={} DFSM_NODES={} DFSM_STEPS={} DFSM_POLICY={policy} DFSM_STRICT={} DFSM_SIM_LOG=1 \
         cargo test -p dfsm --test sim_random replay -- --nocapture",
        s.seed, s.nodes, s.steps, u8::from(s.strict_writers)
    )
}

/// Cluster sizes: mostly 3–7 nodes, some 16, 32 and 64.
fn sized(seed: u64) -> (u32, u64) {
    match seed {
        s if s % 400 == 399 => (64, 250),
        s if s % 100 == 99 => (32, 250),
        s if s % 25 == 24 => (16, 300),
        s => (3 + (s % 5) as u32, 300),
    }
}

fn assert_clean(label: &str, results: &[(Schedule, ScheduleReport)]) {
    let bad: Vec<String> = results
        .iter()
        .filter(|(_, r)| !r.violations.is_empty())
        .map(|(s, r)| {
            format!(
                "seed {} ({} nodes): {:?}\n  {}",
                s.seed,
                s.nodes,
                r.violations,
                replay_hint(s)
            )
        })
        .collect();
    let required: usize = results.iter().map(|(_, r)| r.required).sum();
    let succeeded: usize = results.iter().map(|(_, r)| r.succeeded).sum();
    println!(
        "{label}: {} schedules, {succeeded} successful writes, {required} required to survive",
        results.len()
    );
    assert!(
        bad.is_empty(),
        "{label}: {} failing schedules:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(
        required > 1000,
        "{label}: too few durable writes checked ({required})"
    );
}

/// The recommended writer rule (SYNCED and a quorum of nodes in the DFSM view) with the
/// original acknowledgement: (a), (b), (c) and convergence hold.
#[test]
fn recommended_writer_rule_keeps_replicas_identical_and_writes_durable() {
    let schedules = (0..3000u64)
        .map(|seed| {
            let (nodes, steps) = sized(seed);
            Schedule {
                seed,
                nodes,
                steps,
                policy: Policy::Original,
                strict_writers: true,
            }
        })
        .collect();
    assert_clean("original + strict writers", &run_all(schedules));
}

/// Quorum acknowledgement: every acknowledged write survives (no exception for writers
/// that were cut off afterwards).
#[test]
fn quorum_ack_acknowledges_only_durable_writes() {
    let schedules = (0..1500u64)
        .map(|seed| Schedule {
            seed: 10_000 + seed,
            nodes: 3 + (seed % 3) as u32,
            steps: 300,
            policy: Policy::QuorumAck,
            strict_writers: true,
        })
        .collect();
    assert_clean("quorum ack + strict writers", &run_all(schedules));
}

/// The C writer rule (votequorum only): replicas still converge (VERIFY repairs
/// divergence) and no write is applied without quorum, but the simulator finds
/// acknowledged writes that are lost and transient divergence (see README).
#[test]
fn c_writer_rule_converges_but_loses_acknowledged_writes() {
    let schedules = (0..300u64)
        .map(|seed| Schedule {
            seed: 20_000 + seed,
            nodes: 3 + (seed % 3) as u32,
            steps: 300,
            policy: Policy::Original,
            strict_writers: false,
        })
        .collect();
    let results = run_all(schedules);
    let kind = |prefix: &str| {
        results
            .iter()
            .filter(|(_, r)| {
                r.violations
                    .iter()
                    .any(|v| v.split(": ").nth(1).is_some_and(|t| t.starts_with(prefix)))
            })
            .count()
    };
    let (a, c) = (kind("(a)"), kind("(c)"));
    let others: Vec<String> = results
        .iter()
        .flat_map(|(s, r)| r.violations.iter().map(move |v| (s, v)))
        .filter(|(_, v)| {
            !v.split(": ")
                .nth(1)
                .is_some_and(|t| t.starts_with("(a)") || t.starts_with("(c)"))
        })
        .map(|(s, v)| format!("seed {}: {v}\n  {}", s.seed, replay_hint(s)))
        .collect();
    println!("C writer rule: {} schedules, {a} with transient divergence, {c} with lost acknowledged writes", results.len());
    assert!(
        others.is_empty(),
        "(b) or convergence failed:\n{}",
        others.join("\n")
    );
    assert!(
        c > 0,
        "expected the simulator to find lost acknowledged writes with the C rule"
    );
    assert!(
        a > 0,
        "expected the simulator to find transient divergence with the C rule"
    );
}

/// Replays one schedule given by environment variables (no-op without `DFSM_SEED`).
#[test]
fn replay() {
    let Some(seed) = std::env::var("DFSM_SEED").ok().and_then(|s| s.parse().ok()) else {
        return;
    };
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let schedule = Schedule {
        seed,
        nodes: var("DFSM_NODES", sized(seed).0.into()) as u32,
        steps: var("DFSM_STEPS", sized(seed).1),
        policy: if std::env::var("DFSM_POLICY").as_deref() == Ok("ack") {
            Policy::QuorumAck
        } else {
            Policy::Original
        },
        strict_writers: var("DFSM_STRICT", 1) == 1,
    };
    let report = run_schedule(&schedule);
    println!("{schedule:?}\n{report:#?}");
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}
