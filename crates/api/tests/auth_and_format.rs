//! TLS, tickets, CSRF and the answer formats, against a real server on 127.0.0.1.

mod common;

use common::{pinned_client, Answer, Env, EnvOptions, NODE};
use serde_json::json;

#[tokio::test]
async fn tls_serves_the_node_certificate_and_pinning_works() {
    let env = Env::start().await;
    // what the cluster publishes is what the server presents: a pinning client connects
    let fp = env.fingerprint();
    assert_eq!(fp.len(), 95);
    let resp = env.client().get(env.url("/version")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    // lower case fingerprints are accepted (normalized)
    let resp = pinned_client(&fp.to_lowercase())
        .get(env.url("/version"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // another fingerprint (n2's certificate) is refused at the TLS level
    let other = cluster::certs::node_fingerprint(&env.pve, "n2").unwrap();
    assert_ne!(other, fp);
    let err = pinned_client(&other)
        .get(env.url("/version"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

#[tokio::test]
async fn a_custom_pveproxy_certificate_is_preferred() {
    let env = Env::start_with(EnvOptions::default(), |dir| {
        // n2's certificate and key play the custom certificate of n1
        let n1 = dir.join("nodes/n1");
        std::fs::copy(
            dir.join("nodes/n2/pve-ssl.pem"),
            n1.join("pveproxy-ssl.pem"),
        )
        .unwrap();
        std::fs::copy(
            dir.join("nodes/n2/pve-ssl.key"),
            n1.join("pveproxy-ssl.key"),
        )
        .unwrap();
    })
    .await;
    let custom = env.fingerprint();
    assert_eq!(
        custom,
        cluster::certs::node_fingerprint(&env.pve, "n2").unwrap()
    );
    let resp = env.client().get(env.url("/version")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    // the server can reload its certificate: back to pve-ssl.pem
    std::fs::remove_file(env.path("nodes/n1/pveproxy-ssl.pem")).unwrap();
    env.server.reload_certificate().unwrap();
    let plain = cluster::certs::node_fingerprint(&env.pve, NODE).unwrap();
    let resp = pinned_client(&plain)
        .get(env.url("/version"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn tickets_are_checked() {
    let env = Env::start().await;
    let a = env.get_as(None, "/version").await;
    a.assert_error(401, "No ticket");
    assert_eq!(a.headers["server"], "pve-api-daemon/3.0");
    assert_eq!(a.headers["content-type"], "application/json;charset=UTF-8");

    let good = env.ticket("root@pam");
    assert!(good.starts_with("PVE:root@pam:"));
    env.get_as(Some(&good), "/version").await.data();

    let invalid = "permission denied - invalid PVE ticket";
    let now = cluster::unix_now();
    // expired (older than 2 h) and from too far in the future
    env.get_as(Some(&env.ticket_at("root@pam", now - 7201)), "/version")
        .await
        .assert_error(401, invalid);
    env.get_as(Some(&env.ticket_at("root@pam", now + 600)), "/version")
        .await
        .assert_error(401, invalid);
    // tampered: another user under the same signature, a flipped signature byte
    let forged = good.replacen("root@pam", "root@pve", 1);
    env.get_as(Some(&forged), "/version")
        .await
        .assert_error(401, invalid);
    let (plain, sig) = good.rsplit_once("::").unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{plain}::{flipped}{}", &sig[1..]);
    env.get_as(Some(&tampered), "/version")
        .await
        .assert_error(401, invalid);
    env.get_as(Some("garbage"), "/version")
        .await
        .assert_error(401, invalid);
    // signed with another key (a node of another cluster)
    let other = tempfile::tempdir().unwrap();
    let other_pve = cluster::PveDir::new(other.path());
    cluster::authkey::gen_auth_key(&other_pve, false).unwrap();
    let key = cluster::authkey::read_signing_key(&other_pve).unwrap();
    let foreign = cluster::authkey::ticket::assemble_login(&key, "root@pam", now).unwrap();
    env.get_as(Some(&foreign), "/version")
        .await
        .assert_error(401, invalid);
    // a valid signature for a user that is not in user.cfg
    env.get_as(Some(&env.ticket("ghost@pam")), "/version")
        .await
        .assert_error(401, invalid);

    // the ticket may also come URL-encoded (browsers) or in the Authorization header
    let encoded = good
        .replace(':', "%3A")
        .replace('=', "%3D")
        .replace('+', "%2B");
    env.get_as(Some(&encoded), "/version").await.data();
    let resp = env
        .client()
        .get(env.url("/version"))
        .header("Authorization", format!("PVEAuthCookie={good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn csrf_token_is_required_for_posts_with_a_ticket() {
    let env = Env::start().await;
    let ticket = env.ticket("root@pam");
    let post = |csrf: Option<String>| {
        let mut req = env
            .client()
            .post(env.url("/quorate-test/echo"))
            .header("Cookie", format!("PVEAuthCookie={ticket}"))
            .form(&[("x", "1")]);
        if let Some(c) = csrf {
            req = req.header("CSRFPreventionToken", c);
        }
        req.send()
    };
    let csrf_error = "Permission denied - invalid csrf token";
    Answer::from(post(None).await.unwrap())
        .await
        .assert_error(401, csrf_error);
    Answer::from(post(Some("6A18A500:bogus".into())).await.unwrap())
        .await
        .assert_error(401, csrf_error);
    // a token of another user does not do
    Answer::from(post(Some(env.csrf("alice@pam"))).await.unwrap())
        .await
        .assert_error(401, csrf_error);
    let ok = Answer::from(post(Some(env.csrf("root@pam"))).await.unwrap()).await;
    assert_eq!(ok.data(), &json!({ "user": "root@pam" }));
    // GET needs no token; a POST merged onto the path of a GET works too
    env.get_as(Some(&ticket), "/version").await.data();
    let resp = env
        .client()
        .post(env.url("/version"))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .header("CSRFPreventionToken", env.csrf("root@pam"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        Answer::from(resp).await.data(),
        &json!({ "user": "root@pam" })
    );
    // without any ticket the answer is about the ticket
    let resp = env
        .client()
        .post(env.url("/quorate-test/echo"))
        .send()
        .await
        .unwrap();
    Answer::from(resp).await.assert_error(401, "No ticket");
}

#[tokio::test]
async fn error_envelopes_and_formats() {
    let env = Env::start().await;
    // parameter errors: 400 with per-parameter messages
    let a = env.get_root("/version?foo=1").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.reason, "Parameter verification failed.");
    assert_eq!(
        a.body,
        json!({"data": null, "errors": {"foo": "property is not defined in schema and the \
               schema does not allow additional properties"}})
    );
    // the ExtJS cache buster is ignored
    env.get_root("/version?_dc=1700000000").await.data();
    let resp = env
        .client()
        .post(env.url("/access/ticket"))
        .form(&[("password", "x")])
        .send()
        .await
        .unwrap();
    let a = Answer::from(resp).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body["errors"],
        json!({"username": "property is missing and it is not optional"})
    );
    // unknown paths and methods
    env.get_root("/nodes")
        .await
        .assert_error(501, "Method 'GET /nodes' not implemented");
    let resp = env
        .client()
        .delete(env.url("/version"))
        .header(
            "Cookie",
            format!("PVEAuthCookie={}", env.ticket("root@pam")),
        )
        .send()
        .await
        .unwrap();
    Answer::from(resp)
        .await
        .assert_error(501, "Method 'DELETE /version' not implemented");
    // extjs: always 200, success flag
    let extjs = env.base.replace("/api2/json", "/api2/extjs");
    let resp = env
        .client()
        .get(format!("{extjs}/version"))
        .send()
        .await
        .unwrap();
    let a = Answer::from(resp).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body,
        json!({"success": 0, "data": null, "message": "No ticket\n"})
    );
    let resp = env
        .client()
        .get(format!("{extjs}/cluster/config/apiversion"))
        .header(
            "Cookie",
            format!("PVEAuthCookie={}", env.ticket("root@pam")),
        )
        .send()
        .await
        .unwrap();
    let a = Answer::from(resp).await;
    assert_eq!(a.body, json!({"success": 1, "data": 1}));
}
