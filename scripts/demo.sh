#!/usr/bin/env bash
# The main job: a 3-node Corosync cluster in the lab, and every node's quorum status.
# Remove it afterwards with `quorate-lab down`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
quorate-lab down
quorate-lab up --nodes 3 --corosync
for node in node1 node2 node3; do
  echo "=== $node"
  quorate-lab exec "$node" -- corosync-quorumtool -s
done
