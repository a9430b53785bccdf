//! The result document: every figure for every system, a value or the reason it is missing.

use serde_json::{json, Map, Value};

/// Figure keys, in table order, with unit and whether lower is better.
pub const FIGURES: &[(&str, &str, &str)] = &[
    (
        "create_seq",
        "files/s",
        "1. sequential creates, 512 B, one node",
    ),
    ("create_3w", "files/s", "2. creates, 3 writers (aggregate)"),
    ("overwrite", "ops/s", "3. overwrite one 4 KiB file"),
    ("repl_p50_ms", "ms", "4. replication delay node1→node3, p50"),
    ("repl_p99_ms", "ms", "4. replication delay node1→node3, p99"),
    ("catchup_s", "s", "5. catch-up of node3 after heal"),
    (
        "catchup_formed_s",
        "s",
        "5. catch-up of node3 after membership formed",
    ),
    (
        "rss_before_mib",
        "MiB",
        "6. daemon RSS before (max of 3 nodes)",
    ),
    (
        "rss_after_mib",
        "MiB",
        "6. daemon RSS after (max of 3 nodes)",
    ),
    ("pvecm_status_ms", "ms", "7. `pvecm status` latency, p50"),
];

pub const SYSTEMS: &[&str] = &["quorate", "etcd", "cpg", "cpg_rt", "local", "minimal_fs"];

#[derive(Default)]
pub struct System(Map<String, Value>);

impl System {
    pub fn set(&mut self, key: &str, value: anyhow::Result<f64>) {
        let unit = FIGURES.iter().find(|f| f.0 == key).map_or("", |f| f.1);
        let v = match value {
            Ok(v) if v.is_finite() => json!({ "value": v, "unit": unit }),
            Ok(v) => json!({ "unavailable": format!("not a number: {v}") }),
            Err(e) => json!({ "unavailable": format!("{e:#}") }),
        };
        self.0.insert(key.into(), v);
    }

    pub fn set_extra(&mut self, key: &str, extra: Value) {
        if let Some(Value::Object(m)) = self.0.get_mut(key) {
            m.insert("detail".into(), extra);
        }
    }

    pub fn detail_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0.get_mut(key)?.get_mut("detail")
    }

    pub fn unavailable_all(&mut self, reason: &str) {
        for (key, _, _) in FIGURES {
            self.0
                .entry(key.to_string())
                .or_insert_with(|| json!({ "unavailable": reason }));
        }
    }

    pub fn into_value(mut self, reason_missing: &str) -> Value {
        self.unavailable_all(reason_missing);
        Value::Object(self.0)
    }
}

fn value(doc: &Value, system: &str, key: &str) -> Option<f64> {
    doc[system][key]["value"].as_f64()
}

/// Adds `ratios`: Quorate ÷ each other system (etcd, CPG, CPG round trips, local mode, the
/// minimal file system) for every figure both have.
pub fn add_ratios(doc: &mut Value) {
    let mut ratios = Map::new();
    for (key, _, _) in FIGURES {
        let q = value(doc, "quorate", key);
        let r = |peer| match (q, value(doc, peer, key)) {
            (Some(q), Some(p)) if p != 0.0 => json!(q / p),
            _ => Value::Null,
        };
        ratios.insert(
            key.to_string(),
            json!({ "vs_etcd": r("etcd"), "vs_cpg": r("cpg"), "vs_cpg_rt": r("cpg_rt"),
                    "vs_local": r("local"), "vs_minimal_fs": r("minimal_fs") }),
        );
    }
    doc["ratios"] = Value::Object(ratios);
}

/// Messages per file in the original protocol (CREATE, then WRITE; a WRITE to a missing file
/// is refused), which a node must keep to stay compatible.
const MESSAGES_PER_FILE: f64 = 2.0;

