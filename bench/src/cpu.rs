//! CPU time spent during a workload, to tell what one file costs: per process from the host's
//! `/proc/PID/stat`, for the whole machine from `/proc/stat`, and for the calling process from
//! `getrusage` (a worker's writes, including the kernel's FUSE work done on their behalf).

use serde_json::{json, Value};

fn ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// User + system CPU seconds of `pid` so far.
pub fn process_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; the fields after it are fixed.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_s())
}

/// CPU seconds the machine spent busy (user, nice, system, irq, softirq) so far, all cores.
pub fn machine_busy_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let busy: Option<f64> = [0, 1, 2, 5, 6].iter().map(|&i| fields.get(i)).sum();
    Some(busy? / ticks_per_s())
}

/// User + system CPU seconds of the calling process (all its threads) so far.
pub fn self_s() -> f64 {
    // SAFETY: an all-zero rusage is a valid value for getrusage to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(usage.ru_utime) + s(usage.ru_stime)
}

/// CPU used by groups of processes and by the whole machine between [`Meter::start`] and
/// [`Meter::per_op_us`].
pub struct Meter {
    groups: Vec<(&'static str, Vec<u32>, f64)>,
    machine: f64,
}

fn group_s(pids: &[u32]) -> Option<f64> {
    pids.iter().map(|&p| process_s(p)).sum()
}

impl Meter {
    /// `None` when a group has no process (its pids were not found) or a process is gone.
    pub fn start(groups: &[(&'static str, &[u32])]) -> Option<Meter> {
        if groups.iter().any(|(_, pids)| pids.is_empty()) {
            return None;
        }
        let groups = groups
            .iter()
            .map(|(name, pids)| Some((*name, pids.to_vec(), group_s(pids)?)))
            .collect::<Option<_>>()?;
        Some(Meter {
            groups,
            machine: machine_busy_s()?,
        })
    }

    /// Microseconds of CPU per operation for every group and `machine`; `None` if a process
    /// is gone.
    pub fn per_op_us(&self, ops: usize) -> Option<Value> {
        let per_op = |s: f64| s * 1e6 / ops as f64;
        let mut out = serde_json::Map::new();
        for (name, pids, before) in &self.groups {
            out.insert(name.to_string(), json!(per_op(group_s(pids)? - before)));
        }
        out.insert(
            "machine".into(),
            json!(per_op(machine_busy_s()? - self.machine)),
        );
        Some(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_time_from_proc_grows_with_work() {
        let pid = std::process::id();
        let before = process_s(pid).unwrap();
        // Spin until getrusage counts 0.1 s more CPU (on a busy machine that takes longer
        // than 0.1 s of wall time), then /proc must show it too.
        let (start, t) = (self_s(), std::time::Instant::now());
        let mut x = 0u64;
        while self_s() - start < 0.1 && t.elapsed().as_secs() < 30 {
            for _ in 0..10_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        let after = process_s(pid).unwrap();
        assert!(after - before >= 0.05, "{before} → {after}");
        assert!(self_s() >= after - 0.02);
        assert!(machine_busy_s().unwrap() > 0.0);
    }

    #[test]
    fn a_meter_needs_a_process_in_every_group() {
        let me = [std::process::id()];
        assert!(Meter::start(&[("me", &me), ("none", &[])]).is_none());
        let meter = Meter::start(&[("me", &me)]).unwrap();
        let cpu = meter.per_op_us(10).unwrap();
        assert!(cpu["me"].as_f64().unwrap() >= 0.0);
        assert!(cpu["machine"].as_f64().unwrap() >= 0.0);
    }
}
