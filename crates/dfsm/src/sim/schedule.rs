//! Seeded random schedules and the safety checks:
//! (a) whenever a view is quiet (all members SYNCED, log delivered, queues empty), its
//!     members' trees are identical (checksum and index) — and so are their histories;
//! (b) no write is applied on a node without quorum (checked on every apply);
//! (c) a write answered with success whose writer stayed in a quorate view through its
//!     next configuration change is in the final converged history;
//! plus: after healing everything, all nodes converge.

use memdb::Op;
use rand::Rng;

use super::{Cut, Durability, Outcome, Policy, Sim, Stats, WriteId};
use crate::machine::Mode;

/// One random schedule.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Seed of every random choice.
    pub seed: u64,
    /// Configured nodes.
    pub nodes: u32,
    /// Random steps before the final heal.
    pub steps: u64,
    /// Acknowledgement policy of all nodes.
    pub policy: Policy,
    /// See [`Sim::strict_writers`].
    pub strict_writers: bool,
}

/// What a schedule produced.
#[derive(Debug, Clone, Default)]
pub struct ScheduleReport {
    /// Safety violations (empty = pass).
    pub violations: Vec<String>,
    /// Writes answered with success.
    pub succeeded: usize,
    /// Of those, required to survive.
    pub required: usize,
    /// Required writes missing from the final history (also reported as violations).
    pub lost: Vec<WriteId>,
    /// Successful writes not required to survive that are missing (the window).
    pub lost_excused: usize,
    /// Counters.
    pub stats: Stats,
}

const FILES: [&str; 6] = ["f0", "f1", "f2", "d0/f0", "d0/f1", "d1/f0"];
const DIRS: [&str; 2] = ["d0", "d1"];

impl Sim {
    fn random_op(&mut self, serial: usize) -> Op {
        let file = FILES[self.rng.random_range(0..FILES.len())].to_string();
        match self.rng.random_range(0..10) {
            0 | 1 => Op::Create { path: file },
            2..=4 => Op::Write {
                path: file,
                offset: self.rng.random_range(0..4),
                data: format!("w{serial}").into_bytes(),
                truncate: self.rng.random_bool(0.5),
            },
            5 => Op::Mkdir {
                path: DIRS[self.rng.random_range(0..DIRS.len())].to_string(),
            },
            6 | 7 => {
                let all = [&FILES[..], &DIRS[..]].concat();
                Op::Delete {
                    path: all[self.rng.random_range(0..all.len())].to_string(),
                }
            }
            8 => Op::Rename {
                from: file,
                to: FILES[self.rng.random_range(0..FILES.len())].to_string(),
            },
            _ => Op::Mtime {
                path: file,
                mtime: self.now,
            },
        }
    }

    fn random_partition(&mut self) {
        if self.rng.random_bool(0.35) {
            return self.heal(Cut::Random);
        }
        let parts = self.rng.random_range(2..=3);
        let labels: Vec<u32> = (0..self.n)
            .map(|_| self.rng.random_range(0..parts))
            .collect();
        self.net = labels;
        self.reconfigure(Cut::Random);
    }

    fn random_step(&mut self, max_inflight: usize) {
        self.step += 1;
        match self.rng.random_range(0..100) {
            0..=59 => {
                let batch = self.rng.random_range(1..=self.n as usize);
                for _ in 0..batch {
                    if !self.deliver_random() {
                        break;
                    }
                }
            }
            60..=76 => {
                let nodeid = self.rng.random_range(1..=self.n);
                if self.node(nodeid).proc.is_some() && self.inflight(nodeid) < max_inflight {
                    let op = self.random_op(self.writes.len());
                    self.write(nodeid, op);
                }
            }
            77..=84 => self.now += self.rng.random_range(0..3),
            85..=88 => self.random_partition(),
            89 => {
                let nodeid = self.rng.random_range(1..=self.n);
                self.crash(nodeid);
            }
            90..=92 => {
                let nodeid = self.rng.random_range(1..=self.n);
                self.start(nodeid);
            }
            93..=96 => self.tick_all(),
            97 => {
                self.now += 3600;
                self.tick_all();
            }
            _ => {
                let nodeid = self.rng.random_range(1..=self.n);
                let slow = !self.node(nodeid).slow;
                self.set_slow(nodeid, slow);
            }
        }
        self.settle();
        self.check_quiet_views();
    }

