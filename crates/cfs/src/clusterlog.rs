//! The cluster log: entries, the original's message escaping, de-duplication and the
//! `.clusterlog` JSON dump. (The ring-buffer wire format used to merge logs between nodes
//! belongs to replication.)

/// Largest encoded entry, header included.
pub const MAX_ENTRY_SIZE: usize = 4096;
/// Entry header size of the original layout (strings start at offset 44, 4 bytes of padding).
pub const ENTRY_HEADER: usize = 48;
/// Bytes of entries kept (the original ring keeps `131072 - 8 - 4096`).
const CAPACITY: usize = 131_072 - 8 - MAX_ENTRY_SIZE;
/// Entries in the `.clusterlog` dump.
pub const DUMP_ENTRIES: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub uid: u32,
    pub time: u32,
    pub priority: u8,
    pub pid: u32,
    pub node: String,
    pub ident: String,
    pub tag: String,
    /// Already escaped (JSON- and syslog-safe ASCII).
    pub msg: String,
}

impl Entry {
    /// Size of the entry in the original binary layout (strings with their NULs).
    pub fn encoded_size(&self) -> usize {
        ENTRY_HEADER + self.node.len() + self.ident.len() + self.tag.len() + self.msg.len() + 4
    }

    pub fn node_digest(&self) -> u64 {
        fnv1a64_with_nul(self.node.as_bytes())
    }
}

/// FNV-1a 64 of `bytes` followed by a NUL (how the original digests node and ident names).
pub fn fnv1a64_with_nul(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes.iter().chain(std::iter::once(&0)) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Converts a message to the log's ASCII form, stopping before `limit` bytes (an escape is
/// never split).
pub fn escape_message(msg: &[u8], limit: usize) -> String {
    let mut out = String::new();
    let push = |piece: &str, out: &mut String| {
        if out.len() + piece.len() > limit {
            return false;
        }
        out.push_str(piece);
        true
    };
    match std::str::from_utf8(msg) {
        Ok(text) => {
            for c in text.chars() {
                let cp = c as u32;
                let piece = match cp {
                    0x22 => "\\\"".to_string(),
                    0..=31 | 127 => format!("#{cp:03}"),
                    32..=126 => c.to_string(),
                    128..=0xffff => format!("\\u{cp:04x}"),
                    _ => continue,
                };
                if !push(&piece, &mut out) {
                    break;
                }
            }
        }
        Err(_) => {
            for &b in msg {
                let piece = match b {
                    b'"' => "\\\"".to_string(),
                    0..=31 => format!("#0{b:02}"),
                    32..=126 => (b as char).to_string(),
                    _ => "?".to_string(),
                };
                if !push(&piece, &mut out) {
                    break;
                }
            }
        }
    }
    out
}

/// Who logs: node, user (ident), program tag and process id.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub node: &'a str,
    pub ident: &'a str,
    pub tag: &'a str,
    pub pid: u32,
}

/// A node-local cluster log, newest entry last.
#[derive(Debug, Default)]
pub struct ClusterLog {
    entries: Vec<Entry>,
    bytes: usize,
    next_uid: u32,
    /// Per node digest: newest (time, uid) accepted.
    newest: std::collections::HashMap<u64, (u32, u32)>,
}

impl ClusterLog {
    /// Logs a message originating on this node (the original's `clog_pack` + insert).
    pub fn log(&mut self, source: &Source, time: u32, priority: u8, msg: &str) {
        if priority >= 8 {
            return;
        }
        let fixed = ENTRY_HEADER
            + source.node.len()
            + 1
            + source.ident.len()
            + 1
            + source.tag.len()
            + 1
            + 4;
        let limit = MAX_ENTRY_SIZE.saturating_sub(fixed + 1);
        self.next_uid += 1;
        let entry = Entry {
            uid: self.next_uid,
            time,
            priority,
            pid: source.pid,
            node: source.node.to_string(),
            ident: source.ident.to_string(),
            tag: source.tag.to_string(),
            msg: escape_message(msg.as_bytes(), limit),
        };
        self.insert(entry);
    }

