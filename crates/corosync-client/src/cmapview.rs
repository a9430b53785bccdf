//! Values read from the live configuration map (cmap): node names and totem timers.

use std::collections::BTreeMap;

use rust_corosync::cmap;

use crate::{Error, Result};

/// Configured node name per node id (`nodelist.node.N.name`); nodes without a name are absent.
pub fn node_names() -> Result<BTreeMap<u32, String>> {
    let handle =
        cmap::initialize(cmap::Map::Icmap).map_err(|e| Error::from_cs("cmap_initialize", e))?;
    let mut by_index: BTreeMap<String, (Option<u32>, Option<String>)> = BTreeMap::new();
    let iter = cmap::CmapIterStart::new(&handle, "nodelist.node.")
        .map_err(|e| Error::from_cs("cmap_iter_init", e))?;
    for item in iter {
        let key = item.key_name().to_string();
        let Some(rest) = key.strip_prefix("nodelist.node.") else {
            continue;
        };
        let Some((index, field)) = rest.split_once('.') else {
            continue;
        };
        let entry = by_index.entry(index.to_string()).or_default();
        match (field, item.data()) {
            ("nodeid", cmap::Data::UInt32(id)) => entry.0 = Some(*id),
            ("nodeid", cmap::Data::String(s)) => entry.0 = s.parse().ok(),
            ("name", cmap::Data::String(s)) => entry.1 = Some(s.clone()),
            _ => {}
        }
    }
    Ok(by_index
        .into_values()
        .filter_map(|(id, name)| Some((id?, name?)))
        .collect())
}

/// The effective totem timers (`runtime.config.totem.*`), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TotemTimers {
    pub token_ms: u32,
    pub consensus_ms: u32,
}

/// Reads the effective token and consensus timeouts from the running corosync.
pub fn totem_timers() -> Result<TotemTimers> {
    let handle =
        cmap::initialize(cmap::Map::Icmap).map_err(|e| Error::from_cs("cmap_initialize", e))?;
    let read = |key: &str| -> Result<u32> {
        match cmap::get(&handle, key).map_err(|e| Error::from_cs("cmap_get", e))? {
            cmap::Data::UInt32(v) => Ok(v),
            _ => Err(Error::new("cmap_get", 7)),
        }
    };
    Ok(TotemTimers {
        token_ms: read("runtime.config.totem.token")?,
        consensus_ms: read("runtime.config.totem.consensus")?,
    })
}