    /// Check (a) on every view that became quiet since its last check.
    pub fn check_quiet_views(&mut self) {
        for gi in 0..self.groups.len() {
            let g = &self.groups[gi];
            if !g.dirty || g.members.iter().any(|m| g.cursor[m] < g.log.len()) {
                continue;
            }
            let mut trees = Vec::new();
            let mut quiet = true;
            for m in &g.members {
                let node = self.node(m.nodeid);
                let Some(p) = node.proc.as_ref().filter(|p| p.pid == m.pid) else {
                    continue;
                };
                let (q, s) = p.dfsm.queued();
                if p.dfsm.mode() != Mode::Synced || !q.is_empty() || !s.is_empty() {
                    quiet = false;
                    break;
                }
                trees.push((m.nodeid, node.memdb.index().encode(), node.memdb.checksum()));
            }
            if !quiet {
                continue;
            }
            self.groups[gi].dirty = false;
            for m in self.groups[gi].members.clone() {
                self.classify_at_quiet_point(m.nodeid, m.pid);
            }
            if let Some((first, idx, sum)) = trees.first().cloned() {
                for (nodeid, i, s) in &trees[1..] {
                    if *i != idx || *s != sum {
                        self.violation(format!(
                            "(a) quiet view: trees of nodes {first} and {nodeid} differ"
                        ));
                    } else if self.node(*nodeid).hist != self.node(first).hist {
                        self.violation(format!(
                            "(a) quiet view: histories of {first} and {nodeid} differ"
                        ));
                    }
                }
            }
        }
    }

    /// Heals the network, restarts and re-joins every daemon and delivers everything,
    /// running the hourly VERIFY (which makes diverged nodes leave and resync) until all
    /// nodes are SYNCED in one view with identical trees; false if that does not happen
    /// within the bound.
    pub fn converge(&mut self) -> bool {
        self.heal(Cut::Random);
        for round in 0..200 {
            self.step += 1;
            self.start_all();
            for node in &mut self.nodes {
                if let Some(p) = node.proc.as_mut().filter(|p| !p.joined) {
                    p.rejoin_at = Some(0);
                }
            }
            self.settle();
            self.run_until_quiet(1_000_000);
            self.settle();
            self.check_quiet_views();
            let all_synced = self.running().count() == self.n as usize
                && self.running().all(|n| {
                    let p = n.proc.as_ref().expect("running");
                    p.joined && p.dfsm.mode() == Mode::Synced
                });
            let one_view =
                self.groups.len() == 1 && self.groups[0].members.len() == self.n as usize;
            if all_synced && one_view {
                let first = self.nodes[0].memdb.checksum();
                if self.nodes.iter().all(|n| n.memdb.checksum() == first) {
                    return true;
                }
                if round % 2 == 0 {
                    self.now += 3600;
                    self.tick_all();
                }
            }
        }
        false
    }

    /// The final checks after [`Sim::converge`].
    pub fn final_check(&mut self) -> ScheduleReport {
        let mut report = ScheduleReport::default();
        let first = self.nodes[0].memdb.checksum();
        let hist: Vec<WriteId> = self.history(1);
        for node in 2..=self.n {
            if self.node(node).memdb.checksum() != first {
                self.violation(format!("final trees of nodes 1 and {node} differ"));
            }
        }
        for i in 0..self.writes.len() {
            let w = &self.writes[i];
            let (Outcome::Completed(result, _), Some(id)) = (w.outcome, w.id) else {
                continue;
            };
            if result < 0 || !self.write_changed_tree(i) {
                continue;
            }
            report.succeeded += 1;
            let required = w.durability == Durability::Required || self.policy == Policy::QuorumAck;
            let present = hist.contains(&id);
            if required {
                report.required += 1;
                if !present {
                    report.lost.push(id);
                    let msg = format!(
                        "(c) acknowledged write {}/{}#{} ({:?}) lost",
                        id.0.nodeid, id.0.pid, id.1, w.op
                    );
                    self.violation(msg);
                }
            } else if !present {
                report.lost_excused += 1;
            }
        }
        report.violations = self.violations.clone();
        report.stats = self.stats.clone();
        report
    }
}

/// Runs one random schedule to the end and checks it.
pub fn run_schedule(s: &Schedule) -> ScheduleReport {
    let mut sim = Sim::new(s.nodes, s.policy, s.seed);
    sim.verbose = std::env::var_os("DFSM_SIM_LOG").is_some();
    sim.strict_writers = s.strict_writers;
    sim.start_all();
    sim.run_until_quiet(100_000);
    for _ in 0..s.steps {
        sim.random_step(2);
    }
    if !sim.converge() {
        sim.violation("cluster did not converge after healing".to_string());
    }
    sim.final_check()
}
