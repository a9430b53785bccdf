//! The HTTPS listener: binds, serves the application with the node certificate, reloads the
//! certificate on request, shuts down gracefully.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use tokio::task::JoinHandle;

use crate::state::AppState;
use crate::tls;

/// A running server.
pub struct Server {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    state: AppState,
    tls: RustlsConfig,
    handle: Handle,
    task: JoinHandle<std::io::Result<()>>,
}

fn load_tls(state: &AppState) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let (cert, key) = tls::cert_paths(&state.pve, &state.nodename);
    Ok(Arc::new(tls::server_config(&cert, &key)?))
}

/// Binds `listen`; the IPv6 wildcard (`[::]`, dual-stack) falls back to `0.0.0.0` on hosts
/// without IPv6.
fn bind(listen: SocketAddr) -> anyhow::Result<TcpListener> {
    match TcpListener::bind(listen) {
        Ok(l) => Ok(l),
        Err(e) if listen.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED) => {
            let v4 = SocketAddr::from((Ipv4Addr::UNSPECIFIED, listen.port()));
            tracing::warn!("cannot listen on {listen} ({e}), trying {v4}");
            TcpListener::bind(v4).map_err(|e| anyhow::anyhow!("cannot listen on {v4}: {e}"))
        }
        Err(e) => Err(anyhow::anyhow!("cannot listen on {listen}: {e}")),
    }
}

/// Binds `listen` and serves [`crate::routes::app`] over TLS.
pub async fn start(state: AppState, listen: SocketAddr) -> anyhow::Result<Server> {
    start_with(state.clone(), listen, crate::routes::app(state)).await
}

/// Like [`start`] with a given application (tests add routes with
/// [`crate::routes::app_with`]).
pub async fn start_with(
    state: AppState,
    listen: SocketAddr,
    app: Router,
) -> anyhow::Result<Server> {
    let config = RustlsConfig::from_config(load_tls(&state)?);
    let listener = bind(listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let handle = Handle::new();
    let server = axum_server::from_tcp_rustls(listener, config.clone()).handle(handle.clone());
    let task = tokio::spawn(server.serve(app.into_make_service_with_connect_info::<SocketAddr>()));
    tracing::info!("listening on https://{addr}");
    Ok(Server {
        addr,
        state,
        tls: config,
        handle,
        task,
    })
}

impl Server {
    /// Loads the node certificate again (after `pvecm updatecerts` or a join); the old one
    /// stays in use if the new files cannot be read.
    pub fn reload_certificate(&self) -> anyhow::Result<()> {
        let config = load_tls(&self.state)?;
        self.tls.reload_from_config(config);
        tracing::info!("reloaded the TLS certificate");
        Ok(())
    }

    /// Stops accepting connections and lets running requests finish (at most `grace`).
    pub fn shutdown(&self, grace: Duration) {
        self.handle.graceful_shutdown(Some(grace));
    }

    /// Waits until the server has stopped.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await??;
        Ok(())
    }
}