    /// Inserts an entry unless an entry of the same node with a later or equal (time, uid)
    /// was already accepted. Returns whether it was inserted.
    pub fn insert(&mut self, entry: Entry) -> bool {
        let key = entry.node_digest();
        if let Some(&(time, uid)) = self.newest.get(&key) {
            if (entry.time, entry.uid) <= (time, uid) {
                return false;
            }
        }
        self.newest.insert(key, (entry.time, entry.uid));
        self.bytes += entry.encoded_size();
        self.entries.push(entry);
        while self.bytes > CAPACITY && !self.entries.is_empty() {
            let old = self.entries.remove(0);
            self.bytes -= old.encoded_size();
        }
        true
    }

    /// The `.clusterlog` JSON: newest first, at most `max` entries.
    pub fn dump_json(&self, max: usize) -> String {
        let lines: Vec<String> = self
            .entries
            .iter()
            .rev()
            .take(max)
            .map(|e| {
                format!(
                    "{{\"uid\": {}, \"time\": {}, \"pri\": {}, \"tag\": \"{}\", \"pid\": {}, \"node\": \"{}\", \"user\": \"{}\", \"msg\": \"{}\"}}",
                    e.uid, e.time, e.priority, e.tag, e.pid, e.node, e.ident, e.msg
                )
            })
            .collect();
        let mut out = String::from("{\n\"data\": [\n");
        if !lines.is_empty() {
            out.push_str(&lines.join(",\n"));
            out.push('\n');
        }
        out.push_str("]\n}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src<'a>(node: &'a str, ident: &'a str, tag: &'a str, pid: u32) -> Source<'a> {
        Source {
            node,
            ident,
            tag,
            pid,
        }
    }

    #[test]
    fn escaping_follows_the_original_rules() {
        assert_eq!(
            escape_message(b"a \"b\"\nc\x7f", 100),
            "a \\\"b\\\"#010c#127"
        );
        assert_eq!(
            escape_message("grüß €".as_bytes(), 100),
            "gr\\u00fc\\u00df \\u20ac"
        );
        assert_eq!(escape_message("x😀y".as_bytes(), 100), "xy");
        assert_eq!(escape_message(b"a\xff\"\x01", 100), "a?\\\"#001");
        // An escape sequence is never cut in half.
        assert_eq!(escape_message(b"ab\n", 4), "ab");
    }

    #[test]
    fn fnv_includes_the_terminating_nul() {
        // FNV-1a 64 of the single byte 0 (the same algorithm gives the published af63dc4c8601ec8c
        // for "a").
        assert_eq!(fnv1a64_with_nul(b""), 0xaf63_bd4c_8601_b7df);
    }

    #[test]
    fn dump_is_newest_first_in_the_exact_layout() {
        let mut log = ClusterLog::default();
        assert_eq!(log.dump_json(50), "{\n\"data\": [\n]\n}\n");
        let start = src("node1", "root", "cluster", 10);
        log.log(&start, 1000, 6, "starting cluster log");
        log.log(&src("node1", "root@pam", "pvecm", 11), 1001, 5, "second");
        assert_eq!(
            log.dump_json(50),
            "{\n\"data\": [\n\
             {\"uid\": 2, \"time\": 1001, \"pri\": 5, \"tag\": \"pvecm\", \"pid\": 11, \"node\": \"node1\", \"user\": \"root@pam\", \"msg\": \"second\"},\n\
             {\"uid\": 1, \"time\": 1000, \"pri\": 6, \"tag\": \"cluster\", \"pid\": 10, \"node\": \"node1\", \"user\": \"root\", \"msg\": \"starting cluster log\"}\n\
             ]\n}\n"
        );
        assert_eq!(log.dump_json(1).matches("uid").count(), 1);
    }

    #[test]
    fn duplicates_and_bad_priorities_are_dropped_and_size_is_bounded() {
        let mut log = ClusterLog::default();
        log.log(&src("n", "u", "t", 1), 100, 8, "never");
        assert_eq!(log.dump_json(50).matches("uid").count(), 0);
        let e = Entry {
            uid: 5,
            time: 100,
            priority: 6,
            pid: 1,
            node: "n2".into(),
            ident: "u".into(),
            tag: "t".into(),
            msg: "m".into(),
        };
        assert!(log.insert(e.clone()));
        assert!(!log.insert(e));
        let long = "x".repeat(10_000);
        log.log(&src("n", "u", "t", 1), 101, 6, &long);
        assert!(log.entries.last().unwrap().encoded_size() <= MAX_ENTRY_SIZE);
        for i in 0..200 {
            log.log(&src("n", "u", "t", 1), 200 + i, 6, &long);
        }
        assert!(log.bytes <= CAPACITY);
    }
}
