//! Value, name and line rules.

use super::*;

#[test]
fn integers_outside_their_range() {
    assert_eq!(
        only(|c| c.set_totem("token", "3s")),
        "value of key \"totem.token\" is expected to be integer in range (0..4294967295), but \"3s\" was given: write a decimal number in that range"
    );
    assert_eq!(
        only(|c| c.set(&["quorum"], "two_node", "yes")),
        "value of key \"quorum.two_node\" is expected to be integer in range (0..255), but \"yes\" was given: write a decimal number in that range"
    );
    assert_eq!(
        from_text(&BASE.replace("quorum_votes: 1\n    ring0_addr: 10.0.0.2", "quorum_votes: -1\n    ring0_addr: 10.0.0.2")),
        "value of key \"nodelist.node.1.quorum_votes\" is expected to be integer in range (0..4294967295), but \"-1\" was given: write a decimal number in that range"
    );
    assert_eq!(
        from_text(&BASE.replace("    linknumber: 0\n", "    linknumber: 0\n    knet_link_priority: 256\n")),
        "value of key \"totem.interface.knet_link_priority\" is expected to be integer in range (0..255), but \"256\" was given: write a decimal number in that range"
    );
}

#[test]
fn config_version_must_be_a_number() {
    assert_eq!(
        only(|c| c.set_totem("config_version", "v3")),
        "value of key \"totem.config_version\" is expected to be unsigned integer, but \"v3\" was given: write a decimal number"
    );
}

#[test]
fn enumerations() {
    assert_eq!(
        only(|c| c.set_totem("ip_version", "ipv5")),
        "totem.ip_version is 'ipv5': use one of ipv4, ipv6, ipv4-6, ipv6-4"
    );
    // corosync treats anything but "on" as off, hence the second problem.
    let mut c = base();
    c.set_totem("secauth", "yes");
    assert_eq!(
        messages(&c),
        vec![
            "totem sets neither 'secauth: on' nor a crypto_cipher: cluster traffic is neither authenticated nor encrypted; set 'secauth: on'",
            "totem.secauth is 'yes': use one of on, off",
        ]
    );
    assert_eq!(
        only(|c| c.set_totem("transport", "tcp")),
        "totem.transport is 'tcp': use one of knet, udpu, udp"
    );
    assert_eq!(
        only(|c| c.set(&["logging"], "debug", "yes")),
        "logging.debug is 'yes': use one of on, off, trace"
    );
}

#[test]
fn unwritable_values() {
    assert_eq!(
        only(|c| c.set(&["logging"], "logfile", "/var/log/{x}")),
        "logging.logfile has a value corosync cannot read back (it contains '{', which starts a section): change the value"
    );
    assert_eq!(
        only(|c| c.set(&["logging"], "logfile", " /x")),
        "logging.logfile has a value corosync cannot read back (it starts or ends with a blank, which corosync trims): change the value"
    );
}

#[test]
fn invalid_names() {
    assert_eq!(
        only(|c| c.set(&["logging"], "to@file", "x")),
        "name 'to@file' in logging cannot be stored by corosync (only letters, digits and . _ / : - are allowed): rename it"
    );
    assert_eq!(
        from_text(&format!("{BASE}:x\n")),
        "name '' in the top level cannot be stored by corosync (it is empty (corosync 3.1.10 and later refuse empty key names)): rename it"
    );
    assert_eq!(
        from_text(&format!("{BASE}: x\n")),
        "name ':' in the top level cannot be stored by corosync (cmap key names are at least 3 bytes long): rename it"
    );
    assert_eq!(
        only(|c| c.set(&["logging"], "a:b", "x")),
        "name 'a:b' in logging cannot be stored by corosync (a ':' in a key name would end the key when read back): rename it"
    );
}

#[test]
fn line_too_long() {
    let long = "x".repeat(600);
    assert_eq!(
        only(|c| c.set(&["logging"], "logfile", &long)),
        "line 3 is 611 bytes long: corosync reads at most 510 bytes per line (\"Line too long\"); shorten it"
    );
}

#[test]
fn nul_byte() {
    let m = messages(&Config::parse(&format!("{BASE}# a\0b\n")).unwrap());
    assert_eq!(
        m,
        vec!["line 37 contains a NUL byte: corosync cannot read past it; remove it"]
    );
}
