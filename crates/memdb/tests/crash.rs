//! Crash safety: a child process (this test binary in "writer loop" mode) writes and
//! acknowledges on stdout; it is SIGKILLed at random moments; every acknowledged write must
//! survive the reopen, and at most the single in-flight operation may additionally show.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use memdb::{Memdb, Op};

const CHILD_DB: &str = "MEMDB_CRASH_CHILD_DB";
const CHILD_ITER: &str = "MEMDB_CRASH_CHILD_ITER";
const SLOTS: u64 = 5;
const ITERATIONS: u32 = 25;

fn content_for(iter: u32, seq: u64) -> String {
    let pad = "x".repeat(((seq * 997) % 3000) as usize);
    format!("{iter}:{seq}:{pad}")
}

fn target_for(iter: u32, seq: u64) -> String {
    format!("i{iter}/f{}", seq % SLOTS)
}

/// The writer loop; does nothing unless started by `kill_writer_at_random_moments`.
#[test]
fn crash_child_writer_loop() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let iter: u32 = std::env::var(CHILD_ITER).unwrap().parse().unwrap();
    let m = Memdb::open(&path).expect("child: open");
    let ok = |op: Op| m.apply(&op, 1, 1000 + iter).expect("child: apply");
    ok(Op::Mkdir {
        path: format!("i{iter}"),
    });
    println!("ACK-DIR");
    for seq in 1.. {
        let tmp = format!("i{iter}/tmp.{seq}");
        let content = content_for(iter, seq).into_bytes();
        let half = content.len() / 2;
        ok(Op::Create { path: tmp.clone() });
        let first = Op::Write {
            path: tmp.clone(),
            offset: 0,
            data: content[..half].to_vec(),
            truncate: false,
        };
        ok(first);
        let rest = Op::Write {
            path: tmp.clone(),
            offset: half as u64,
            data: content[half..].to_vec(),
            truncate: true,
        };
        ok(rest);
        ok(Op::Rename {
            from: tmp,
            to: target_for(iter, seq),
        });
        println!("ACK {seq}");
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn dir_contents(m: &Memdb, dir: &str) -> BTreeMap<String, String> {
    m.readdir(dir)
        .unwrap()
        .into_iter()
        .map(|(name, _)| {
            let data = m.read(&format!("{dir}/{name}"), 0, usize::MAX).unwrap();
            (name, String::from_utf8(data).unwrap())
        })
        .collect()
}

/// What iteration `iter` must have left behind, given its acknowledged sequence numbers.
fn check_iteration(m: &Memdb, iter: u32, dir_acked: bool, acked: Option<u64>, seed: u64) {
    let dir = format!("i{iter}");
    let ctx = format!("seed {seed}, iteration {iter}, last ack {acked:?}");
    if m.lookup(&dir).is_none() {
        assert!(!dir_acked, "acknowledged mkdir lost ({ctx})");
        return;
    }
    let last = acked.unwrap_or(0);
    let mut allowed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for seq in last.saturating_sub(SLOTS - 1).max(1)..=last {
        allowed.insert(format!("f{}", seq % SLOTS), vec![content_for(iter, seq)]);
    }
    let next = last + 1;
    let in_flight = content_for(iter, next);
    allowed
        .entry(format!("f{}", next % SLOTS))
        .or_default()
        .push(in_flight.clone());
    let found = dir_contents(m, &dir);
    for (name, data) in &found {
        if let Some(seq) = name.strip_prefix("tmp.") {
            assert_eq!(seq, next.to_string(), "stale temp file {name} ({ctx})");
            assert!(
                in_flight.starts_with(data.as_str()),
                "temp content is a prefix ({ctx})"
            );
            continue;
        }
        let ok = allowed.get(name).is_some_and(|v| v.contains(data));
        let head: String = data.chars().take(16).collect();
        assert!(
            ok,
            "{dir}/{name} = {head:?}… not an acknowledged or in-flight value ({ctx})"
        );
    }
    for seq in last.saturating_sub(SLOTS - 1).max(1)..=last {
        let name = format!("f{}", seq % SLOTS);
        assert!(
            found.contains_key(&name),
            "acknowledged {dir}/{name} missing ({ctx})"
        );
    }
}

#[test]
fn kill_writer_at_random_moments() {
    let started = Instant::now();
    let seed = std::env::var("MEMDB_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("config.db");
    let exe = std::env::current_exe().unwrap();
    let mut survivors: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
    let mut total_acks = 0;
    for iter in 0..ITERATIONS {
        let mut child = Command::new(&exe)
            .args([
                "crash_child_writer_loop",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB, &db)
            .env(CHILD_ITER, iter.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<String>>()
        });
        std::thread::sleep(Duration::from_millis(5 + rng.next() % 250));
        child.kill().unwrap();
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        let dir_acked = lines.iter().any(|l| l == "ACK-DIR");
        let acked = lines
            .iter()
            .filter_map(|l| l.strip_prefix("ACK ")?.parse::<u64>().ok())
            .max();
        total_acks += acked.unwrap_or(0);
        let m = Memdb::open(&db)
            .unwrap_or_else(|e| panic!("reopen after kill failed (seed {seed}): {e}"));
        check_iteration(&m, iter, dir_acked, acked, seed);
        for (old, contents) in &survivors {
            assert_eq!(
                &dir_contents(&m, &format!("i{old}")),
                contents,
                "iteration {old} changed (seed {seed})"
            );
        }
        if m.lookup(&format!("i{iter}")).is_some() {
            survivors.insert(iter, dir_contents(&m, &format!("i{iter}")));
        }
    }
    eprintln!("total acks {total_acks}");
    assert!(
        total_acks >= 20,
        "the child made too little progress to mean anything ({total_acks} acks)"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}
