//! `up --cluster NAME`: form a cluster with pvecm exactly as a user would: `pvecm create` on
//! node1, then `pvecm add 10.99.0.1 --fingerprint …` on node2…nodeN one after another (so
//! nodeK gets node id K), the root password given on standard input.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context, Result};

use crate::hosts;
use crate::layout::Lab;

/// Runs `pvecm ARGS…` in `node`, feeding `input`; fails with pvecm's own output.
fn pvecm(lab: &Lab, node: &str, pvecm: &Path, args: &[&str], input: &str) -> Result<String> {
    let mut child = hosts::command_in(lab, node, pvecm)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run pvecm")?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "`pvecm {}` failed on {node}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The SHA-256 fingerprint of node1's API certificate, as `pvecm add --fingerprint` wants it.
fn fingerprint(lab: &Lab, node: &str) -> Result<String> {
    let cert = format!("/etc/pve/nodes/{node}/pve-ssl.pem");
    let out = hosts::command_in(lab, node, Path::new("openssl"))
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in", &cert])
        .output()
        .context("cannot run openssl")?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim().split_once('=') {
        Some((_, fp)) if out.status.success() => Ok(fp.to_string()),
        _ => bail!("cannot read the fingerprint of {cert} on {node}"),
    }
}

/// Creates cluster `name` on node1 and joins every other node to it.
pub fn form(lab: &Lab, ctl: &Path, name: &str, password: &str) -> Result<()> {
    let pvecm_bin = ctl.with_file_name("pvecm");
    pvecm(lab, "node1", &pvecm_bin, &["create", name], "")?;
    let fp = fingerprint(lab, "node1")?;
    let (_, first) = lab.addresses("node1")[0];
    let first = first.to_string();
    for node in lab.node_names().iter().skip(1) {
        pvecm(
            lab,
            node,
            &pvecm_bin,
            &["add", &first, "--fingerprint", &fp],
            &format!("{password}\n"),
        )?;
    }
    Ok(())
}
