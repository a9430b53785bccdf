#!/usr/bin/env bash
# Installs what Quorate needs on Debian 12 (as root), builds the workspace, and puts the lab
# tools on PATH. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  corosync corosync-qdevice corosync-qnetd              # the engine, QDevice and its arbiter
  libcpg-dev libcfg-dev libcmap-dev libquorum-dev        # what rust-corosync links against
  libvotequorum-dev libcorosync-common-dev
  fuse3 libfuse3-dev pkg-config                          # /etc/pve (pmxcfs)
  iproute2 nftables util-linux mount procps iputils-ping # the lab's namespaces and cuts
  curl                                                   # HTTP checks inside lab nodes (tests)
  python3 python3-proxmoxer                              # an unchanged PVE API client library (tests)
  libnss3-tools openssh-client openssh-server            # qdevice certificates, node ssh keys
  libssl-dev openssl libcrypt-openssl-rsa-perl          # cluster certs/tickets (+ CLI and Perl cross-checks in tests)
  gcc
  etcd-server etcd-client                                # peer in the benchmark harness (bench/)
  libpam0g-dev libclang-dev                              # API daemon: PAM logins (pam-sys generates its bindings with bindgen)
)

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (it installs Debian packages and the lab needs root)" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: no Rust toolchain found: install one with rustup (https://rustup.rs), then run this again" >&2
  exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

cargo build --workspace --bins
for bin in quorate-lab quorate-probe; do
  ln -sf "$PWD/target/debug/$bin" "/usr/local/bin/$bin"
done
