//! `quorate-api`: serves the PVE-compatible API on port 8006 (see the library documentation).
//!
//! Signals: SIGTERM/SIGINT stop gracefully (running requests get 10 s), SIGHUP reloads the
//! node certificate. Log level: `RUST_LOG` (default `info`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use api::state::{short_hostname, DEFAULT_PAM_SERVICE};
use api::{AppState, Settings};
use clap::Parser;
use cluster::PveDir;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, Parser)]
#[command(
    name = "quorate-api",
    version,
    about = "PVE-compatible HTTPS API daemon (login, cluster status, join information)"
)]
struct Cli {
    /// Address and port to listen on.
    #[arg(long, default_value = "[::]:8006")]
    listen: SocketAddr,
    /// The cluster file system.
    #[arg(long, default_value = "/etc/pve")]
    pve_dir: PathBuf,
    /// This node's name (default: the short host name).
    #[arg(long)]
    nodename: Option<String>,
    /// PAM service for `@pam` logins.
    #[arg(long, default_value = DEFAULT_PAM_SERVICE)]
    pam_service: String,
    /// Seconds to wait before answering a failed login.
    #[arg(long, default_value_t = 3.0)]
    login_failure_delay: f64,
}

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let nodename = cli.nodename.clone().unwrap_or_else(short_hostname);
    cluster::links::check_node_name(&nodename)
        .map_err(|e| anyhow::anyhow!("invalid node name '{nodename}': {}", e.0))?;
    let mut s = Settings::new(PveDir::new(&cli.pve_dir), nodename);
    s.pam_service = cli.pam_service.clone();
    s.login_failure_delay = Duration::try_from_secs_f64(cli.login_failure_delay)
        .map_err(|e| anyhow::anyhow!("invalid --login-failure-delay: {e}"))?;
    Ok(s)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let state = AppState::new(settings(&cli)?);
    let server = api::server::start(state, cli.listen).await?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                if let Err(e) = server.reload_certificate() {
                    tracing::error!("keeping the old certificate: {e:#}");
                }
            }
        }
    }
    tracing::info!("shutting down");
    server.shutdown(Duration::from_secs(10));
    server.wait().await
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("quorate-api: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("quorate-api: {e:#}");
            ExitCode::FAILURE
        }
    }
}
