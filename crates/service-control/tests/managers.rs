//! Both service managers, driven against fake control programs that record their arguments.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use service_control::{Action, LabMarker, Service, ServiceManager};

/// A fake control program that appends its arguments (and QUORATE_LAB) to `log` and exits
/// with `exit_code`.
fn fake_program(dir: &Path, name: &str, log: &Path, exit_code: i32) -> PathBuf {
    let path = dir.join(name);
    let script = format!(
        "#!/bin/sh\necho \"${{QUORATE_LAB:-}}|$*\" >> '{}'\nexit {exit_code}\n",
        log.display()
    );
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn without_marker_systemd_units_are_used() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let systemctl = fake_program(dir.path(), "systemctl", &log, 0);
    let manager =
        ServiceManager::detect_with(&dir.path().join("no-marker"), systemctl.clone()).unwrap();
    assert_eq!(manager, ServiceManager::Systemd { systemctl });

    manager.run(Action::Restart, Service::Corosync).unwrap();
    manager.run(Action::Stop, Service::Pmxcfs).unwrap();
    manager.run(Action::Start, Service::Api).unwrap();
    assert!(manager.is_active(Service::Pmxcfs).unwrap());

    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "|restart corosync.service\n|stop pve-cluster.service\n|start quorate-api.service\n\
         |is-active --quiet pve-cluster.service\n"
    );
}

#[test]
fn marker_selects_the_lab_supervisor() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ctl = fake_program(dir.path(), "quorate-lab", &log, 0);
    let marker = LabMarker {
        lab: "t1".into(),
        node: "node2".into(),
        ctl: ctl.clone(),
    };
    let marker_path = dir.path().join("marker.json");
    fs::write(&marker_path, serde_json::to_vec(&marker).unwrap()).unwrap();

    let manager = ServiceManager::detect_with(&marker_path, "systemctl".into()).unwrap();
    assert_eq!(manager, ServiceManager::Lab(marker));
    manager.run(Action::Restart, Service::Corosync).unwrap();
    assert!(manager.is_active(Service::CorosyncQdevice).unwrap());
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "t1|restart node2 corosync\nt1|status node2 corosync-qdevice\n"
    );
}

#[test]
fn failures_name_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let systemctl = fake_program(dir.path(), "systemctl", &log, 3);
    let manager = ServiceManager::Systemd { systemctl };
    let err = manager.run(Action::Start, Service::Corosync).unwrap_err();
    assert!(err.to_string().contains("start corosync.service"), "{err}");
    assert!(!manager.is_active(Service::Corosync).unwrap());
}

#[test]
fn a_malformed_marker_is_an_error_not_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let marker_path = dir.path().join("marker.json");
    fs::write(&marker_path, "not json").unwrap();
    let err = ServiceManager::detect_with(&marker_path, "systemctl".into()).unwrap_err();
    assert!(err.to_string().contains("malformed"), "{err}");
}

#[test]
fn service_names_round_trip_and_unknown_names_list_the_known_ones() {
    for svc in Service::ALL {
        assert_eq!(svc.name().parse::<Service>().unwrap(), svc);
    }
    let err = "corosyncd".parse::<Service>().unwrap_err().to_string();
    assert!(err.contains("unknown service 'corosyncd'"), "{err}");
    assert!(err.contains("corosync-qnetd"), "{err}");
}
