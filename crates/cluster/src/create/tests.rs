use std::cell::RefCell;
use std::path::Path;

use super::*;
use crate::links::parse_links;

const PVE_EXAMPLE: &str = "logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n  node {\n    name: pve1\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.0.0.1\n  }\n}\n\nquorum {\n  provider: corosync_votequorum\n}\n\ntotem {\n  cluster_name: demo\n  config_version: 1\n  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  token_coefficient: 125\n  version: 2\n}\n\n";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn default_and_explicit_link0_give_the_canonical_example() {
    let params = CreateParams::new("demo");
    let text = build_config("pve1", ip("10.0.0.1"), &params)
        .unwrap()
        .to_text();
    assert_eq!(text, PVE_EXAMPLE);
    let mut params = CreateParams::new("demo");
    params.links = parse_links([(0, "10.0.0.1")]).unwrap();
    let text = build_config("pve1", ip("192.0.2.1"), &params)
        .unwrap()
        .to_text();
    assert_eq!(text, PVE_EXAMPLE);
}

#[test]
fn links_priorities_ids_and_votes() {
    let mut params = CreateParams::new("prod");
    params.links =
        parse_links([(1, "10.20.20.1,priority=20"), (0, "10.10.10.1,priority=15")]).unwrap();
    params.nodeid = 4;
    params.votes = 2;
    params.token_coefficient = Some(0);
    let text = build_config("hp1", ip("10.0.0.9"), &params)
        .unwrap()
        .to_text();
    assert!(text.contains(
        "    nodeid: 4\n    quorum_votes: 2\n    ring0_addr: 10.10.10.1\n    ring1_addr: 10.20.20.1\n"
    ), "{text}");
    assert!(text.contains(
        "  interface {\n    knet_link_priority: 15\n    linknumber: 0\n  }\n  interface {\n    knet_link_priority: 20\n    linknumber: 1\n  }\n"
    ), "{text}");
    assert!(text.contains("token_coefficient: 0\n"));
    assert!(!text.contains("10.0.0.9"));
    // priority 0 is not written
    params.links = parse_links([(0, "10.10.10.1,priority=0")]).unwrap();
    let text = build_config("hp1", ip("10.0.0.9"), &params)
        .unwrap()
        .to_text();
    assert!(!text.contains("knet_link_priority"));
}

#[test]
fn name_and_number_errors() {
    for bad in ["sixteen-chars-xx", "demo.lan", "-demo", ""] {
        let e = build_config("pve1", ip("10.0.0.1"), &CreateParams::new(bad)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("invalid cluster name '{bad}'")),
            "{e}"
        );
    }
    assert!(build_config(
        "pve1",
        ip("10.0.0.1"),
        &CreateParams::new("fifteen-chars-x")
    )
    .is_ok());
    let mut p = CreateParams::new("demo");
    p.nodeid = 0;
    assert!(build_config("pve1", ip("10.0.0.1"), &p).is_err());
    let mut p = CreateParams::new("demo");
    p.votes = 0;
    assert!(build_config("pve1", ip("10.0.0.1"), &p).is_err());
    assert!(build_config("pve1.lan", ip("10.0.0.1"), &CreateParams::new("demo")).is_err());
}

/// Records service actions; quorate as configured.
struct FakeServices {
    log: RefCell<Vec<String>>,
    quorate: bool,
    fail_on: Option<Service>,
}

impl Services for FakeServices {
    fn run(&self, action: Action, service: Service) -> Result<()> {
        self.log
            .borrow_mut()
            .push(format!("{action:?} {}", service.name()));
        if self.fail_on == Some(service) && action != Action::Stop {
            return Err(Error::Invalid(format!(
                "{} failed to start",
                service.name()
            )));
        }
        Ok(())
    }
    fn quorate(&self) -> bool {
        self.quorate
    }
}

