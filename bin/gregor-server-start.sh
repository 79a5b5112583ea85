#!/usr/bin/env bash
# Starts a Gregor broker, as Kafka's kafka-server-start.sh:
#   bin/gregor-server-start.sh [-daemon] config/server.properties [--override key=value]...
# With -daemon it runs in the background (output in $GREGOR_LOG_DIR/gregor-server-<n>.out,
# PID in $GREGOR_RUN_DIR/gregor-server-<pid>.pid); stop it with bin/gregor-server-stop.sh.
set -euo pipefail
source "$(dirname "$0")/lib/run.sh"

daemon=0
if [[ "${1:-}" == "-daemon" ]]; then daemon=1; shift; fi
if [[ $# -lt 1 || "$1" == "--help" || "$1" == "-h" ]]; then
    echo "USAGE: $0 [-daemon] server.properties [--override property=value]*" >&2
    exit 1
fi
binary="${GREGOR_BUILD_DIR:-$gregor_repo_dir/build}/broker/gregor-server"
if [[ ! -x "$binary" ]]; then
    echo "$0: $binary is not built; run ./bin/quickstart.sh or: cmake -S . -B build && cmake --build build -j2" >&2
    exit 1
fi
mkdir -p "$GREGOR_RUN_DIR" "$GREGOR_LOG_DIR"
if (( daemon )); then
    out="$GREGOR_LOG_DIR/gregor-server-$(basename "$1" .properties).out"
    nohup "$binary" "$@" >>"$out" 2>&1 </dev/null &
    echo $! >"$GREGOR_RUN_DIR/gregor-server-$!.pid"
    echo "Gregor broker starting (pid $!, output in $out)"
else
    echo $$ >"$GREGOR_RUN_DIR/gregor-server-$$.pid"
    exec "$binary" "$@"
fi
