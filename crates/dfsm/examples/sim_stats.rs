//! Runs many random simulator schedules and prints how often each safety check failed.
//!
//! `cargo run -p dfsm --example sim_stats -- NODES SEEDS STEPS orig|ack FIRST_SEED strict|c`
//! e.g. `-- 5 2000 300 orig 0 c` measures the C writer rule on 5 nodes.

use std::collections::BTreeMap;

use dfsm::sim::{run_schedule, Policy, Schedule};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (nodes, seeds, steps, first) = (arg(1, 5) as u32, arg(2, 100), arg(3, 300), arg(5, 0));
    let policy = match args.get(4).map(String::as_str) {
        Some("ack") => Policy::QuorumAck,
        _ => Policy::Original,
    };
    let strict_writers = args.get(6).map(String::as_str) != Some("c");
    let started = std::time::Instant::now();
    let (mut failing, mut succeeded, mut required, mut window) = (0, 0, 0, 0);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for seed in first..first + seeds {
        let schedule = Schedule {
            seed,
            nodes,
            steps,
            policy,
            strict_writers,
        };
        let report = run_schedule(&schedule);
        succeeded += report.succeeded;
        required += report.required;
        window += report.lost_excused;
        for v in &report.violations {
            let kind = v.split(": ").nth(1).unwrap_or(v).chars().take(3).collect();
            *kinds.entry(kind).or_default() += 1;
        }
        if !report.violations.is_empty() {
            failing += 1;
            if failing <= 5 {
                println!("seed {seed}: {:?}", report.violations);
            }
        }
    }
    println!(
        "{nodes} nodes, {seeds} schedules of {steps} steps ({policy:?}, strict writers: {strict_writers}): \
         {failing} failing {kinds:?}; {succeeded} successful writes, {required} required to survive, \
         {window} lost in the excused window; {:?}",
        started.elapsed()
    );
}