/// The 5× etcd target of figure 2 as CPU: adds `cpu_3w` with the µs of CPU per file each
/// part used in the 3-writer runs and what the target leaves per file on this machine's
/// cores, against two floors for this implementation, both ending in this pmxcfs's
/// local-mode FUSE path (writers and pmxcfs without any replication):
/// * `floor_us_per_file`: the protocol's messages per file at Corosync's cheapest measured
///   cost (`raw_corosync_per_msg`, raw CPG at full speed, many messages per token rotation);
/// * `blocking_floor_us_per_file`: Corosync's cost per round trip in figure 2's ceiling
///   (`writes.round_trips`), where three senders that each wait for their own delivery put at
///   most three round trips into a rotation, as three writers whose `close()` waits do. The
///   second message of a file rides in the same rotation (measured: a pair per round trip
///   runs at the rate of a single message), so it is counted once.
pub fn add_cpu_budget(
    doc: &mut Value,
    writes: Value,
    local: Value,
    raw_corosync_per_msg: Option<f64>,
) {
    let cores = doc["machine"]["nproc"].as_u64().filter(|&c| c > 0);
    let target = value(doc, "etcd", "create_3w").map(|etcd| 5.0 * etcd);
    let budget = cores
        .zip(target.filter(|&t| t > 0.0))
        .map(|(cores, t)| cores as f64 * 1e6 / t);
    let local_path = local["writers"].as_f64().zip(local["pmxcfs"].as_f64());
    let local_path = local_path.map(|(writers, pmxcfs)| writers + pmxcfs);
    let floor = (|| Some(MESSAGES_PER_FILE * raw_corosync_per_msg? + local_path?))();
    let blocking_floor = writes["round_trips"]["corosync"]
        .as_f64()
        .zip(local_path)
        .map(|(corosync, local)| corosync + local);
    doc["cpu_3w"] = json!({
        "unit": "µs of CPU per file (all processes of a kind on the 3 nodes together)",
        "cores": cores,
        "quorate": writes["quorate"],
        "etcd": writes["etcd"],
        "local": local,
        "corosync_raw_us_per_msg": raw_corosync_per_msg,
        "target_files_per_s": target,
        "budget_us_per_file": budget,
        "round_trips": writes["round_trips"],
        "minimal_fs": writes["minimal_fs"],
        "local_path_us_per_file": local_path,
        "floor_us_per_file": floor,
        "blocking_floor_us_per_file": blocking_floor,
    });
}

/// Figure 2's target against two bounds measured in the same rounds (`target_3w`):
/// * its CPG round-trip ceiling: three senders, one per node, each waiting for its own
///   message's delivery before the next. A file system whose `close()` returns only after the
///   file is delivered needs at least one such round trip per file (and more than that raw
///   program's work around it), so it cannot pass this ceiling;
/// * the minimal file system ([`crate::minfs`]): the least such a file system must do around
///   those round trips (FUSE requests, one commit per delivery round on every node), and the
///   same without storing anything.
///
/// When 5× etcd lies above a bound, no design it stands for reaches the target on this
/// machine in that run.
pub fn add_target_3w(doc: &mut Value) {
    let target = value(doc, "etcd", "create_3w").map(|etcd| 5.0 * etcd);
    let ceiling = value(doc, "cpg_rt", "create_3w");
    let minimal = value(doc, "minimal_fs", "create_3w");
    let no_storage = value(doc, "minimal_fs", "create_3w_no_storage");
    let quorate = value(doc, "quorate", "create_3w");
    let above = |bound: Option<f64>| target.zip(bound).map(|(t, b)| t > b);
    doc["target_3w"] = json!({
        "target_files_per_s": target,
        "round_trip_ceiling_per_s": ceiling,
        "minimal_fs_per_s": minimal,
        "minimal_fs_no_storage_per_s": no_storage,
        "quorate_files_per_s": quorate,
        "quorate_share_of_ceiling": quorate.zip(ceiling).map(|(q, c)| q / c),
        "quorate_share_of_minimal_fs": quorate.zip(minimal).map(|(q, m)| q / m),
        "target_above_ceiling": above(ceiling),
        "target_above_minimal_fs": above(minimal),
        "target_above_minimal_fs_no_storage": above(no_storage),
    });
}

