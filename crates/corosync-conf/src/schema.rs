//! Which keys corosync (and its tools) read as typed values, and which values they accept.
//!
//! Paths are the section names from the top (`["totem", "interface"]`); like corosync, a key
//! is typed only at its exact path.

/// The accepted form of a typed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    /// Decimal integer within the inclusive range.
    Int { min: i64, max: i64 },
    /// Unsigned 64-bit, read with `strtoull`.
    U64,
    /// One of these exact strings.
    Choice(&'static [&'static str]),
}

const U8: ValueType = ValueType::Int { min: 0, max: 255 };
const U16: ValueType = ValueType::Int { min: 0, max: 65535 };
const U32: ValueType = ValueType::Int {
    min: 0,
    max: u32::MAX as i64,
};
const I32: ValueType = ValueType::Int {
    min: i32::MIN as i64,
    max: i32::MAX as i64,
};

const TOTEM_U32: &[&str] = &[
    "version",
    "nodeid",
    "threads",
    "token",
    "token_coefficient",
    "token_retransmit",
    "token_warning",
    "hold",
    "token_retransmits_before_loss_const",
    "join",
    "send_join",
    "consensus",
    "merge",
    "downcheck",
    "fail_recv_const",
    "seqno_unchanged_const",
    "rrp_token_expired_timeout",
    "rrp_problem_count_timeout",
    "rrp_problem_count_threshold",
    "rrp_problem_count_mcast_threshold",
    "rrp_autorecovery_check_timeout",
    "heartbeat_failures_allowed",
    "max_network_delay",
    "window_size",
    "max_messages",
    "miss_count_const",
    "knet_pmtud_interval",
    "knet_mtu",
    "knet_compression_threshold",
    "netmtu",
];

const ON_OFF: &[&str] = &["on", "off"];
const YES_NO: &[&str] = &["yes", "no"];
const LOG_MODE: &[&str] = &["yes", "no", "on", "off"];

/// The type corosync gives `key` in the section at `path`, if any.
pub(crate) fn value_type(path: &[&str], key: &str) -> Option<ValueType> {
    let t = match (path, key) {
        (["totem"], k) if TOTEM_U32.contains(&k) => U32,
        (["totem"], "knet_compression_level") => I32,
        (["totem"], "config_version") => ValueType::U64,
        (["totem"], "ip_version") => ValueType::Choice(&["ipv4", "ipv6", "ipv4-6", "ipv6-4"]),
        (["totem"], "crypto_cipher") => ValueType::Choice(&["none", "aes256", "aes192", "aes128"]),
        (["totem"], "crypto_hash") => {
            ValueType::Choice(&["none", "md5", "sha1", "sha256", "sha384", "sha512"])
        }
        (["totem"], "secauth") => ValueType::Choice(ON_OFF),
        (["totem"], "transport") => ValueType::Choice(&["knet", "udpu", "udp"]),
        (["totem"], "link_mode") => ValueType::Choice(&["passive", "active", "rr"]),
        (["totem", "interface"], "linknumber" | "ttl" | "knet_link_priority") => U8,
        (["totem", "interface"], "mcastport") => U16,
        (
            ["totem", "interface"],
            "knet_ping_interval" | "knet_ping_timeout" | "knet_ping_precision" | "knet_pong_count",
        ) => U32,
        (["totem", "interface"], "knet_transport") => ValueType::Choice(&["udp", "sctp"]),
        (
            ["quorum"],
            "expected_votes" | "votes" | "last_man_standing_window" | "leaving_timeout",
        ) => U32,
        (
            ["quorum"],
            "two_node"
            | "expected_votes_tracking"
            | "allow_downscale"
            | "wait_for_all"
            | "auto_tie_breaker"
            | "last_man_standing",
        ) => U8,
        (["quorum"], "provider") => ValueType::Choice(&["corosync_votequorum"]),
        (["quorum", "device"], "timeout" | "sync_timeout" | "votes") => U32,
        (["quorum", "device"], "master_wins") => U8,
        (["nodelist", "node"], "nodeid" | "quorum_votes") => U32,
        (["resources"], "watchdog_timeout") => U32,
        (["system"], "qb_ipc_type") => ValueType::Choice(&["native", "shm", "socket"]),
        (["system"], "sched_rr" | "allow_knet_handle_fallback") => ValueType::Choice(YES_NO),
        (["system"], "move_to_root_cgroup") => ValueType::Choice(&["yes", "no", "auto"]),
        (["logging"] | ["logging", "logger_subsys"], k) => match k {
            "to_syslog" | "to_stderr" | "to_logfile" => ValueType::Choice(LOG_MODE),
            "debug" => ValueType::Choice(&["on", "off", "trace"]),
            "timestamp" => ValueType::Choice(&["on", "off", "hires"]),
            "fileline" | "function_name" | "blackbox" => ValueType::Choice(ON_OFF),
            _ => return None,
        },
        _ => return None,
    };
    Some(t)
}

/// Whether `value` is acceptable for `t`.
pub(crate) fn accepts(t: ValueType, value: &str) -> bool {
    match t {
        ValueType::Int { min, max } => crate::cnum::parse_in_range(value, min, max).is_some(),
        ValueType::U64 => crate::cnum::parse_u64(value).is_some(),
        ValueType::Choice(list) => list.contains(&value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_paths_only() {
        assert_eq!(value_type(&["totem"], "token"), Some(U32));
        assert_eq!(value_type(&["quorum", "device", "net"], "votes"), None);
        assert_eq!(value_type(&["nodelist", "node"], "nodeid"), Some(U32));
        assert_eq!(value_type(&["totem"], "cluster_name"), None);
    }

    #[test]
    fn acceptance() {
        assert!(!accepts(U8, "yes"));
        assert!(accepts(U8, "1"));
        assert!(!accepts(U16, "65536"));
        assert!(accepts(ValueType::U64, "-1"));
        assert!(accepts(I32, "-5"));
        assert!(!accepts(ValueType::Choice(ON_OFF), "yes"));
    }
}
