//! Logins through the real PAM stack, with a throw-away system user `quorate-test-<pid>-<x>`
//! (created with useradd/chpasswd, removed with userdel when the test ends, also on failure).
//! Needs root; skipped with a message otherwise. root's password is never touched.
//!
//! Requests are written the way PVE clients send them: a form-encoded POST to
//! `/api2/json/access/ticket`, then `Cookie: PVEAuthCookie=<ticket>` and, for POSTs, the
//! `CSRFPreventionToken` header.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Answer, Env, EnvOptions};
use serde_json::{json, Value};

struct TestUser {
    name: String,
    password: String,
}

impl TestUser {
    /// Creates the user, or `None` (with a printed reason) when not running as root.
    fn create(suffix: &str) -> Option<TestUser> {
        if !cluster::is_root() {
            eprintln!("SKIPPED: PAM login tests need root (they create a temporary system user)");
            return None;
        }
        let name = format!("quorate-test-{}-{suffix}", std::process::id());
        let _ = Command::new("userdel")
            .arg(&name)
            .stderr(Stdio::null())
            .status();
        let ok = Command::new("useradd")
            .args([
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "--user-group",
            ])
            .arg(&name)
            .status()
            .expect("useradd runs");
        assert!(ok.success(), "useradd {name} failed");
        let user = TestUser {
            password: format!("Pw-{}-{suffix}:x y", std::process::id()),
            name,
        };
        let mut child = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd runs");
        writeln!(
            child.stdin.take().unwrap(),
            "{}:{}",
            user.name,
            user.password
        )
        .unwrap();
        assert!(child.wait().unwrap().success(), "chpasswd failed");
        Some(user)
    }

    fn userid(&self) -> String {
        format!("{}@pam", self.name)
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}

fn user_cfg(extra: &str) -> impl FnOnce(&std::path::Path) + '_ {
    move |dir| {
        std::fs::write(
            dir.join("user.cfg"),
            format!("user:root@pam:1:0:::root@localhost::\n{extra}"),
        )
        .unwrap()
    }
}

async fn login(env: &Env, form: &[(&str, &str)]) -> Answer {
    let resp = env
        .client()
        .post(env.url("/access/ticket"))
        .form(form)
        .send()
        .await
        .unwrap();
    Answer::from(resp).await
}

#[tokio::test]
async fn pve_client_flow_with_a_pam_user() {
    let Some(user) = TestUser::create("a") else {
        return;
    };
    let uid = user.userid();
    let env = Env::start_with(
        EnvOptions::default(),
        user_cfg(&format!("user:{uid}:1:0::::::\n")),
    )
    .await;

    let a = login(&env, &[("username", &uid), ("password", &user.password)]).await;
    let data = a.data().clone();
    assert_eq!(data["username"], uid.as_str());
    assert_eq!(data["clustername"], "demo");
    let ticket = data["ticket"].as_str().unwrap().to_string();
    let csrf = data["CSRFPreventionToken"].as_str().unwrap().to_string();
    assert!(ticket.starts_with(&format!("PVE:{uid}:")), "{ticket}");
    assert_eq!(data["cap"]["nodes"], json!({}));
    // the ticket is signed with the cluster key: the key file verifies it
    let keys = cluster::authkey::VerifyKeys::load(&env.pve).unwrap();
    let v = keys
        .verify_login_ticket(&ticket, cluster::unix_now(), false)
        .unwrap();
    assert_eq!(v.data.as_deref(), Some(uid.as_str()));

    // cookie works; the user may read the version but not /cluster/config
    env.get_as(Some(&ticket), "/version").await.data();
    env.get_as(Some(&ticket), "/cluster/config/nodes")
        .await
        .assert_error(403, "Permission check failed (/, Sys.Audit)");
    // a POST with cookie and CSRF token, as PVE clients send it
    let resp = env
        .client()
        .post(env.url("/quorate-test/echo"))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .header("CSRFPreventionToken", &csrf)
        .form(&[("a", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(Answer::from(resp).await.data(), &json!({ "user": uid }));

    // another node with the same cluster keys accepts the ticket
    let other = Env::start_with(
        EnvOptions::default(),
        user_cfg(&format!("user:{uid}:1:0::::::\n")),
    )
    .await;
    other.get_as(Some(&ticket), "/version").await.data();

    // `username` + `realm`, and a JSON body, work as well
    let a = login(
        &env,
        &[
            ("username", &user.name),
            ("realm", "pam"),
            ("password", &user.password),
        ],
    )
    .await;
    assert_eq!(a.data()["username"], uid.as_str());
    let resp = env
        .client()
        .post(env.url("/access/ticket"))
        .json(&json!({ "username": uid, "password": user.password, "new-format": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(Answer::from(resp).await.data()["username"], uid.as_str());
    // renewal: the password may be a valid ticket of the same user
    let a = login(&env, &[("username", &uid), ("password", &ticket)]).await;
    assert!(a.data()["ticket"].as_str().unwrap().starts_with("PVE:"));
}

async fn assert_refused(env: &Env, form: &[(&str, &str)]) {
    let start = Instant::now();
    let a = login(env, form).await;
    a.assert_error(401, "authentication failure");
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "failed logins are answered after the delay"
    );
}

#[tokio::test]
async fn failed_logins() {
    let Some(user) = TestUser::create("b") else {
        return;
    };
    let uid = user.userid();
    let env = Env::start_with(
        EnvOptions::default(),
        user_cfg(&format!(
            "user:{uid}:1:0::::::\nuser:{}-off@pam:0:0::::::\n",
            user.name
        )),
    )
    .await;
    let pw = user.password.as_str();
    assert_refused(&env, &[("username", &uid), ("password", "wrong")]).await;
    assert_refused(&env, &[("username", &uid), ("password", "")]).await;
    assert_refused(
        &env,
        &[("username", "root@pam"), ("password", "surely-not-root-pw")],
    )
    .await;
    // right password, but not a PAM login / not allowed by user.cfg / two-factor step
    assert_refused(
        &env,
        &[
            ("username", &format!("{}@pve", user.name)),
            ("password", pw),
        ],
    )
    .await;
    assert_refused(&env, &[("username", &user.name), ("password", pw)]).await;
    assert_refused(
        &env,
        &[("username", &uid), ("password", pw), ("tfa-challenge", "x")],
    )
    .await;
    // someone else's ticket is not a password
    let root_ticket = env.ticket("root@pam");
    assert_refused(&env, &[("username", &uid), ("password", &root_ticket)]).await;

    // removed from user.cfg: refused at login, and existing tickets stop working
    let ticket = login(&env, &[("username", &uid), ("password", pw)])
        .await
        .data()["ticket"]
        .clone();
    std::fs::write(env.path("user.cfg"), "user:root@pam:1:0::::::\n").unwrap();
    assert_refused(&env, &[("username", &uid), ("password", pw)]).await;
    let t: &Value = &ticket;
    env.get_as(t.as_str(), "/version")
        .await
        .assert_error(401, "permission denied - invalid PVE ticket");
}
