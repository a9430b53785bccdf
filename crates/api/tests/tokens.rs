//! API tokens: created over the API with a ticket, then used with the
//! `Authorization: PVEAPIToken=...` header (no CSRF token), privilege separation, expiry,
//! removal, and who may manage whose tokens.

mod common;

use common::{Answer, Env};
use serde_json::Value;

/// A request as `user` with a ticket (and CSRF token for writes).
async fn as_user(
    env: &Env,
    user: &str,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
) -> Answer {
    let req = env
        .client()
        .request(method, env.url(path))
        .header("Cookie", format!("PVEAuthCookie={}", env.ticket(user)))
        .header("CSRFPreventionToken", env.csrf(user))
        .form(form);
    Answer::from(req.send().await.unwrap()).await
}

/// A request with an API token header.
async fn with_token(env: &Env, header: &str, method: reqwest::Method, path: &str) -> Answer {
    let req = env
        .client()
        .request(method, env.url(path))
        .header("Authorization", header);
    Answer::from(req.send().await.unwrap()).await
}

async fn create_token(
    env: &Env,
    user: &str,
    owner: &str,
    tokenid: &str,
    form: &[(&str, &str)],
) -> Answer {
    as_user(
        env,
        user,
        reqwest::Method::POST,
        &format!("/access/users/{owner}/token/{tokenid}"),
        form,
    )
    .await
}

fn header(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{answer:?}");
    format!(
        "PVEAPIToken={}={}",
        answer.body["data"]["full-tokenid"].as_str().unwrap(),
        answer.body["data"]["value"].as_str().unwrap()
    )
}

#[tokio::test]
async fn a_token_without_separation_acts_as_its_user() {
    let env = Env::start().await;
    let created = create_token(
        &env,
        "root@pam",
        "root@pam",
        "ci",
        &[("privsep", "0"), ("comment", "pipelines")],
    )
    .await;
    let d = &created.body["data"];
    assert_eq!(d["full-tokenid"], "root@pam!ci", "{created:?}");
    assert_eq!(
        d["info"],
        serde_json::json!({"expire": 0, "privsep": 0, "comment": "pipelines"})
    );
    let token = header(&created);

    let nodes = with_token(&env, &token, reqwest::Method::GET, "/cluster/config/nodes").await;
    assert_eq!(nodes.status, 200, "{nodes:?}");
    // writes need no CSRF token with a token
    let echo = with_token(&env, &token, reqwest::Method::POST, "/quorate-test/echo").await;
    assert_eq!(echo.body["data"]["user"], "root@pam", "{echo:?}");

    let user_cfg = std::fs::read_to_string(env.path("user.cfg")).unwrap();
    assert!(
        user_cfg.contains("token:root@pam!ci:0:0:pipelines:\n"),
        "{user_cfg}"
    );
    let token_cfg = std::fs::read_to_string(env.path("priv/token.cfg")).unwrap();
    assert!(token_cfg.starts_with("root@pam!ci "), "{token_cfg}");

    let list = as_user(
        &env,
        "root@pam",
        reqwest::Method::GET,
        "/access/users/root@pam/token",
        &[],
    )
    .await;
    assert_eq!(list.body["data"][0]["tokenid"], "ci", "{list:?}");
    let again = create_token(&env, "root@pam", "root@pam", "ci", &[]).await;
    again.assert_error(500, "Token already exists.");

    let wrong = token.replace('-', "0");
    with_token(&env, &wrong, reqwest::Method::GET, "/cluster/config/nodes")
        .await
        .assert_error(401, "permission denied - invalid API token");

    let removed = as_user(
        &env,
        "root@pam",
        reqwest::Method::DELETE,
        "/access/users/root@pam/token/ci",
        &[],
    )
    .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    with_token(&env, &token, reqwest::Method::GET, "/cluster/config/nodes")
        .await
        .assert_error(401, "permission denied - invalid API token");
    let token_cfg = std::fs::read_to_string(env.path("priv/token.cfg")).unwrap();
    assert!(!token_cfg.contains("root@pam!ci"), "{token_cfg}");
}

#[tokio::test]
async fn separated_and_expired_tokens_are_limited() {
    let env = Env::start().await;
    let separated = header(&create_token(&env, "root@pam", "root@pam", "sep", &[]).await);
    with_token(
        &env,
        &separated,
        reqwest::Method::GET,
        "/cluster/config/nodes",
    )
    .await
    .assert_error(403, "Permission check failed (/, Sys.Audit)");
    let version = with_token(&env, &separated, reqwest::Method::GET, "/version").await;
    assert_eq!(version.status, 200, "{version:?}");
    // a token cannot manage tokens
    let by_token = with_token(
        &env,
        &separated,
        reqwest::Method::GET,
        "/access/users/root@pam/token",
    )
    .await;
    assert_eq!(by_token.status, 403, "{by_token:?}");

    let expired = header(
        &create_token(
            &env,
            "root@pam",
            "root@pam",
            "old",
            &[("privsep", "0"), ("expire", "1000")],
        )
        .await,
    );
    with_token(&env, &expired, reqwest::Method::GET, "/version")
        .await
        .assert_error(401, "permission denied - invalid API token");
    for bad in [
        "PVEAPIToken=root@pam!x",
        "PVEAPIToken=root@pam=abc",
        "PVEAPIToken",
    ] {
        with_token(&env, bad, reqwest::Method::GET, "/version")
            .await
            .assert_error(401, "permission denied - invalid API token");
    }
}

#[tokio::test]
async fn users_manage_only_their_own_tokens() {
    let env = Env::start_with_alice().await;
    let own = create_token(&env, "alice@pam", "alice@pam", "mine", &[]).await;
    assert_eq!(own.status, 200, "{own:?}");
    let other = create_token(&env, "alice@pam", "root@pam", "hers", &[]).await;
    assert_eq!(other.status, 403, "{other:?}");
    let unknown = create_token(&env, "root@pam", "bob@pam", "x1", &[]).await;
    unknown.assert_error(500, "no such user ('bob@pam')");
    let bad_id = create_token(&env, "root@pam", "root@pam", "1bad", &[]).await;
    assert_eq!(bad_id.status, 400, "{bad_id:?}");
    let bad_comment = create_token(&env, "root@pam", "root@pam", "ok", &[("comment", "a:b")]).await;
    assert_eq!(bad_comment.status, 400, "{bad_comment:?}");
    let listed: Vec<Value> = as_user(
        &env,
        "alice@pam",
        reqwest::Method::GET,
        "/access/users/alice@pam/token",
        &[],
    )
    .await
    .body["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["tokenid"], "mine");
    assert_eq!(listed[0]["privsep"], 1);
}
