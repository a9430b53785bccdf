//! [`Problem`]: one thing wrong with a configuration, worded as "what is wrong: how to fix it".

/// A problem found by [`crate::Config::validate`]. `Display` names the problem and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    // --- structure -----------------------------------------------------------------------
    #[error("no totem section: add 'totem {{ version: 2  cluster_name: <name>  config_version: 1 ... }}'")]
    NoTotem,
    #[error("no nodes found: add a 'nodelist' section with one 'node {{ ... }}' entry per cluster member")]
    NoNodes,
    #[error("totem has no cluster_name: add 'cluster_name: <name>' to the totem section")]
    NoClusterName,
    #[error("invalid cluster name '{name}': {reason}; use at most 15 letters, digits or '-'")]
    InvalidClusterName { name: String, reason: &'static str },
    #[error(
        "totem.version is {found}: corosync only reads version 2 configurations; set 'version: 2'"
    )]
    BadTotemVersion { found: String },
    #[error("totem.config_version is missing or 0: pmxcfs ignores such a file; set 'config_version: 1' or higher")]
    NoConfigVersion,
    #[error("config_version {new} is not greater than the current {old}: increase totem.config_version (to {old} + 1)")]
    ConfigVersionNotIncreased { old: u64, new: u64 },
    #[error("quorum.provider is not set: add 'provider: corosync_votequorum' to the quorum section, or the cluster never enforces quorum")]
    NoQuorumProvider,
    #[error("totem sets neither 'secauth: on' nor a crypto_cipher: cluster traffic is neither authenticated nor encrypted; set 'secauth: on'")]
    NoEncryption,
    #[error("crypto_cipher '{cipher}' is used with crypto_hash none: corosync refuses a cipher without a hash; set 'crypto_hash: sha256'")]
    CipherWithoutHash { cipher: String },

    // --- nodes ---------------------------------------------------------------------------
    #[error(
        "node '{node}' has no nodeid: knet requires one for every node; add 'nodeid: <1..65535>'"
    )]
    MissingNodeId { node: String },
    #[error("node '{node}' has nodeid {nodeid}: knet node ids go from 1 to 65535; pick a free id in that range")]
    InvalidNodeId { node: String, nodeid: u32 },
    #[error("nodeid {nodeid} is used by node '{first}' and node '{second}': give every node its own nodeid")]
    DuplicateNodeId {
        nodeid: u32,
        first: String,
        second: String,
    },
    #[error(
        "node name '{name}' appears more than once: remove or rename the duplicate node entry"
    )]
    DuplicateNodeName { name: String },
    #[error("invalid node name '{name}': use the short host name (letters, digits and '-', starting and ending with a letter or digit)")]
    InvalidNodeName { name: String },
    #[error("node '{node}' has no address: add 'ring0_addr: <IP or host name>'")]
    NodeWithoutAddress { node: String },

    // --- links ---------------------------------------------------------------------------
    #[error("node '{node}' has no address for link {link} (interface {link} is configured): add ring{link}_addr or remove the link")]
    MissingLinkAddress { node: String, link: u8 },
    #[error("node '{node}' has an address for link {link}, but no interface for link {link} is configured: add 'interface {{ linknumber: {link} }}' to totem or remove the node's ring{link}_addr")]
    AddressWithoutInterface { node: String, link: u8 },
    #[error("node '{node}' is missing link {link}, which other nodes have: add ring{link}_addr to it or remove the link from the other nodes")]
    LinkMissingOnNode { node: String, link: u8 },
    #[error("node '{node}' has an address for link {link}: corosync supports links 0 to 7 only; remove its ring{link}_addr")]
    NodeLinkOutOfRange { node: String, link: u8 },
    #[error("an interface has linknumber {link}: corosync supports links 0 to 7 only; renumber or remove it")]
    InterfaceLinkOutOfRange { link: u8 },
    #[error("link {link} is configured by more than one interface section: corosync merges them; remove or renumber the duplicate")]
    DuplicateInterface { link: u8 },
    #[error("an interface has 'ringnumber: {ringnumber}' without linknumber: corosync 3 ignores ringnumber and configures link 0; replace it with 'linknumber: {ringnumber}'")]
    RingnumberIgnored { ringnumber: String },
    #[error("link {link} mixes IPv4 and IPv6 addresses (node '{v4_node}' has IPv4, node '{v6_node}' IPv6): use one address family per link")]
    MixedIpVersions {
        link: u8,
        v4_node: String,
        v6_node: String,
    },

    // --- values and text -----------------------------------------------------------------
    #[error("value of key \"{key}\" is expected to be integer in range ({min}..{max}), but \"{value}\" was given: write a decimal number in that range")]
    InvalidInteger {
        key: String,
        value: String,
        min: i64,
        max: i64,
    },
    #[error("value of key \"{key}\" is expected to be unsigned integer, but \"{value}\" was given: write a decimal number")]
    InvalidUnsigned { key: String, value: String },
    #[error("{key} is '{value}': use one of {allowed}")]
    InvalidChoice {
        key: String,
        value: String,
        allowed: String,
    },
    #[error("{key} has a value corosync cannot read back ({reason}): change the value")]
    UnwritableValue { key: String, reason: &'static str },
    #[error("name '{name}' in {path} cannot be stored by corosync ({reason}): rename it")]
    InvalidName {
        path: String,
        name: String,
        reason: &'static str,
    },
    #[error("line {line} contains a NUL byte: corosync cannot read past it; remove it")]
    NulByte { line: usize },
    #[error("line {line} is {length} bytes long: corosync reads at most 510 bytes per line (\"Line too long\"); shorten it")]
    LineTooLong { line: usize, length: usize },

    // --- quorum and quorum device ----------------------------------------------------------
    #[error("quorum.{option} cannot be used together with a quorum device: remove {option} (or the device)")]
    DeviceIncompatible { option: &'static str },
    #[error("quorum.expected_votes is set but quorum.device.votes is not: corosync cannot tell the device's votes; set quorum.device.votes or remove expected_votes")]
    DeviceVotesNeededForExpectedVotes,
    #[error("nodes have different quorum_votes and quorum.device.votes is not set: corosync cannot compute the device's votes; set quorum.device.votes")]
    DeviceVotesNeededForUnequalVotes,
    #[error("quorum.device.votes ({votes}) is too high for expected_votes ({expected}): expected_votes minus device votes must be at least 2")]
    DeviceVotesTooHigh { expected: u32, votes: u32 },
    #[error("quorum.device has no model, so corosync ignores the device: add 'model: net' or remove the device section")]
    DeviceModelMissing,
    #[error("quorum.device.model is '{model}': the only model is 'net'")]
    DeviceModelUnknown { model: String },
    #[error("quorum.device.net.host is not set: add the address of the QNetd server")]
    NetHostMissing,
    #[error("quorum.device.net.algorithm is '{value}': use ffsplit (even node count) or lms (odd node count)")]
    InvalidAlgorithm { value: String },
    #[error("quorum.device.net.algorithm 'test' is for development only and refused unless corosync-qdevice runs with -S net_test_algorithm_enabled=on: use ffsplit or lms")]
    TestAlgorithm,
    #[error("quorum.device.net.algorithm 2nodelms needs exactly 2 nodes, but {nodes} are configured: use lms")]
    TwoNodeLmsNodeCount { nodes: usize },
    #[error("algorithm ffsplit needs 'quorum.device.votes: 1' but it is {found}: set votes to 1 or use lms")]
    FfsplitDeviceVotes { found: String },
    #[error("algorithm ffsplit needs every node to have 1 vote, but node '{node}' has {votes}: set its quorum_votes to 1 or use lms")]
    FfsplitNodeVotes { node: String, votes: u32 },
    #[error("quorum.device.net.tls is '{value}': use on, off or required")]
    InvalidTls { value: String },
    #[error("quorum.device.net.port is '{value}': use a port number from 1 to 65535")]
    InvalidNetPort { value: String },
    #[error("quorum.device.net.tie_breaker is '{value}': use lowest, highest or a node id")]
    InvalidTieBreaker { value: String },
    #[error("auto_tie_breaker and last_man_standing are both set in a cluster with an odd number of votes and no wait_for_all: corosync refuses to start; set 'wait_for_all: 1' or drop last_man_standing")]
    AtbLmsOddCluster,
}