/// One paragraph on `target_3w` for the table's reader.
fn target_3w_text(doc: &Value) -> Option<String> {
    let t = &doc["target_3w"];
    let target = t["target_files_per_s"].as_f64()?;
    let ceiling = t["round_trip_ceiling_per_s"].as_f64()?;
    let verdict = if t["target_above_ceiling"].as_bool()? {
        "above it, so no file system whose close() returns after delivery reaches the target \
         on this machine"
    } else {
        "below it, so the ceiling does not rule the target out here"
    };
    let share = t["quorate_share_of_ceiling"]
        .as_f64()
        .map_or(String::new(), |s| {
            format!("; Quorate reaches {:.0} % of the ceiling", s * 100.0)
        });
    let mut text = format!(
        "Figure 2's target, 5× etcd = {target:.0} files/s, against its ceiling: three CPG \
         senders, each waiting for its own delivery (one agreed round trip per file, nothing \
         else), reach {ceiling:.0} messages/s in the same rounds. The target is {verdict}{share}."
    );
    if let (Some(minimal), Some(above)) = (
        t["minimal_fs_per_s"].as_f64(),
        t["target_above_minimal_fs"].as_bool(),
    ) {
        let verdict = if above { "above" } else { "below" };
        let no_storage = t["minimal_fs_no_storage_per_s"]
            .as_f64()
            .map_or(String::new(), |n| {
                format!(", {n:.0} when it stores nothing at all")
            });
        let share = t["quorate_share_of_minimal_fs"]
            .as_f64()
            .map_or(String::new(), |s| {
                format!(" Quorate reaches {:.0} % of it.", s * 100.0)
            });
        text += &format!(
            " The minimal file system with the same guarantee (FUSE, one message per file, \
             names in a hash map, each delivery round committed to SQLite on every node) \
             reaches {minimal:.0} files/s{no_storage}: the target is {verdict} it.{share}"
        );
    }
    Some(text)
}

/// One paragraph on `cpu_3w` for the table's reader.
fn cpu_budget_text(doc: &Value) -> Option<String> {
    let c = &doc["cpu_3w"];
    let us = |v: &Value| v.as_f64().map(|v| format!("{v:.0}"));
    let q = &c["quorate"];
    let mut text = format!(
        "CPU per file, 3 writers (µs, 3 nodes together): corosync {}, pmxcfs {}, writers {}, \
         whole machine (harness and idle peers included) {}",
        us(&q["corosync"])?,
        us(&q["pmxcfs"])?,
        us(&q["writers"])?,
        us(&q["machine"])?
    );
    if let Some(etcd) = us(&c["etcd"]["etcd"]) {
        text += &format!(
            "; etcd {etcd} per put (machine {})",
            us(&c["etcd"]["machine"])?
        );
    }
    let Some(budget) = c["budget_us_per_file"].as_f64() else {
        return Some(text + ". Target verdict n/a: budget not measured.");
    };
    let fits = |floor: f64| {
        if floor > budget {
            "does not fit"
        } else {
            "fits"
        }
    };
    text += &format!(
        ". Target 5× etcd = {:.0} files/s leaves {budget:.0} µs per file on {} cores",
        c["target_files_per_s"].as_f64()?,
        c["cores"],
    );
    // Both floors exist only when the local-mode path was measured.
    let local_path = us(&c["local_path_us_per_file"]).unwrap_or_default();
    if let Some(floor) = c["floor_us_per_file"].as_f64() {
        text += &format!(
            "; 2 messages per file at Corosync's cheapest cost ({} µs each, raw CPG at full \
             speed, many messages per token rotation) plus the local-mode FUSE path \
             ({local_path} µs) need {floor:.0}: {}",
            us(&c["corosync_raw_us_per_msg"])?,
            fits(floor),
        );
    }
    if let Some(floor) = c["blocking_floor_us_per_file"].as_f64() {
        text += &format!(
            "; Corosync's cost per round trip with three blocking senders (the ceiling's, \
             {} µs: at most one file per writer per rotation) plus the same local path ({local_path} µs) \
             need {floor:.0}: {}",
            us(&c["round_trips"]["corosync"])?,
            fits(floor),
        );
    }
    let m = &c["minimal_fs"];
    if let (Some(servers), Some(writers), Some(machine)) =
        (us(&m["servers"]), us(&m["writers"]), us(&m["machine"]))
    {
        text += &format!(
            "; the minimal file system used {servers} (its servers) + {writers} (writers), \
             machine {machine}"
        );
    }
    Some(text + ".")
}

