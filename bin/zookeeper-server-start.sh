#!/usr/bin/env bash
# Starts Apache ZooKeeper (the Debian package `zookeeper`) with a Kafka-style config, as Kafka's
# zookeeper-server-start.sh does:  bin/zookeeper-server-start.sh [-daemon] config/zookeeper.properties
# With -daemon it runs in the background (output in $GREGOR_LOG_DIR/zookeeper.out, PID in
# $GREGOR_RUN_DIR/zookeeper-<port>.pid); stop it with bin/zookeeper-server-stop.sh.
set -euo pipefail
source "$(dirname "$0")/lib/run.sh"

daemon=0
if [[ "${1:-}" == "-daemon" ]]; then daemon=1; shift; fi
if [[ $# -ne 1 || "$1" == "--help" || "$1" == "-h" ]]; then
    echo "USAGE: $0 [-daemon] zookeeper.properties" >&2
    exit 1
fi
config="$1"
[[ -r "$config" ]] || { echo "$0: cannot read $config" >&2; exit 1; }
command -v java >/dev/null || { echo "$0: java is not installed (apt-get install zookeeper)" >&2; exit 1; }
[[ -r /usr/share/java/zookeeper.jar ]] || {
    echo "$0: the ZooKeeper jars are missing (apt-get install zookeeper)" >&2; exit 1; }

prop() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$config" | tail -n 1; }
data_dir="$(prop dataDir)"
port="$(prop clientPort)"
[[ -n "$data_dir" && -n "$port" ]] || { echo "$0: $config needs dataDir and clientPort" >&2; exit 1; }
mkdir -p "$data_dir" "$GREGOR_RUN_DIR" "$GREGOR_LOG_DIR"

cmd=(java -Xmx512m -Dzookeeper.log.dir="$GREGOR_LOG_DIR" -Dlog4j.configuration=file:/etc/zookeeper/conf/log4j.properties
     -cp "/usr/share/java/*:/usr/share/zookeeper/*" org.apache.zookeeper.server.quorum.QuorumPeerMain "$config")
if (( daemon )); then
    nohup "${cmd[@]}" >>"$GREGOR_LOG_DIR/zookeeper.out" 2>&1 </dev/null &
    echo $! >"$GREGOR_RUN_DIR/zookeeper-$port.pid"
    echo "ZooKeeper starting on port $port (pid $!, output in $GREGOR_LOG_DIR/zookeeper.out)"
else
    echo $$ >"$GREGOR_RUN_DIR/zookeeper-$port.pid"
    exec "${cmd[@]}"
fi
