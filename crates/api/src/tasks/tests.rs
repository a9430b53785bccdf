use std::sync::mpsc;
use std::time::Duration;

use super::*;

fn wait_stopped(tasks: &Tasks, upid: &Upid) -> String {
    for _ in 0..500 {
        if let Some(TaskState::Stopped { exit_status, .. }) = tasks.state(upid) {
            return exit_status;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("task {upid} did not stop");
}

#[test]
fn a_task_logs_its_lines_and_ends_ok() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = Tasks::new(dir.path());
    let (go, wait) = mpsc::channel::<()>();
    let (followed, follow_up_ran) = mpsc::channel::<()>();
    let text = tasks
        .start(
            Upid::new("n1", "clustercreate", "demo", "root@pam"),
            move |log| {
                log("first step");
                wait.recv().unwrap();
                log("second step");
                Ok(Some(Box::new(move || followed.send(()).unwrap())))
            },
        )
        .unwrap();
    let upid = Upid::parse(&text).unwrap();
    assert_eq!(tasks.state(&upid), Some(TaskState::Running));
    go.send(()).unwrap();
    assert_eq!(wait_stopped(&tasks, &upid), "OK");
    follow_up_ran.recv_timeout(Duration::from_secs(5)).unwrap();
    let (lines, total) = tasks.log(&upid, 0, 50).unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        lines,
        vec![
            (1, "first step".to_string()),
            (2, "second step".to_string()),
            (3, "TASK OK".to_string())
        ]
    );
    assert_eq!(
        tasks.log(&upid, 1, 1).unwrap().0,
        vec![(2, "second step".to_string())]
    );
    assert!(upid.log_path(dir.path()).exists());
    assert_eq!(tasks.list("n1"), vec![upid]);
    assert!(tasks.list("n2").is_empty());
}

#[test]
fn failures_and_panics_end_with_task_error() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = Tasks::new(dir.path());
    let failed = tasks
        .start(Upid::new("n1", "clusterjoin", "", "root@pam"), |log| {
            log("checking");
            Err("joining failed\n".into())
        })
        .unwrap();
    let failed = Upid::parse(&failed).unwrap();
    assert_eq!(wait_stopped(&tasks, &failed), "joining failed");
    assert_eq!(
        tasks.log(&failed, 0, 50).unwrap().0[1].1,
        "TASK ERROR: joining failed"
    );

    let panicked = tasks
        .start(Upid::new("n1", "clusterjoin", "x", "root@pam"), |_| {
            panic!("boom")
        })
        .unwrap();
    let panicked = Upid::parse(&panicked).unwrap();
    assert_eq!(
        wait_stopped(&tasks, &panicked),
        "internal error (the task panicked)"
    );
}

#[test]
fn a_restarted_daemon_reads_finished_and_cut_off_tasks_from_their_logs() {
    let dir = tempfile::tempdir().unwrap();
    let cut_off = Upid::parse("UPID:n1:00000001:00000002:6560F00D:clusterjoin::root@pam:").unwrap();
    let path = cut_off.log_path(dir.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, "Request addition of this node\n").unwrap();
    let tasks = Tasks::new(dir.path());
    assert!(matches!(
        tasks.state(&cut_off),
        Some(TaskState::Stopped { exit_status, .. }) if exit_status == "unexpected status"
    ));
    let unknown = Upid::parse("UPID:n1:00000001:00000002:6560F00E:clusterjoin::root@pam:").unwrap();
    assert_eq!(tasks.state(&unknown), None);
}

#[test]
fn exit_status_from_the_last_log_line() {
    assert_eq!(exit_status(Some("TASK OK")), "OK");
    assert_eq!(exit_status(Some("TASK ERROR: no quorum")), "no quorum");
    assert_eq!(exit_status(Some("TASK WARNINGS: 2")), "WARNINGS: 2");
    assert_eq!(
        exit_status(Some("waiting for quorum...")),
        "unexpected status"
    );
    assert_eq!(exit_status(None), "unexpected status");
}
