#!/usr/bin/env bash
# Runs the whole test suite: unit, property and fuzz-corpus tests, then the lab tests on real
# Corosync clusters (one lab at a time). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo nextest run --workspace
