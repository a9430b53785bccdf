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

pub const SYSTEMS: &[&str] = &["quorate", "etcd", "cpg", "cpg_rt", "local"];

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

/// Adds `ratios`: Quorate ÷ each other system (etcd, CPG, CPG round trips, local mode) for
/// every figure both have.
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
                    "vs_local": r("local") }),
        );
    }
    doc["ratios"] = Value::Object(ratios);
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
         | Q/etcd | Q/CPG | Q/CPG rt | Q/local |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (key, unit, label) in FIGURES {
        let cells: Vec<String> = SYSTEMS
            .iter()
            .map(|system| cell(doc, system, key))
            .collect();
        let cells = cells.join(" | ");
        let ratios = ["vs_etcd", "vs_cpg", "vs_cpg_rt", "vs_local"]
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
    out.push('\n');
    out
}
