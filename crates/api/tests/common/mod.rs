//! Test environment: a temporary PVE directory with a CA, node certificates for `n1` and
//! `n2`, the ticket and CSRF keys, a two-node corosync.conf and `.members`; a server for node
//! `n1` on 127.0.0.1:<free port>; a client that pins the server's fingerprint.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use api::auth::AuthUser;
use api::response::ApiData;
use api::server::Server;
use api::{AppState, Settings};
use axum::routing::post;
use axum::Router;
use cluster::certs::{self, NodeCertRequest};
use cluster::{authkey, PveDir};
use serde_json::{json, Value};

pub const NODE: &str = "n1";

pub const COROSYNC_CONF: &str = "logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n  \
node {\n    name: n1\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 192.0.2.1\n  }\n  \
node {\n    name: n2\n    nodeid: 2\n    quorum_votes: 1\n    ring0_addr: 192.0.2.2\n    \
ring1_addr: 198.51.100.2\n  }\n}\n\nquorum {\n  provider: corosync_votequorum\n}\n\ntotem {\n  \
cluster_name: demo\n  config_version: 2\n  interface {\n    linknumber: 0\n  }\n  ip_version: \
ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}\n";

pub const MEMBERS: &str = "{\n\"nodename\": \"n1\",\n\"version\": 4,\n\"cluster\": { \"name\": \
\"demo\", \"version\": 2, \"nodes\": 2, \"quorate\": 1 },\n\"nodelist\": {\n  \"n1\": { \"id\": \
1, \"online\": 1, \"ip\": \"192.0.2.1\"},\n  \"n2\": { \"id\": 2, \"online\": 0, \"ip\": \
\"192.0.2.2\"}\n  }\n}\n";

/// One file of the key template: path below the PVE directory, content, permission bits.
type TemplateFile = (PathBuf, Vec<u8>, u32);

/// Keys and certificates are made once per test process and written into each environment.
/// They are kept in memory: a static `TempDir` is never dropped, so its directory would
/// outlive every test process.
fn template() -> &'static [TemplateFile] {
    static FILES: OnceLock<Vec<TemplateFile>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let pve = PveDir::new(dir.path());
        certs::gen_ca(&pve, false).unwrap();
        for (node, ip) in [("n1", [192, 0, 2, 1]), ("n2", [192, 0, 2, 2])] {
            certs::gen_node_key(&pve, node, false).unwrap();
            let req = NodeCertRequest {
                node: node.into(),
                ip: IpAddr::V4(Ipv4Addr::from(ip)),
                domain: None,
            };
            certs::gen_node_cert(&pve, &req, false).unwrap();
        }
        authkey::gen_auth_key(&pve, false).unwrap();
        authkey::gen_www_key(&pve, false).unwrap();
        let mut files = Vec::new();
        read_tree(dir.path(), Path::new(""), &mut files);
        files
    })
}

fn read_tree(root: &Path, below: &Path, files: &mut Vec<TemplateFile>) {
    for entry in std::fs::read_dir(root.join(below)).unwrap() {
        let entry = entry.unwrap();
        let path = below.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            read_tree(root, &path, files);
        } else {
            let mode = entry.metadata().unwrap().permissions().mode();
            files.push((path, std::fs::read(entry.path()).unwrap(), mode));
        }
    }
}

fn write_template(to: &Path) {
    for (path, content, mode) in template() {
        let target = to.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, content).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
}

/// Test-only POST routes that need a ticket (and so a CSRF token): they echo the user.
pub fn test_routes() -> Router<AppState> {
    async fn echo(user: AuthUser) -> ApiData<Value> {
        ApiData(json!({ "user": user.userid }))
    }
    // `/version` has a GET in the main tree: a POST merged onto it shows that write
    // endpoints can share a path with a read endpoint
    Router::new()
        .route("/quorate-test/echo", post(echo))
        .route("/version", post(echo))
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub pve: PveDir,
    pub server: Server,
    pub base: String,
    /// The server's tasks (logs in `dir/tasks`).
    pub tasks: api::tasks::Tasks,
}

pub struct EnvOptions {
    pub corosync_conf: bool,
    pub members: bool,
    pub login_failure_delay: Duration,
}

