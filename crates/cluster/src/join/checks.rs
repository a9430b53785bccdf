//! `assert_joinable`: what keeps a node from joining, all problems collected in one list (the
//! caller prints them together and stops unless `--force`).

use std::net::IpAddr;
use std::path::Path;

use serde_json::Value;

use crate::links::Links;
use crate::PveDir;

/// What the local checks look at.
#[derive(Debug, Clone)]
pub struct LocalState<'a> {
    pub pve: &'a PveDir,
    pub corosync_dir: &'a Path,
    pub node: &'a str,
    pub corosync_running: bool,
    /// Addresses configured on this machine's interfaces.
    pub local_addresses: &'a [IpAddr],
}

fn has_guests(pve: &PveDir, node: &str) -> bool {
    ["qemu-server", "lxc"].iter().any(|kind| {
        std::fs::read_dir(pve.node_dir(node).join(kind)).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".conf"))
        })
    })
}

fn check_address(
    what: &str,
    address: &str,
    local: &[IpAddr],
    resolve: &dyn Fn(&str) -> Result<IpAddr, String>,
    errors: &mut Vec<String>,
) {
    let ip = match address.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => match resolve(address) {
            Ok(ip) => ip,
            Err(e) => {
                errors.push(format!("{what}: cannot use '{address}': {e}"));
                return;
            }
        },
    };
    if !local.contains(&ip) {
        errors.push(format!(
            "{what}: cannot use IP '{ip}', not found on local node!"
        ));
    }
}

/// The local half of `assert_joinable`, in the original's order.
pub fn local_errors(
    st: &LocalState<'_>,
    local_ip: IpAddr,
    links: &Links,
    resolve: &dyn Fn(&str) -> Result<IpAddr, String>,
) -> Vec<String> {
    let mut errors = Vec::new();
    let authkey = st.corosync_dir.join("authkey");
    if authkey.exists() {
        errors.push(format!(
            "authentication key '{}' already exists",
            authkey.display()
        ));
    }
    if st.pve.corosync_conf().exists() {
        errors.push(format!(
            "cluster config '{}' already exists",
            st.pve.corosync_conf().display()
        ));
    }
    if has_guests(st.pve, st.node) {
        errors.push("this host already contains virtual guests".into());
    }
    if st.corosync_running {
        errors.push("corosync is already running, is this node already in a cluster?!".into());
    }
    check_address(
        "local node address",
        &local_ip.to_string(),
        st.local_addresses,
        resolve,
        &mut errors,
    );
    for (n, link) in links {
        check_address(
            &format!("link{n}"),
            &link.address,
            st.local_addresses,
            resolve,
            &mut errors,
        );
    }
    errors
}

/// The remote half: this node's name or requested node id already in the cluster, from the
/// member's `GET /cluster/config/join` answer.
pub fn remote_errors(join_info: &Value, node: &str, nodeid: Option<u32>) -> Vec<String> {
    let mut errors = Vec::new();
    let nodes = join_info
        .get("nodelist")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let text = |n: &Value, k: &str| -> Option<String> {
        match n.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(x) => Some(x.to_string()),
            _ => None,
        }
    };
    for n in &nodes {
        let name = text(n, "name").unwrap_or_default();
        if name == node {
            errors.push(format!(
                "a node named '{node}' is already part of the cluster"
            ));
        }
        if let (Some(want), Some(have)) = (nodeid, text(n, "nodeid")) {
            if have == want.to_string() && name != node {
                errors.push(format!(
                    "nodeid {want} is already used by cluster node '{name}'"
                ));
            }
        }
    }
    errors
}

/// The error list as the original prints it.
pub fn render(errors: &[String]) -> String {
    let mut out = String::from("detected the following error(s):");
    for e in errors {
        out.push_str("\n* ");
        out.push_str(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::parse_links;
    use serde_json::json;

    #[test]
    fn all_local_problems_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let pve = PveDir::new(dir.path().join("pve"));
        let coro = dir.path().join("corosync");
        std::fs::create_dir_all(pve.node_dir("n2").join("lxc")).unwrap();
        std::fs::create_dir_all(&coro).unwrap();
        let local: Vec<IpAddr> = vec!["10.0.0.2".parse().unwrap()];
        let st = LocalState {
            pve: &pve,
            corosync_dir: &coro,
            node: "n2",
            corosync_running: false,
            local_addresses: &local,
        };
        let resolve = |_: &str| -> Result<IpAddr, String> { Err("no such host".into()) };
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(local_errors(&st, ip, &Links::new(), &resolve).is_empty());

        std::fs::write(coro.join("authkey"), "k").unwrap();
        std::fs::write(pve.corosync_conf(), "x").unwrap();
        std::fs::write(pve.node_dir("n2").join("lxc/100.conf"), "").unwrap();
        let st = LocalState {
            corosync_running: true,
            ..st
        };
        let links = parse_links([(0, "10.0.0.9"), (1, "elsewhere")]).unwrap();
        let errors = local_errors(&st, "10.0.0.3".parse().unwrap(), &links, &resolve);
        let expected = [
            format!(
                "authentication key '{}' already exists",
                coro.join("authkey").display()
            ),
            format!(
                "cluster config '{}' already exists",
                pve.corosync_conf().display()
            ),
            "this host already contains virtual guests".into(),
            "corosync is already running, is this node already in a cluster?!".into(),
            "local node address: cannot use IP '10.0.0.3', not found on local node!".into(),
            "link0: cannot use IP '10.0.0.9', not found on local node!".into(),
            "link1: cannot use 'elsewhere': no such host".into(),
        ];
        assert_eq!(errors, expected);
        assert!(render(&errors[..2])
            .starts_with("detected the following error(s):\n* authentication key"));
    }

    #[test]
    fn name_and_id_clashes_come_from_the_join_info() {
        let info =
            json!({"nodelist": [{"name": "n1", "nodeid": "1"}, {"name": "n2", "nodeid": "2"}]});
        assert!(remote_errors(&info, "n3", None).is_empty());
        assert_eq!(
            remote_errors(&info, "n2", Some(1)),
            [
                "nodeid 1 is already used by cluster node 'n1'",
                "a node named 'n2' is already part of the cluster"
            ]
        );
    }
}