fn env(root: &Path) -> CreateEnv {
    let ssh = SshPaths::under(root);
    std::fs::create_dir_all(ssh.pve.root()).unwrap();
    std::os::unix::fs::symlink("nodes/pve1", ssh.pve.root().join("local")).unwrap();
    std::fs::create_dir_all(root.join("etc/ssh")).unwrap();
    std::fs::write(&ssh.sshd_config, "PermitRootLogin yes\n").unwrap();
    std::fs::write(
        &ssh.host_rsa_pub,
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 root@pve1\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("root/.ssh")).unwrap();
    std::fs::write(
        root.join("root/.ssh/id_rsa.pub"),
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQD8 root@pve1\n",
    )
    .unwrap();
    CreateEnv {
        ssh,
        corosync_dir: root.join("etc/corosync"),
        lock: root.join("run/lock/pvecm.lock"),
        resolv_conf: root.join("etc/resolv.conf"),
        quorum_timeout: Duration::from_millis(300),
    }
}

#[test]
fn create_writes_everything_and_refuses_twice() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let svc = FakeServices {
        log: RefCell::default(),
        quorate: true,
        fail_on: None,
    };
    let mut lines = Vec::new();
    create(
        &env,
        &svc,
        "pve1",
        ip("10.0.0.1"),
        &CreateParams::new("demo"),
        &mut |l| lines.push(l.to_string()),
    )
    .unwrap();
    assert_eq!(
        lines.last().unwrap(),
        "Restart corosync and cluster filesystem"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("Writing corosync config to ")));
    assert_eq!(*svc.log.borrow(), ["Restart pmxcfs", "Restart corosync"]);
    let pve_conf = std::fs::read_to_string(env.pve_conf()).unwrap();
    assert_eq!(pve_conf, PVE_EXAMPLE);
    assert_eq!(
        std::fs::read_to_string(env.corosync_dir.join("corosync.conf")).unwrap(),
        pve_conf
    );
    assert_eq!(
        std::fs::metadata(env.corosync_dir.join("authkey"))
            .unwrap()
            .len(),
        256
    );
    assert!(env.ssh.pve.ca_cert().exists());
    assert!(env.ssh.pve.node_cert("pve1").exists());
    assert!(env.ssh.pve.authorized_keys().exists());
    assert!(!env.ssh.pve.root().join("corosync.conf.new").exists());

    let e = create(
        &env,
        &svc,
        "pve1",
        ip("10.0.0.1"),
        &CreateParams::new("x"),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cluster config '{}' already exists",
            env.pve_conf().display()
        )
    );
    assert_eq!(std::fs::read_to_string(env.pve_conf()).unwrap(), pve_conf);
}

#[test]
fn failure_after_the_restart_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    let local_conf = env.corosync_dir.join("corosync.conf");
    std::fs::create_dir_all(&env.corosync_dir).unwrap();
    std::fs::write(&local_conf, "old").unwrap();
    let svc = FakeServices {
        log: RefCell::default(),
        quorate: false,
        fail_on: None,
    };
    let mut lines = Vec::new();
    let e = create(
        &env,
        &svc,
        "pve1",
        ip("10.0.0.1"),
        &CreateParams::new("demo"),
        &mut |l| lines.push(l.to_string()),
    )
    .unwrap_err();
    assert!(e.to_string().contains("did not become quorate"), "{e}");
    assert!(
        e.to_string()
            .ends_with("(rolled back to the previous state)"),
        "{e}"
    );
    assert!(!env.pve_conf().exists());
    assert!(!env.corosync_dir.join("authkey").exists());
    assert_eq!(std::fs::read_to_string(&local_conf).unwrap(), "old");
    assert_eq!(
        *svc.log.borrow(),
        [
            "Restart pmxcfs",
            "Restart corosync",
            "Stop corosync",
            "Restart pmxcfs"
        ]
    );
    assert!(
        lines.iter().any(|l| l == "rollback: stop corosync"),
        "{lines:?}"
    );
}

#[test]
fn an_existing_authkey_is_reused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let env = env(dir.path());
    std::fs::create_dir_all(&env.corosync_dir).unwrap();
    std::fs::write(env.corosync_dir.join("authkey"), "k").unwrap();
    let svc = FakeServices {
        log: RefCell::default(),
        quorate: true,
        fail_on: Some(Service::Corosync),
    };
    let e = create(
        &env,
        &svc,
        "pve1",
        ip("10.0.0.1"),
        &CreateParams::new("demo"),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("corosync failed to start"), "{e}");
    assert_eq!(
        std::fs::read_to_string(env.corosync_dir.join("authkey")).unwrap(),
        "k"
    );
    assert!(!env.corosync_dir.join("corosync.conf").exists());
    assert!(!env.pve_conf().exists());
}
