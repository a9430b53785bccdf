//! Privileges and the `cap` object of the login answer.
//!
//! Quorate has no ACLs yet: `root@pam` holds every privilege everywhere, every other user
//! none. The `cap` object tells the web UI what to enable; it groups privilege names by area
//! (`vms`, `storage`, `access`, `nodes`, `dc`, `sdn`, `mapping`), each privilege mapped to 1.

use serde_json::{Map, Value};

const VM: &[&str] = &[
    "VM.Allocate",
    "VM.Audit",
    "VM.Backup",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Cloudinit",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Console",
    "VM.Migrate",
    "VM.Monitor",
    "VM.PowerMgmt",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
];
const DATASTORE: &[&str] = &[
    "Datastore.Allocate",
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
];
const ACCESS: &[&str] = &[
    "Group.Allocate",
    "Realm.Allocate",
    "Realm.AllocateUser",
    "User.Modify",
];
const SYS: &[&str] = &[
    "Sys.AccessNetwork",
    "Sys.Audit",
    "Sys.Console",
    "Sys.Incoming",
    "Sys.Modify",
    "Sys.PowerMgmt",
    "Sys.Syslog",
];
const SDN: &[&str] = &["SDN.Allocate", "SDN.Audit", "SDN.Use"];
const MAPPING: &[&str] = &["Mapping.Audit", "Mapping.Modify", "Mapping.Use"];
const PERMISSIONS_MODIFY: &str = "Permissions.Modify";

/// The `cap` groups: name and privileges.
fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let with_perm = |list: &[&'static str]| {
        let mut v = list.to_vec();
        v.push(PERMISSIONS_MODIFY);
        v
    };
    let mut dc = vec!["Sys.Audit", "Sys.Modify"];
    dc.extend_from_slice(SDN);
    vec![
        ("vms", with_perm(VM)),
        ("storage", with_perm(DATASTORE)),
        ("access", with_perm(ACCESS)),
        ("nodes", with_perm(SYS)),
        ("dc", dc),
        ("sdn", with_perm(SDN)),
        ("mapping", with_perm(MAPPING)),
    ]
}

/// Whether `userid` holds privilege `privilege` on ACL path `path`.
pub fn has_privilege(userid: &str, _path: &str, _privilege: &str) -> bool {
    userid == super::users::ROOT
}

/// The `cap` object for `userid`.
pub fn capabilities(userid: &str) -> Value {
    let mut cap = Map::new();
    for (group, privs) in groups() {
        let mut m = Map::new();
        for p in privs {
            if has_privilege(userid, "/", p) {
                m.insert(p.to_string(), Value::from(1));
            }
        }
        cap.insert(group.to_string(), Value::Object(m));
    }
    Value::Object(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_everything_others_nothing() {
        let root = capabilities("root@pam");
        assert_eq!(root["nodes"]["Sys.Audit"], 1);
        assert_eq!(root["vms"]["Permissions.Modify"], 1);
        assert_eq!(root["dc"]["SDN.Use"], 1);
        let other = capabilities("alice@pam");
        for (_, group) in other.as_object().unwrap() {
            assert!(group.as_object().unwrap().is_empty());
        }
        assert!(!has_privilege("alice@pam", "/", "Sys.Audit"));
    }
}
