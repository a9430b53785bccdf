//! `quorate-bench`: brings up a 3-node lab (`bench`), measures Quorate's pmxcfs, etcd 3.4 and
//! the raw CPG limit on the same nodes, prints a table and writes a JSON file.
//! `quorate-bench worker …` are the in-node workloads it runs through `quorate-lab exec`.

mod bounds;
mod clock;
mod cpg;
mod cpu;
mod etcd;
mod figures;
mod lab;
mod local;
mod membership;
mod minfs;
mod run;
mod worker;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Quorate vs etcd vs raw CPG on a 3-node quorate-lab (run as root)")]
struct Cli {
    /// Tiny sizes (20 files, 10 samples, 200 catch-up files): checks the harness, not speed.
    #[arg(long)]
    smoke: bool,
    /// Rounds of figures 1–3 (Quorate and etcd taking turns) and of figure 5; each figure is
    /// the median of its rounds. Default: 3 (2 with --smoke).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    rounds: Option<u16>,
    /// Where to write the JSON results.
    #[arg(long, default_value = "target/bench/results.json")]
    out: PathBuf,
    /// Name of the lab to bring up (and take down): two runs with different names can't
    /// collide.
    #[arg(long, default_value = "bench")]
    lab: String,
    /// Skip the etcd peer (its figures are reported unavailable).
    #[arg(long)]
    no_etcd: bool,
    /// Run corosync with realtime scheduling, as on a real node. By default the lab runs it at
    /// normal priority: the three nodes share this machine's cores, and each realtime corosync
    /// would preempt the other nodes' daemons too (docs/BENCHMARKS.md).
    #[arg(long)]
    corosync_realtime: bool,
    #[command(subcommand)]
    worker: Option<Top>,
}

#[derive(Subcommand)]
enum Top {
    /// In-node workload (internal).
    #[command(subcommand)]
    Worker(Worker),
}

#[derive(Subcommand)]
enum Worker {
    Create {
        dir: PathBuf,
        n: usize,
        size: usize,
    },
    Overwrite {
        path: PathBuf,
        n: usize,
        size: usize,
    },
    Writer {
        dir: PathBuf,
        n: usize,
        size: usize,
        gap_ms: u64,
    },
    Poll {
        dir: PathBuf,
        n: usize,
        size: usize,
        timeout_s: u64,
    },
    Digest {
        dir: PathBuf,
    },
    CatchupWatch {
        dir: PathBuf,
        n: usize,
        digest: String,
        members: usize,
        timeout_s: u64,
    },
    TimeCmd {
        n: usize,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cmd: Vec<String>,
    },
    CpgSend {
        n: u64,
        size: usize,
        members: usize,
    },
    CpgRoundTrips {
        n: u64,
        size: usize,
        members: usize,
        senders: usize,
    },
    CpgMember {
        timeout_s: u64,
    },
    MinfsServe {
        members: u32,
        files: u64,
        #[arg(value_enum)]
        storage: minfs::Storage,
        timeout_s: u64,
    },
    LocalCeiling {
        files: usize,
        overwrites: usize,
    },
    EtcdPut {
        addr: String,
        n: usize,
        size: usize,
        prefix: String,
    },
    EtcdOverwrite {
        addr: String,
        n: usize,
        size: usize,
    },
    EtcdClear {
        addr: String,
        prefix: String,
        key: String,
    },
    EtcdWriter {
        addr: String,
        n: usize,
        size: usize,
        gap_ms: u64,
        prefix: String,
    },
    EtcdPoll {
        addr: String,
        n: usize,
        prefix: String,
        timeout_s: u64,
    },
}

fn worker(w: Worker) -> Result<Value> {
    match w {
        Worker::Create { dir, n, size } => worker::create(&dir, n, size),
        Worker::Overwrite { path, n, size } => worker::overwrite(&path, n, size),
        Worker::Writer {
            dir,
            n,
            size,
            gap_ms,
        } => worker::writer(&dir, n, size, gap_ms),
        Worker::Poll {
            dir,
            n,
            size,
            timeout_s,
        } => worker::poll(&dir, n, size, timeout_s),
        Worker::Digest { dir } => worker::digest(&dir),
        Worker::CatchupWatch {
            dir,
            n,
            digest,
            members,
            timeout_s,
        } => worker::catchup_watch(&dir, n, &digest, members, timeout_s),
        Worker::TimeCmd { n, cmd } => worker::time_cmd(n, &cmd),
        Worker::CpgSend { n, size, members } => cpg::send(n, size, members),
        Worker::CpgRoundTrips {
            n,
            size,
            members,
            senders,
        } => cpg::round_trips(n, size, members, senders),
        Worker::CpgMember { timeout_s } => cpg::member(timeout_s),
        Worker::MinfsServe {
            members,
            files,
            storage,
            timeout_s,
        } => minfs::serve(members, files, storage, timeout_s),
        Worker::LocalCeiling { files, overwrites } => local::ceiling(files, overwrites),
        Worker::EtcdPut {
            addr,
            n,
            size,
            prefix,
        } => etcd::put_many(&addr, n, size, &prefix),
        Worker::EtcdOverwrite { addr, n, size } => etcd::overwrite(&addr, n, size),
        Worker::EtcdClear { addr, prefix, key } => etcd::clear(&addr, &prefix, &key),
        Worker::EtcdWriter {
            addr,
            n,
            size,
            gap_ms,
            prefix,
        } => etcd::writer(&addr, n, size, gap_ms, &prefix),
        Worker::EtcdPoll {
            addr,
            n,
            prefix,
            timeout_s,
        } => etcd::poll(&addr, n, &prefix, timeout_s),
    }
}

