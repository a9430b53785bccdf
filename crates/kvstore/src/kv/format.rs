//! The wire and text formats of the key/value store: key kinds, the KVSTORE UPDATE
//! payload, a node's plain table and the `.version` kvstore block.

use std::collections::BTreeMap;

/// Largest value accepted locally (`CFS_MAX_STATUS_SIZE`; larger → `-EFBIG`).
pub const MAX_VALUE_SIZE: usize = 32 * 1024;
/// Size of the NUL-padded key field that starts a KVSTORE UPDATE payload.
pub const KEY_FIELD_LEN: usize = 256;
/// Longest key (the field keeps one byte for the NUL).
pub const MAX_KEY_LEN: usize = KEY_FIELD_LEN - 1;

/// What a key addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind<'a> {
    /// `rrd/<key>`: the shared RRD sample table, under `<key>`.
    Rrd(&'a str),
    /// `nodeip`: the sender's IP.
    NodeIp,
    /// Anything else: the sender's own table.
    Plain,
}

/// Classifies a key.
pub fn classify(key: &str) -> KeyKind<'_> {
    if let Some(rest) = key.strip_prefix("rrd/") {
        KeyKind::Rrd(rest)
    } else if key == "nodeip" {
        KeyKind::NodeIp
    } else {
        KeyKind::Plain
    }
}

/// Why a KVSTORE UPDATE payload is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// Shorter than the 256-byte key field.
    #[error("received short kvstore message ({0} < 256)")]
    Short(usize),
    /// No NUL within the key field.
    #[error("unterminated key in kvstore message")]
    Unterminated,
    /// The key is not UTF-8.
    #[error("kvstore message key is not UTF-8")]
    NotUtf8,
}

/// The UPDATE payload: the key NUL-padded to 256 bytes, then the value.
/// `None` if the key is longer than 255 bytes or contains a NUL.
pub fn encode_update(key: &str, value: &[u8]) -> Option<Vec<u8>> {
    if key.len() > MAX_KEY_LEN || key.contains('\0') {
        return None;
    }
    let mut out = vec![0u8; KEY_FIELD_LEN];
    out[..key.len()].copy_from_slice(key.as_bytes());
    out.extend_from_slice(value);
    Some(out)
}

/// Splits an UPDATE payload into key (up to the first NUL of the field) and value.
pub fn decode_update(payload: &[u8]) -> Result<(&str, &[u8]), UpdateError> {
    if payload.len() < KEY_FIELD_LEN {
        return Err(UpdateError::Short(payload.len()));
    }
    let nul = payload[..KEY_FIELD_LEN]
        .iter()
        .position(|&b| b == 0)
        .ok_or(UpdateError::Unterminated)?;
    let key = std::str::from_utf8(&payload[..nul]).map_err(|_| UpdateError::NotUtf8)?;
    Ok((key, &payload[KEY_FIELD_LEN..]))
}

/// One plain value and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvEntry {
    /// Raw bytes.
    pub value: Vec<u8>,
    /// 0 when created, +1 per update.
    pub version: u32,
}

/// One node's plain key/value table (kept sorted by key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvTable {
    map: BTreeMap<String, KvEntry>,
}

impl KvTable {
    /// Sets `key` (empty `value`: deletes it). Updating bumps the version.
    pub fn set(&mut self, key: &str, value: &[u8]) {
        if value.is_empty() {
            self.map.remove(key);
        } else if let Some(e) = self.map.get_mut(key) {
            e.value = value.to_vec();
            e.version = e.version.wrapping_add(1);
        } else {
            let entry = KvEntry {
                value: value.to_vec(),
                version: 0,
            };
            self.map.insert(key.to_string(), entry);
        }
    }

    /// The entry of `key`.
    pub fn get(&self, key: &str) -> Option<&KvEntry> {
        self.map.get(key)
    }

    /// All entries, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &KvEntry)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// `(key, version)` pairs, by key.
    pub fn versions(&self) -> Vec<(String, u32)> {
        self.iter()
            .map(|(k, e)| (k.to_string(), e.version))
            .collect()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The `.version` kvstore block: `"kvstore": {⏎`, the local node's block, `,⏎` + the
/// block of every other node with a table, then `}⏎` (the caller closes the outer
/// object). A block is `"<node>": {⏎`, the entries `"<key>": <version>` joined by `,⏎`,
/// and `}⏎` directly after the last entry (no line break before the brace).
pub fn render_version_block(
    local_name: &str,
    local: &[(String, u32)],
    others: &[(String, Vec<(String, u32)>)],
) -> String {
    fn block(out: &mut String, name: &str, entries: &[(String, u32)]) {
        out.push_str(&format!("\"{name}\": {{\n"));
        let lines: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect();
        out.push_str(&lines.join(",\n"));
        out.push_str("}\n");
    }
    let mut out = String::from("\"kvstore\": {\n");
    block(&mut out, local_name, local);
    for (name, entries) in others {
        out.push_str(",\n");
        block(&mut out, name, entries);
    }
    out.push_str("}\n");
    out
}
