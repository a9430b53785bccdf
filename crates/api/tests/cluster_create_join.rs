//! `POST /cluster/config` (create) and `POST /cluster/config/join` (join): parameter checks,
//! root-only access and CSRF. The work itself needs corosync and is covered by the lab's
//! end-to-end tests.

mod common;

use common::{Answer, Env};
use serde_json::Value;

const FP: &str = "AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:\
AB:AB:AB:AB:AB:AB";

/// POST `form` to `path` as `user` (no ticket when `None`) with `user`'s CSRF token (or
/// `csrf` when given).
async fn post(
    env: &Env,
    user: Option<&str>,
    csrf: Option<&str>,
    path: &str,
    form: &[(&str, &str)],
) -> Answer {
    let mut req = env.client().post(env.url(path)).form(form);
    if let Some(u) = user {
        req = req
            .header("Cookie", format!("PVEAuthCookie={}", env.ticket(u)))
            .header(
                "CSRFPreventionToken",
                csrf.map(str::to_string).unwrap_or_else(|| env.csrf(u)),
            );
    }
    Answer::from(req.send().await.unwrap()).await
}

fn param_errors(a: &Answer) -> Vec<String> {
    assert_eq!(a.status, 400, "{a:?}");
    assert_eq!(a.reason, "Parameter verification failed.", "{a:?}");
    a.body["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("{a:?}"))
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn create_checks_its_parameters() {
    let env = Env::start().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "clustername"),
        (&[("clustername", "this-name-is-too-long")], "clustername"),
        (&[("clustername", "bad name")], "clustername"),
        (&[("clustername", "demo"), ("nodeid", "0")], "nodeid"),
        (&[("clustername", "demo"), ("votes", "0")], "votes"),
        (
            &[("clustername", "demo"), ("token-coefficient", "-1")],
            "token-coefficient",
        ),
        (
            &[("clustername", "demo"), ("link0", "no such address!")],
            "link0",
        ),
        (&[("clustername", "demo"), ("link8", "10.0.0.1")], "link8"),
        (
            &[("clustername", "demo"), ("token_coefficient", "1")],
            "token_coefficient",
        ),
    ];
    for (form, key) in cases {
        let a = post(&env, Some("root@pam"), None, "/cluster/config", form).await;
        assert_eq!(param_errors(&a), vec![key.to_string()], "{form:?}");
    }
}

#[tokio::test]
async fn create_refuses_an_existing_cluster() {
    // the sample directory has a corosync.conf: refused before anything is touched
    let env = Env::start().await;
    let a = post(
        &env,
        Some("root@pam"),
        None,
        "/cluster/config",
        &[("clustername", "demo2"), ("token-coefficient", "100")],
    )
    .await;
    let msg = format!(
        "cluster config '{}' already exists",
        env.path("corosync.conf").display()
    );
    a.assert_error(500, &msg);
}

#[tokio::test]
async fn join_checks_its_parameters() {
    let env = Env::start().await;
    let ok: Vec<(&str, &str)> = vec![
        ("hostname", "192.0.2.1"),
        ("fingerprint", FP),
        ("password", "secret"),
    ];
    let with = |k: &'static str, v: &'static str| {
        let mut f: Vec<(&str, &str)> = ok.iter().filter(|(n, _)| *n != k).cloned().collect();
        f.push((k, v));
        f
    };
    let without =
        |k: &str| -> Vec<(&str, &str)> { ok.iter().filter(|(n, _)| *n != k).cloned().collect() };
    let long_password = "x".repeat(129);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (without("hostname"), "hostname"),
        (without("fingerprint"), "fingerprint"),
        (without("password"), "password"),
        (with("fingerprint", "AB:CD"), "fingerprint"),
        (with("hostname", "not a host!"), "hostname"),
        (with("nodeid", "0"), "nodeid"),
        (with("votes", "-1"), "votes"),
        (with("force", "maybe"), "force"),
        (with("link0", "bad address!"), "link0"),
        (with("bogus", "1"), "bogus"),
        (
            {
                let mut f = without("password");
                f.push(("password", &long_password));
                f
            },
            "password",
        ),
    ];
    for (form, key) in &cases {
        let a = post(&env, Some("root@pam"), None, "/cluster/config/join", form).await;
        assert_eq!(param_errors(&a), vec![key.to_string()], "{form:?}");
    }
}

#[tokio::test]
async fn root_only_and_csrf() {
    let env = Env::start_with_alice().await;
    let create: &[(&str, &str)] = &[("clustername", "demo")];
    let join: &[(&str, &str)] = &[
        ("hostname", "192.0.2.1"),
        ("fingerprint", FP),
        ("password", "secret"),
    ];
    let csrf_error = "Permission denied - invalid csrf token";
    for (path, form) in [("/cluster/config", create), ("/cluster/config/join", join)] {
        post(&env, None, None, path, form)
            .await
            .assert_error(401, "No ticket");
        post(&env, Some("alice@pam"), None, path, form)
            .await
            .assert_error(403, "Permission check failed (user != root@pam)");
        post(&env, Some("root@pam"), Some("6A18A500:bogus"), path, form)
            .await
            .assert_error(401, csrf_error);
        let alice_token = env.csrf("alice@pam");
        post(&env, Some("root@pam"), Some(&alice_token), path, form)
            .await
            .assert_error(401, csrf_error);
        // a ticket without any CSRF header
        let a = Answer::from(
            env.client()
                .post(env.url(path))
                .header(
                    "Cookie",
                    format!("PVEAuthCookie={}", env.ticket("root@pam")),
                )
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        a.assert_error(401, csrf_error);
    }
    // permission checks come before the parameter checks, as in PVE
    post(&env, Some("alice@pam"), None, "/cluster/config", &[])
        .await
        .assert_error(403, "Permission check failed (user != root@pam)");
    // the read side of the same paths is unchanged
    let index = env.get_root("/cluster/config").await;
    assert!(matches!(index.data(), Value::Array(_)));
    env.get_root("/cluster/config/join").await.data();
}