fn bench(cli: &Cli) -> Result<Value> {
    let sizes = run::Sizes::new(cli.smoke, cli.rounds.map(usize::from));
    if cfg!(debug_assertions) && !cli.smoke {
        eprintln!(
            "quorate-bench: WARNING: debug build; Quorate's crates are unoptimised, so the \
             figures are not meaningful (build with `cargo build --release`)"
        );
    }
    let lab = lab::Lab::new(&cli.lab)?;
    eprintln!(
        "quorate-bench: bringing up lab '{}' (3 nodes, corosync at {} priority, pmxcfs)",
        cli.lab,
        if cli.corosync_realtime {
            "realtime"
        } else {
            "normal"
        }
    );
    lab.up(cli.corosync_realtime)?;
    let (mut q, mut e, mut c) = (
        figures::System::default(),
        figures::System::default(),
        figures::System::default(),
    );
    let (mut rt, mut local) = (figures::System::default(), figures::System::default());
    let mut minimal_fs = figures::System::default();
    let (mut writes_cpu, mut local_cpu) = (Value::Null, Value::Null);
    let mut raw_corosync = None;
    let result = (|| -> Result<()> {
        let pids = lab.pmxcfs_pids()?;
        run::rss(&mut q, "rss_before_mib", &pids);
        let etcd = start_etcd(cli, &lab, &mut e);
        eprintln!(
            "quorate-bench: writes, {} rounds (Quorate{} in turn)",
            sizes.rounds,
            if etcd.is_some() { " and etcd" } else { "" }
        );
        let systems = run::WriteSystems {
            quorate: &mut q,
            etcd: &mut e,
            round_trips: &mut rt,
            minimal_fs: &mut minimal_fs,
        };
        writes_cpu = run::write_rounds(&lab, &sizes, etcd.as_ref(), systems);
        eprintln!("quorate-bench: replication delay, pvecm status");
        run::quorate_delay_and_status(&lab, &sizes, &mut q)?;
        if let Some(cluster) = etcd {
            run::etcd_delay(&lab, &sizes, &cluster, &mut e);
        }
        eprintln!("quorate-bench: raw CPG limit");
        raw_corosync = bounds::cpg(&lab, &sizes, &mut c);
        eprintln!("quorate-bench: CPG round trips and local-mode pmxcfs (ceilings)");
        bounds::cpg_round_trips(&lab, &sizes, &mut rt);
        local_cpu = bounds::local_ceiling(&lab, &sizes, &mut local);
        eprintln!(
            "quorate-bench: catch-up ({} files, {} rounds, each followed by raw CPG)",
            sizes.catchup, sizes.rounds
        );
        run::catchup_rounds(&lab, &sizes, &mut q, &mut c);
        let pids_after = lab.pmxcfs_pids().unwrap_or(pids);
        run::rss(&mut q, "rss_after_mib", &pids_after);
        Ok(())
    })();
    lab.down();
    result?;
    let mut doc = json!({
        "smoke": cli.smoke,
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "lab": cli.lab,
        "corosync_realtime": cli.corosync_realtime,
        "machine": { "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "sizes": { "files": sizes.files, "overwrites": sizes.overwrites, "samples": sizes.samples,
                   "catchup_files": sizes.catchup, "cpg_msgs": sizes.cpg_msgs,
                   "rounds": sizes.rounds },
        "quorate": q.into_value("not measured"),
        "etcd": e.into_value("not applicable to etcd"),
        "cpg": c.into_value("not applicable to raw CPG"),
        "cpg_rt": rt.into_value("measured for figures 1-3 only"),
        "local": local.into_value("measured for figures 1-3 only"),
        "minimal_fs": minimal_fs.into_value("measured for figure 2 only"),
    });
    figures::add_ratios(&mut doc);
    figures::add_target_3w(&mut doc);
    figures::add_cpu_budget(&mut doc, writes_cpu, local_cpu, raw_corosync);
    Ok(doc)
}

/// The etcd peer, started before the first round (its RSS right after start), or `None` with
/// every etcd figure saying why.
fn start_etcd(cli: &Cli, lab: &lab::Lab, e: &mut figures::System) -> Option<etcd::Cluster> {
    if cli.no_etcd {
        e.unavailable_all("skipped (--no-etcd)");
        return None;
    }
    eprintln!("quorate-bench: starting the etcd peer");
    match etcd::Cluster::start(lab) {
        Ok(cluster) => {
            run::rss(e, "rss_before_mib", cluster.pids());
            Some(cluster)
        }
        Err(err) => {
            eprintln!("quorate-bench: etcd unavailable: {err:#}");
            e.unavailable_all(&format!("{err:#}"));
            None
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.worker {
        Some(Top::Worker(w)) => worker(w).map(|v| println!("{v}")),
        None => bench(&cli).and_then(|doc| {
            if let Some(dir) = cli.out.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&cli.out, serde_json::to_string_pretty(&doc)?)?;
            print!("{}", figures::table(&doc));
            eprintln!("quorate-bench: JSON written to {}", cli.out.display());
            Ok(())
        }),
    };
    if let Err(e) = result {
        eprintln!("quorate-bench: {e:#}");
        std::process::exit(1);
    }
}
