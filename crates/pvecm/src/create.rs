//! Argument handling of `pvecm create` and `pvecm updatecerts`; the work is in
//! `cluster::create` and `cluster::updatecerts`.

use anyhow::{anyhow, bail, Result};
use clap::Args;
use cluster::create::{self as cc, CreateEnv, CreateParams};
use cluster::links::parse_links;
use cluster::node_ip;
use cluster::services::SystemServices;
use cluster::updatecerts::{self as uc, Options};
use cluster::PveDir;

/// A PVE boolean option: `--force`, `--force 1`, `--force 0`.
pub(crate) fn pve_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("type check ('boolean') failed - got '{s}'")),
    }
}

#[derive(Args)]
pub struct CreateArgs {
    /// The name of the cluster (at most 15 letters, digits or '-').
    clustername: String,
    /// Node id for this node.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    nodeid: Option<u32>,
    /// Number of votes for this node.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    votes: Option<u32>,
    /// Number of milliseconds added to the token timeout per node.
    #[arg(long = "token-coefficient", default_value_t = cc::DEFAULT_TOKEN_COEFFICIENT)]
    token_coefficient: u32,
    #[command(flatten)]
    links: crate::link_args::LinkArgs,
}

pub fn create(args: CreateArgs) -> Result<()> {
    let mut params = CreateParams::new(args.clustername.clone());
    params.nodeid = args.nodeid.unwrap_or(1);
    params.votes = args.votes.unwrap_or(1);
    params.token_coefficient = Some(args.token_coefficient);
    params.links = parse_links(args.links.given())?;
    params.validate()?;
    let env = CreateEnv::system();
    if env.ssh.pve.corosync_conf().exists() {
        bail!("{}", cc::already_exists_message(&env));
    }
    let node = node_ip::short_hostname()?;
    let ip = node_ip::resolve_node_ip(&node)?;
    let local = node_ip::local_addresses()?;
    node_ip::check_links_local(&params.links, &local, |name| {
        node_ip::resolve_node_ip(name).ok()
    })?;
    let services = SystemServices::detect(PveDir::system())?;
    cc::create(&env, &services, &node, ip, &params, &mut |line| {
        println!("{line}")
    })
    .map_err(|e| anyhow!("{e}"))
}

#[derive(Args)]
pub struct UpdatecertsArgs {
    /// Force generation of a new SSL certificate.
    #[arg(long, num_args = 0..=1, default_missing_value = "1", value_parser = pve_bool, default_value = "0")]
    force: bool,
    /// Ignore errors (i.e. when the cluster has no quorum).
    #[arg(long, num_args = 0..=1, default_missing_value = "1", value_parser = pve_bool, default_value = "0")]
    silent: bool,
    /// Unmerge the legacy SSH known hosts.
    #[arg(long = "unmerge-known-hosts", num_args = 0..=1, default_missing_value = "1", value_parser = pve_bool, default_value = "0")]
    unmerge_known_hosts: bool,
}

pub fn updatecerts(args: UpdatecertsArgs) -> Result<()> {
    let node = node_ip::short_hostname()?;
    let opts = Options {
        force: args.force,
        silent: args.silent,
        unmerge_known_hosts: args.unmerge_known_hosts,
    };
    uc::updatecerts(
        &uc::Env::system(),
        &node,
        opts,
        &mut |line| println!("{line}"),
        &mut |line| eprintln!("{line}"),
    )
    .map_err(|e| anyhow!("{e}"))
}
