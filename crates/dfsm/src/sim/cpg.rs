//! CPG semantics: views, agreed-order logs, deliveries and configuration changes.

use std::collections::BTreeMap;

use rand::Rng;

use super::{Cut, Group, Sim};
use crate::app::MemberId;

impl Sim {
    /// Splits the network: `parts` lists node ids per partition; unlisted nodes form one
    /// more partition. Views change with `cut`.
    pub fn partition(&mut self, parts: &[&[u32]], cut: Cut) {
        let rest = parts.len() as u32;
        self.net.iter_mut().for_each(|l| *l = rest);
        for (label, part) in parts.iter().enumerate() {
            for nodeid in *part {
                self.net[(*nodeid - 1) as usize] = label as u32;
            }
        }
        self.reconfigure(cut);
    }

    /// One network again.
    pub fn heal(&mut self, cut: Cut) {
        self.net.iter_mut().for_each(|l| *l = 0);
        self.reconfigure(cut);
    }

    /// Members of the view a node's daemon is in.
    pub fn view_of(&self, nodeid: u32) -> Option<Vec<MemberId>> {
        let pid = self.node(nodeid).proc.as_ref()?.pid;
        let me = MemberId::new(nodeid, pid);
        self.groups
            .iter()
            .find(|g| g.members.contains(&me))
            .map(|g| g.members.clone())
    }

    /// Messages of its view a node's daemon has not delivered yet.
    pub fn backlog(&self, nodeid: u32) -> usize {
        let Some(pid) = self.node(nodeid).proc.as_ref().map(|p| p.pid) else {
            return 0;
        };
        let me = MemberId::new(nodeid, pid);
        self.groups
            .iter()
            .find(|g| g.members.contains(&me))
            .map_or(0, |g| g.log.len() - g.cursor[&me])
    }

    /// Delivers the next message of its view to a node's daemon; false if none.
    pub fn deliver_one(&mut self, nodeid: u32) -> bool {
        let Some(pid) = self.node(nodeid).proc.as_ref().map(|p| p.pid) else {
            return false;
        };
        let me = MemberId::new(nodeid, pid);
        match self.groups.iter().position(|g| g.members.contains(&me)) {
            Some(gi) if self.groups[gi].cursor[&me] < self.groups[gi].log.len() => {
                self.deliver_next(gi, me);
                true
            }
            _ => false,
        }
    }

    /// Delivers one message to a randomly chosen member with a backlog (slow nodes are
    /// chosen rarely); false if every view is fully delivered.
    pub fn deliver_random(&mut self) -> bool {
        let mut candidates = Vec::new();
        for (gi, g) in self.groups.iter().enumerate() {
            for m in &g.members {
                if g.cursor[m] < g.log.len() {
                    let weight = if self.node(m.nodeid).slow { 1 } else { 8 };
                    candidates.push((gi, *m, weight));
                }
            }
        }
        let total: u32 = candidates.iter().map(|c| c.2).sum();
        if total == 0 {
            return false;
        }
        let mut pick = self.rng.random_range(0..total);
        for (gi, m, w) in candidates {
            if pick < w {
                self.deliver_next(gi, m);
                return true;
            }
            pick -= w;
        }
        false
    }

    /// One message delay: every member of every view delivers the messages that were in
    /// its view's log when the round started (then flushes). Returns deliveries made.
    pub fn deliver_round(&mut self) -> usize {
        let mut n = 0;
        self.in_round = true;
        for gi in 0..self.groups.len() {
            let Some(g) = self.groups.get(gi) else { break };
            let (members, end) = (g.members.clone(), g.log.len());
            for m in members {
                while self
                    .groups
                    .get(gi)
                    .is_some_and(|g| g.members.contains(&m) && g.cursor[&m] < end)
                {
                    self.deliver_next(gi, m);
                    n += 1;
                }
            }
        }
        self.in_round = false;
        for nodeid in 1..=self.n {
            let now = self.now;
            if let Some(p) = self.node_mut(nodeid).proc.as_mut() {
                let actions = p.dfsm.flush(now);
                self.handle(nodeid, actions);
            }
        }
        self.settle();
        n
    }

    /// Delivers until every view is fully delivered (bounded); returns deliveries made.
    pub fn run_until_quiet(&mut self, limit: usize) -> usize {
        let mut n = 0;
        while n < limit && self.deliver_random() {
            n += 1;
            self.settle();
        }
        n
    }

    fn deliver_next(&mut self, gi: usize, me: MemberId) {
        let g = &mut self.groups[gi];
        let at = g.cursor[&me];
        let (from, bytes) = g.log[at].clone();
        g.cursor.insert(me, at + 1);
        let caught_up = at + 1 == g.log.len();
        self.stats.deliveries += 1;
        self.deliver_to(me, from, &bytes);
        if caught_up && self.carry.is_none() && !self.in_round {
            let now = self.now;
            if let Some(p) = self
                .node_mut(me.nodeid)
                .proc
                .as_mut()
                .filter(|p| p.pid == me.pid)
            {
                let actions = p.dfsm.flush(now);
                self.handle(me.nodeid, actions);
            }
        }
    }

