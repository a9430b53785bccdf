//! The task calls clients poll after create and join: status, log, list, index, and who may
//! see which task.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use api::tasks::Upid;
use common::{Env, NODE};

async fn wait_stopped(env: &Env, upid: &str) -> serde_json::Value {
    for _ in 0..200 {
        let a = env
            .get_root(&format!("/nodes/{NODE}/tasks/{upid}/status"))
            .await;
        assert_eq!(a.status, 200, "{a:?}");
        if a.body["data"]["status"] == "stopped" {
            return a.body["data"].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{upid} did not stop");
}

#[tokio::test]
async fn status_and_log_of_a_task() {
    let env = Env::start().await;
    let (go, wait) = mpsc::channel::<()>();
    let upid = env
        .tasks
        .start(
            Upid::new(NODE, "clustercreate", "demo", "root@pam"),
            move |log| {
                log("Writing corosync key to /etc/corosync/authkey");
                wait.recv().unwrap();
                Ok(None)
            },
        )
        .unwrap();

    let a = env
        .get_root(&format!("/nodes/{NODE}/tasks/{upid}/status"))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let d = &a.body["data"];
    assert_eq!(d["status"], "running", "{a:?}");
    assert_eq!(d["upid"], upid.as_str());
    assert_eq!(
        (&d["node"], &d["type"], &d["id"], &d["user"]),
        (
            &NODE.into(),
            &"clustercreate".into(),
            &"demo".into(),
            &"root@pam".into()
        )
    );
    assert!(d["exitstatus"].is_null() && d["pid"].is_u64() && d["starttime"].is_u64());

    go.send(()).unwrap();
    let done = wait_stopped(&env, &upid).await;
    assert_eq!(done["exitstatus"], "OK");

    let log = env
        .get_root(&format!("/nodes/{NODE}/tasks/{upid}/log"))
        .await;
    assert_eq!(log.status, 200, "{log:?}");
    assert_eq!(log.body["total"], 2);
    assert_eq!(
        log.body["data"],
        serde_json::json!([
            {"n": 1, "t": "Writing corosync key to /etc/corosync/authkey"},
            {"n": 2, "t": "TASK OK"}
        ])
    );
    let second = env
        .get_root(&format!("/nodes/{NODE}/tasks/{upid}/log?start=1&limit=1"))
        .await;
    assert_eq!(
        second.body["data"],
        serde_json::json!([{"n": 2, "t": "TASK OK"}])
    );

    let index = env.get_root(&format!("/nodes/{NODE}/tasks/{upid}")).await;
    assert_eq!(
        index.body["data"],
        serde_json::json!([{"name": "log"}, {"name": "status"}])
    );
}

#[tokio::test]
async fn failed_tasks_are_listed_with_their_error() {
    let env = Env::start().await;
    let ok = env
        .tasks
        .start(Upid::new(NODE, "clustercreate", "demo", "root@pam"), |_| {
            Ok(None)
        })
        .unwrap();
    let failed = env
        .tasks
        .start(Upid::new(NODE, "clusterjoin", "", "root@pam"), |_| {
            Err("this host already contains virtual guests".into())
        })
        .unwrap();
    assert_eq!(
        wait_stopped(&env, &failed).await["exitstatus"],
        "this host already contains virtual guests"
    );
    wait_stopped(&env, &ok).await;

    let all = env.get_root(&format!("/nodes/{NODE}/tasks")).await;
    assert_eq!(all.status, 200, "{all:?}");
    assert_eq!(all.body["total"], 2, "{all:?}");
    let errors = env.get_root(&format!("/nodes/{NODE}/tasks?errors=1")).await;
    let rows = errors.body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{errors:?}");
    assert_eq!(rows[0]["upid"], failed.as_str());
    assert_eq!(
        rows[0]["status"],
        "this host already contains virtual guests"
    );
    assert!(rows[0]["endtime"].is_u64());
    let creates = env
        .get_root(&format!("/nodes/{NODE}/tasks?typefilter=clustercreate"))
        .await;
    assert_eq!(creates.body["data"][0]["upid"], ok.as_str());
    let active = env
        .get_root(&format!("/nodes/{NODE}/tasks?source=active"))
        .await;
    assert_eq!(active.body["total"], 0, "{active:?}");
}

#[tokio::test]
async fn bad_unknown_foreign_and_hidden_tasks_are_refused() {
    let env = Env::start_with_alice().await;
    let root_task = env
        .tasks
        .start(Upid::new(NODE, "clustercreate", "demo", "root@pam"), |_| {
            Ok(None)
        })
        .unwrap();
    wait_stopped(&env, &root_task).await;

    let bad = env
        .get_root(&format!("/nodes/{NODE}/tasks/UPID:..%2F..%2Fetc:x/status"))
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.body["errors"]["upid"].is_string(), "{bad:?}");

    let unknown = root_task.replace(":clustercreate:", ":clusterjoin:");
    env.get_root(&format!("/nodes/{NODE}/tasks/{unknown}/status"))
        .await
        .assert_error(500, &format!("no such task '{unknown}'"));

    let other = env.get_root("/nodes/n2/tasks").await;
    assert_eq!(other.status, 500, "{other:?}");
    assert!(other.reason.contains("served by that node"), "{other:?}");

    let alice = env.ticket("alice@pam");
    env.get_as(
        Some(&alice),
        &format!("/nodes/{NODE}/tasks/{root_task}/status"),
    )
    .await
    .assert_error(403, "Permission check failed");
    let listed = env
        .get_as(Some(&alice), &format!("/nodes/{NODE}/tasks"))
        .await;
    assert_eq!(listed.body["total"], 0, "{listed:?}");
    let anonymous = env
        .get_as(None, &format!("/nodes/{NODE}/tasks/{root_task}/status"))
        .await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
}
