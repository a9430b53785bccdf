//! Creating a configuration the way Proxmox's `create_conf` does, and bumping
//! `config_version`.

use crate::ast::{Entry, Section};
use crate::edit::EditError;
use crate::Config;

/// What a new cluster looks like (Proxmox's "create cluster" parameters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterSpec {
    /// Cluster name (at most 15 letters, digits or `-`).
    pub cluster_name: String,
    /// The knet links, one `totem.interface` each.
    pub links: Vec<LinkSpec>,
    /// `totem.token_coefficient` (Proxmox's API default is 125); `None` leaves it out.
    pub token_coefficient: Option<u32>,
}

/// One knet link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkSpec {
    /// Link number, 0 to 7.
    pub number: u8,
    /// `knet_link_priority`; written only when non-zero, like Proxmox.
    pub priority: Option<u8>,
}

impl LinkSpec {
    /// The `interface { ... }` section for this link.
    pub(crate) fn interface(&self) -> Section {
        let mut s = Section::new("interface");
        if let Some(p) = self.priority.filter(|p| *p != 0) {
            s.push_value("knet_link_priority", p.to_string());
        }
        s.push_value("linknumber", self.number.to_string());
        s
    }
}

impl Config {
    /// The configuration Proxmox's `create_conf` writes, without any node: logging to syslog
    /// without debug, votequorum, and a knet totem with `config_version: 0` (bumped to 1 by
    /// the first write, see [`Config::bump_config_version`]).
    pub fn create(spec: &ClusterSpec) -> Config {
        let mut logging = Section::new("logging");
        logging.push_value("debug", "off");
        logging.push_value("to_syslog", "yes");

        let mut quorum = Section::new("quorum");
        quorum.push_value("provider", "corosync_votequorum");

        let mut totem = Section::new("totem");
        totem.push_value("cluster_name", spec.cluster_name.clone());
        totem.push_value("config_version", "0");
        for link in &spec.links {
            totem.push_section(link.interface());
        }
        totem.push_value("ip_version", "ipv4-6");
        totem.push_value("link_mode", "passive");
        totem.push_value("secauth", "on");
        if let Some(tc) = spec.token_coefficient {
            totem.push_value("token_coefficient", tc.to_string());
        }
        totem.push_value("version", "2");

        let mut root = Section::new("");
        root.entries = vec![
            Entry::section(logging),
            Entry::section(quorum),
            Entry::section(totem),
        ];
        Config::from_root(root)
    }

    /// Increments `totem.config_version` and returns the new value, as Proxmox does before
    /// every write of the cluster configuration.
    pub fn bump_config_version(&mut self) -> Result<u64, EditError> {
        let raw = self
            .get(&["totem"], "config_version")
            .ok_or(EditError::NoConfigVersion)?;
        let current =
            crate::cnum::parse_u64(raw).ok_or_else(|| EditError::InvalidConfigVersion {
                value: raw.to_string(),
            })?;
        let next = current
            .checked_add(1)
            .ok_or(EditError::ConfigVersionOverflow { value: current })?;
        self.set(&["totem"], "config_version", &next.to_string());
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeSpec;

    /// The example in pve-cluster-facts §8.2, byte for byte.
    const PVE_EXAMPLE: &str = "logging {
  debug: off
  to_syslog: yes
}

nodelist {
  node {
    name: pve1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.0.0.1
  }
}

quorum {
  provider: corosync_votequorum
}

totem {
  cluster_name: demo
  config_version: 1
  interface {
    linknumber: 0
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  token_coefficient: 125
  version: 2
}

";

    #[test]
    fn reproduces_the_pve_example() {
        let mut conf = Config::create(&ClusterSpec {
            cluster_name: "demo".into(),
            links: vec![LinkSpec {
                number: 0,
                priority: None,
            }],
            token_coefficient: Some(125),
        });
        conf.add_node(&NodeSpec {
            name: "pve1".into(),
            nodeid: 1,
            quorum_votes: 1,
            addrs: [(0u8, "10.0.0.1".to_string())].into(),
        })
        .unwrap();
        assert_eq!(conf.bump_config_version().unwrap(), 1);
        assert_eq!(conf.to_text(), PVE_EXAMPLE);
        assert_eq!(conf.to_canonical_text(), PVE_EXAMPLE);
        assert!(conf.validate().is_empty(), "{:?}", conf.validate());
    }

    #[test]
    fn priorities_only_when_non_zero() {
        let conf = Config::create(&ClusterSpec {
            cluster_name: "c".into(),
            links: vec![
                LinkSpec {
                    number: 0,
                    priority: Some(0),
                },
                LinkSpec {
                    number: 1,
                    priority: Some(20),
                },
            ],
            token_coefficient: None,
        });
        let text = conf.to_text();
        assert_eq!(text.matches("knet_link_priority").count(), 1);
        assert!(text.contains("    knet_link_priority: 20\n    linknumber: 1\n"));
        assert!(!text.contains("token_coefficient"));
        assert!(conf.is_modified());
        assert_eq!(conf.original_text(), None);
    }

    #[test]
    fn bump_errors() {
        let mut c = Config::parse("totem {\nversion: 2\n}\n").unwrap();
        let e = c.bump_config_version().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid corosync config: unable to read config version"
        );
        assert!(!c.is_modified());
        let mut c = Config::parse("totem {\nconfig_version: x\n}\n").unwrap();
        assert!(matches!(
            c.bump_config_version(),
            Err(EditError::InvalidConfigVersion { .. })
        ));
        let mut c = Config::parse("totem {\nconfig_version: 18446744073709551615\n}\n").unwrap();
        assert!(matches!(
            c.bump_config_version(),
            Err(EditError::ConfigVersionOverflow { .. })
        ));
        let mut c = Config::parse("totem {\nconfig_version: 41\n}\ntotem {\n}\n").unwrap();
        assert_eq!(c.bump_config_version().unwrap(), 42);
        assert_eq!(
            c.to_text(),
            "totem {\n  config_version: 42\n}\n\ntotem {\n}\n\n"
        );
    }
}
