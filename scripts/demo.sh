#!/usr/bin/env bash
# The main job: a 3-node cluster in the lab made with `pvecm create` / `pvecm add` on real
# Corosync, and every node's `pvecm status`. Remove it afterwards with `quorate-lab down`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
quorate-lab down
quorate-lab up --nodes 3 --cluster demo
for node in node1 node2 node3; do
  echo "=== $node"
  quorate-lab exec "$node" -- pvecm status
done
echo "=== /etc/pve is shared: written on node1, read on node3"
quorate-lab exec node1 -- sh -c 'echo "keyboard: de" > /etc/pve/datacenter.cfg'
quorate-lab exec node3 -- cat /etc/pve/datacenter.cfg