    fn deliver_to(&mut self, me: MemberId, from: MemberId, bytes: &[u8]) {
        let now = self.now;
        let Some(p) = self
            .node_mut(me.nodeid)
            .proc
            .as_mut()
            .filter(|p| p.pid == me.pid)
        else {
            return;
        };
        let actions = p.dfsm.deliver(from, bytes, now);
        self.handle(me.nodeid, actions);
    }

    fn update_quorum_flags(&mut self) {
        for nodeid in 1..=self.n {
            let quorate = self.quorate(nodeid);
            if let Some(p) = &self.node(nodeid).proc {
                p.dfsm.app().set_quorate(quorate);
            }
        }
    }

    /// Brings the views in line with the network and the joined processes.
    pub(super) fn reconfigure(&mut self, cut: Cut) {
        let mut comps: BTreeMap<u32, Vec<MemberId>> = BTreeMap::new();
        for node in self.running() {
            let p = node.proc.as_ref().expect("running");
            if p.joined {
                let label = self.net[(node.nodeid - 1) as usize];
                comps
                    .entry(label)
                    .or_default()
                    .push(MemberId::new(node.nodeid, p.pid));
            }
        }
        let desired: Vec<Vec<MemberId>> = comps.into_values().collect();
        let unchanged = |members: &Vec<MemberId>| desired.contains(members);
        if self.groups.len() == desired.len() && self.groups.iter().all(|g| unchanged(&g.members)) {
            self.update_quorum_flags();
            return;
        }
        self.stats.view_changes += 1;
        if self.verbose {
            eprintln!(
                "[{}] view change: net {:?} -> {:?}",
                self.step, self.net, desired
            );
        }
        let old = std::mem::take(&mut self.groups);
        let (kept, changed): (Vec<Group>, Vec<Group>) =
            old.into_iter().partition(|g| unchanged(&g.members));
        self.groups = kept;
        // the quorum notification may reach the daemons before or after the old views
        // are flushed
        let quorum_first = match self.quorum_before_flush {
            Some(first) => first,
            None => self.rng.random_bool(0.5),
        };
        if quorum_first {
            self.update_quorum_flags();
        }
        self.carry = Some(Vec::new());
        for g in &changed {
            self.flush_old_view(g, &desired, cut);
        }
        let carried = self.carry.take().unwrap_or_default();
        self.update_quorum_flags();
        let mut fresh = Vec::new();
        for comp in &desired {
            if self.groups.iter().any(|g| &g.members == comp) {
                continue;
            }
            let log: Vec<(MemberId, Vec<u8>)> = carried
                .iter()
                .filter(|(m, _)| comp.contains(m))
                .cloned()
                .collect();
            self.groups.push(Group {
                cursor: comp.iter().map(|m| (*m, 0)).collect(),
                members: comp.clone(),
                log,
                dirty: true,
            });
            fresh.push(comp.clone());
        }
        for comp in fresh {
            for m in &comp {
                let prev: &[MemberId] = changed
                    .iter()
                    .find(|g| g.members.contains(m))
                    .map_or(&[], |g| &g.members);
                let left: Vec<MemberId> =
                    prev.iter().filter(|x| !comp.contains(x)).copied().collect();
                let joined: Vec<MemberId> =
                    comp.iter().filter(|x| !prev.contains(x)).copied().collect();
                let now = self.now;
                let Some(p) = self
                    .node_mut(m.nodeid)
                    .proc
                    .as_mut()
                    .filter(|p| p.pid == m.pid)
                else {
                    continue;
                };
                let actions = p.dfsm.confchg(&comp, &left, &joined, now);
                self.handle(m.nodeid, actions);
                self.classify_after_confchg(m.nodeid, m.pid);
            }
        }
    }

    /// Virtual synchrony: each part of a changing view delivers the same prefix of the old
    /// log before its confchg.
    fn flush_old_view(&mut self, g: &Group, desired: &[Vec<MemberId>], cut: Cut) {
        for comp in desired {
            let part: Vec<MemberId> = g
                .members
                .iter()
                .filter(|m| comp.contains(m))
                .copied()
                .collect();
            if part.is_empty() {
                continue;
            }
            let delivered = part.iter().map(|m| g.cursor[m]).max().unwrap_or(0);
            let own = g
                .log
                .iter()
                .rposition(|(from, _)| part.contains(from))
                .map_or(0, |i| i + 1);
            let lo = delivered.max(own);
            let hi = g.log.len();
            let upto = match cut {
                Cut::Min => lo,
                Cut::Max => hi,
                Cut::Random => self.rng.random_range(lo..=hi),
            };
            if self.verbose {
                eprintln!(
                    "[{}] flush part {part:?}: deliver up to {upto} of {hi} (min {lo})",
                    self.step
                );
            }
            for m in &part {
                for at in g.cursor[m]..upto {
                    let (from, bytes) = &g.log[at];
                    self.stats.deliveries += 1;
                    self.deliver_to(*m, *from, bytes);
                }
            }
        }
    }
}
