#!/usr/bin/env bash
# Stops the brokers started by bin/gregor-server-start.sh (clean shutdown: SIGTERM), by PID.
set -euo pipefail
source "$(dirname "$0")/lib/run.sh"
n="$(gregor_stop_pidfiles 'gregor-server-*.pid' 60)"
[[ "$n" -gt 0 ]] && echo "stopped $n broker(s)" || echo "no broker to stop"