impl Default for EnvOptions {
    fn default() -> Self {
        EnvOptions {
            corosync_conf: true,
            members: true,
            login_failure_delay: Duration::from_millis(400),
        }
    }
}

impl Env {
    pub async fn start() -> Env {
        Self::start_with(EnvOptions::default(), |_| {}).await
    }

    /// [`Env::start`] with a second, unprivileged user `alice@pam`.
    pub async fn start_with_alice() -> Env {
        Self::start_with(EnvOptions::default(), |dir| {
            std::fs::write(
                dir.join("user.cfg"),
                "user:root@pam:1:0:::root@localhost::\nuser:alice@pam:1:0::::::\n",
            )
            .unwrap();
        })
        .await
    }

    /// `prepare` may change the PVE directory before the server starts.
    pub async fn start_with(opts: EnvOptions, prepare: impl FnOnce(&Path)) -> Env {
        let dir = tempfile::tempdir().unwrap();
        write_template(dir.path());
        if opts.corosync_conf {
            std::fs::write(dir.path().join("corosync.conf"), COROSYNC_CONF).unwrap();
        }
        if opts.members {
            std::fs::write(dir.path().join(".members"), MEMBERS).unwrap();
        }
        prepare(dir.path());
        let pve = PveDir::new(dir.path());
        let mut settings = Settings::new(pve.clone(), NODE);
        settings.login_failure_delay = opts.login_failure_delay;
        settings.query_corosync = false;
        let tasks = api::tasks::Tasks::new(dir.path().join("tasks"));
        settings.tasks = tasks.clone();
        let state = AppState::new(settings);
        let app = api::routes::app_with(state.clone(), test_routes());
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = api::server::start_with(state, listen, app).await.unwrap();
        let base = format!("https://127.0.0.1:{}/api2/json", server.addr.port());
        Env {
            dir,
            pve,
            server,
            base,
            tasks,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The fingerprint the cluster publishes for the node.
    pub fn fingerprint(&self) -> String {
        certs::node_fingerprint(&self.pve, NODE).unwrap()
    }

    /// A client that trusts only the node's published fingerprint (as PVE's join does).
    pub fn client(&self) -> reqwest::Client {
        pinned_client(&self.fingerprint())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A ticket for `userid` signed with the cluster key at `now`.
    pub fn ticket_at(&self, userid: &str, now: i64) -> String {
        let key = authkey::read_signing_key(&self.pve).unwrap();
        authkey::ticket::assemble_login(&key, userid, now).unwrap()
    }

    pub fn ticket(&self, userid: &str) -> String {
        self.ticket_at(userid, cluster::unix_now())
    }

    pub fn csrf(&self, userid: &str) -> String {
        api::auth::tickets::csrf_token(&self.pve, userid, cluster::unix_now()).unwrap()
    }

    /// GET with a ticket cookie; returns status, reason phrase and JSON body.
    pub async fn get_as(&self, ticket: Option<&str>, path: &str) -> Answer {
        let mut req = self.client().get(self.url(path));
        if let Some(t) = ticket {
            req = req.header("Cookie", format!("PVEAuthCookie={t}"));
        }
        Answer::from(req.send().await.unwrap()).await
    }

    pub async fn get_root(&self, path: &str) -> Answer {
        self.get_as(Some(&self.ticket("root@pam")), path).await
    }
}

pub fn pinned_client(fingerprint: &str) -> reqwest::Client {
    let tls = api::tls::PinnedFingerprint::new(fingerprint)
        .unwrap()
        .client_config();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// An answer: status code, reason phrase as sent, headers, JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub reason: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub async fn from(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string());
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {text:?}"));
        Answer {
            status: status.as_u16(),
            reason,
            headers,
            body,
        }
    }

    pub fn data(&self) -> &Value {
        assert_eq!(self.status, 200, "{self:?}");
        &self.body["data"]
    }

    /// Asserts an error answer in PVE's format with `status` and `message`.
    pub fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.reason, message, "{self:?}");
        assert_eq!(
            self.body,
            json!({ "data": null, "message": format!("{message}\n") }),
            "{self:?}"
        );
    }
}