fn cell(doc: &Value, system: &str, key: &str) -> String {
    match value(doc, system, key) {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 0.1 => format!("{v:.2}"),
        Some(v) => format!("{v:.4}"),
        None => "n/a".into(),
    }
}

fn ratio(doc: &Value, key: &str, peer: &str) -> String {
    doc["ratios"][key][peer]
        .as_f64()
        .map_or("-".into(), |r| format!("{r:.2}×"))
}

/// The human-readable table (Markdown), followed by the reasons for missing figures.
pub fn table(doc: &Value) -> String {
    let mut out = String::from(
        "| Figure | Unit | Quorate | etcd | CPG limit | CPG round trips | local mode \
         | minimal FS | Q/etcd | Q/CPG | Q/CPG rt | Q/local | Q/min FS |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (key, unit, label) in FIGURES {
        let cells: Vec<String> = SYSTEMS
            .iter()
            .map(|system| cell(doc, system, key))
            .collect();
        let cells = cells.join(" | ");
        let ratios = [
            "vs_etcd",
            "vs_cpg",
            "vs_cpg_rt",
            "vs_local",
            "vs_minimal_fs",
        ]
        .map(|peer| ratio(doc, key, peer))
        .join(" | ");
        out += &format!("| {label} | {unit} | {cells} | {ratios} |\n");
    }
    for system in SYSTEMS {
        // Figures missing for the same reason share one line.
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        for (key, _, _) in FIGURES {
            if let Some(reason) = doc[system][key]["unavailable"].as_str() {
                match reasons.iter_mut().find(|(r, _)| *r == reason) {
                    Some((_, keys)) => keys.push(key),
                    None => reasons.push((reason, vec![key])),
                }
            }
        }
        for (reason, keys) in reasons {
            out += &format!("\n* {system} {}: n/a: {reason}", keys.join(", "));
        }
    }
    for text in [target_3w_text(doc), cpu_budget_text(doc)]
        .into_iter()
        .flatten()
    {
        out += &format!("\n\n{text}");
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_with_etcd_3w(rate: f64) -> Value {
        json!({ "machine": { "nproc": 2 }, "etcd": { "create_3w": { "value": rate } } })
    }

    #[test]
    fn cpu_budget_compares_the_floor_with_what_the_target_leaves() {
        // 5 × 400 files/s on 2 cores leaves 1000 µs per file; the floor is 2 × 300 + 300 + 200.
        let mut doc = doc_with_etcd_3w(400.0);
        let writes = json!({
            "quorate": { "corosync": 600.0, "pmxcfs": 500.0, "writers": 150.0, "machine": 1400.0 },
            "etcd": { "etcd": 900.0, "writers": 100.0, "machine": 1100.0 },
            "round_trips": { "corosync": 450.0, "senders": 50.0, "machine": 600.0 },
        });
        let local = json!({ "writers": 300.0, "pmxcfs": 200.0 });
        add_cpu_budget(&mut doc, writes.clone(), local.clone(), Some(300.0));
        assert_eq!(doc["cpu_3w"]["budget_us_per_file"], 1000.0);
        assert_eq!(doc["cpu_3w"]["floor_us_per_file"], 1100.0);
        // The blocking floor: 450 (corosync per round trip) + 300 + 200.
        assert_eq!(doc["cpu_3w"]["blocking_floor_us_per_file"], 950.0);
        let text = cpu_budget_text(&doc).unwrap();
        assert!(text.contains("need 1100: does not fit"), "{text}");
        assert!(text.contains("(the ceiling's, 450 µs"), "{text}");
        assert!(text.contains("need 950: fits."), "{text}");

        let mut doc = doc_with_etcd_3w(200.0);
        add_cpu_budget(&mut doc, writes.clone(), local.clone(), Some(300.0));
        let text = cpu_budget_text(&doc).unwrap();
        assert!(text.contains("need 1100: fits"), "{text}");

        // Without the ceiling's CPU only the first floor is judged.
        let mut no_rt = writes.clone();
        no_rt["round_trips"] = Value::Null;
        let mut doc = doc_with_etcd_3w(400.0);
        add_cpu_budget(&mut doc, no_rt, local.clone(), Some(300.0));
        assert!(doc["cpu_3w"]["blocking_floor_us_per_file"].is_null());
        let text = cpu_budget_text(&doc).unwrap();
        assert!(!text.contains("blocking senders"), "{text}");

        // Without the core count there is no budget, and no verdict either way.
        let mut doc = doc_with_etcd_3w(400.0);
        doc["machine"]["nproc"] = json!(0);
        add_cpu_budget(&mut doc, writes, local, Some(300.0));
        assert!(doc["cpu_3w"]["budget_us_per_file"].is_null());
        assert!(cpu_budget_text(&doc).unwrap().contains("verdict n/a"));
    }

    #[test]
    fn the_3_writer_target_is_judged_against_the_round_trip_ceiling() {
        let with = |etcd: f64, ceiling: f64| {
            let mut doc = json!({
                "etcd": { "create_3w": { "value": etcd } },
                "cpg_rt": { "create_3w": { "value": ceiling } },
                "quorate": { "create_3w": { "value": 2000.0 } },
            });
            add_target_3w(&mut doc);
            doc
        };
        let doc = with(1000.0, 4000.0);
        assert_eq!(doc["target_3w"]["target_above_ceiling"], true);
        assert_eq!(doc["target_3w"]["quorate_share_of_ceiling"], 0.5);
        let text = target_3w_text(&doc).unwrap();
        assert!(text.contains("5× etcd = 5000 files/s"), "{text}");
        assert!(text.contains("above it"), "{text}");
        assert!(text.contains("reaches 50 % of the ceiling"), "{text}");

        let doc = with(700.0, 4000.0);
        assert_eq!(doc["target_3w"]["target_above_ceiling"], false);
        assert!(target_3w_text(&doc).unwrap().contains("below it"));

        // Without etcd (or the ceiling) there is no verdict and no paragraph.
        let mut doc = json!({ "etcd": {}, "cpg_rt": { "create_3w": { "value": 4000.0 } } });
        add_target_3w(&mut doc);
        assert!(doc["target_3w"]["target_above_ceiling"].is_null());
        assert_eq!(target_3w_text(&doc), None);
    }

    #[test]
    fn the_3_writer_target_is_also_judged_against_the_minimal_file_system() {
        let mut doc = json!({
            "etcd": { "create_3w": { "value": 500.0 } },
            "cpg_rt": { "create_3w": { "value": 3000.0 } },
            "minimal_fs": { "create_3w": { "value": 2000.0 },
                            "create_3w_no_storage": { "value": 2400.0 } },
            "quorate": { "create_3w": { "value": 1500.0 } },
        });
        add_target_3w(&mut doc);
        let t = &doc["target_3w"];
        assert_eq!(t["target_above_ceiling"], false);
        assert_eq!(t["target_above_minimal_fs"], true);
        assert_eq!(t["target_above_minimal_fs_no_storage"], true);
        assert_eq!(t["quorate_share_of_minimal_fs"], 0.75);
        let text = target_3w_text(&doc).unwrap();
        assert!(
            text.contains("reaches 2000 files/s, 2400 when it stores nothing"),
            "{text}"
        );
        assert!(
            text.contains("the target is above it. Quorate reaches 75 % of it."),
            "{text}"
        );

        doc["minimal_fs"]["create_3w"]["value"] = json!(2600.0);
        add_target_3w(&mut doc);
        assert_eq!(doc["target_3w"]["target_above_minimal_fs"], false);
        assert!(target_3w_text(&doc)
            .unwrap()
            .contains("the target is below it"));
    }

    #[test]
    fn cpu_budget_without_etcd_has_no_target() {
        let mut doc = json!({ "machine": { "nproc": 2 }, "etcd": {} });
        let writes = json!({ "quorate": { "corosync": 1.0, "pmxcfs": 1.0, "writers": 1.0,
                                          "machine": 3.0 }, "etcd": null });
        add_cpu_budget(&mut doc, writes, Value::Null, None);
        assert!(doc["cpu_3w"]["budget_us_per_file"].is_null());
        let text = cpu_budget_text(&doc).unwrap();
        assert!(text.contains("verdict n/a"), "{text}");
    }
}
