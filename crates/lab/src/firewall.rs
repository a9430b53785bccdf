//! Link cuts: nftables rules inside one node's network namespace.

use std::net::Ipv4Addr;

/// The table every cut lives in; `heal` deletes it.
pub const TABLE: &str = "quorate_lab";

/// An nft script that drops all traffic to and from `peers` (appending to earlier cuts).
pub fn cut_script(peers: &[Ipv4Addr]) -> String {
    let mut script = format!(
        "add table inet {TABLE}\n\
         add chain inet {TABLE} input {{ type filter hook input priority 0; policy accept; }}\n\
         add chain inet {TABLE} output {{ type filter hook output priority 0; policy accept; }}\n"
    );
    for peer in peers {
        script.push_str(&format!(
            "add rule inet {TABLE} input ip saddr {peer} drop\n"
        ));
        script.push_str(&format!(
            "add rule inet {TABLE} output ip daddr {peer} drop\n"
        ));
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_script_drops_both_directions_for_each_peer() {
        let script = cut_script(&["10.99.0.1".parse().unwrap(), "10.99.1.1".parse().unwrap()]);
        assert_eq!(
            script,
            "add table inet quorate_lab\n\
             add chain inet quorate_lab input { type filter hook input priority 0; policy accept; }\n\
             add chain inet quorate_lab output { type filter hook output priority 0; policy accept; }\n\
             add rule inet quorate_lab input ip saddr 10.99.0.1 drop\n\
             add rule inet quorate_lab output ip daddr 10.99.0.1 drop\n\
             add rule inet quorate_lab input ip saddr 10.99.1.1 drop\n\
             add rule inet quorate_lab output ip daddr 10.99.1.1 drop\n"
        );
    }
}
