#!/usr/bin/env bash
# Stops the ZooKeeper servers started by bin/zookeeper-server-start.sh, by their PID files.
set -euo pipefail
source "$(dirname "$0")/lib/run.sh"
n="$(gregor_stop_pidfiles 'zookeeper-*.pid' 20)"
[[ "$n" -gt 0 ]] && echo "stopped $n ZooKeeper server(s)" || echo "no ZooKeeper server to stop"
