#!/usr/bin/env bash
# From a fresh clone to a running Gregor on this machine:
#   ./bin/quickstart.sh        installs what is missing (apt-get), builds (Release, -j2), starts
#                              ZooKeeper and a broker on 127.0.0.1 from config/, creates the topic
#                              test-events, sends a record through it and reads it back. The
#                              cluster keeps running afterwards.
#   ./bin/quickstart.sh stop   stops everything it started (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/lib/deps.sh
source bin/lib/run.sh

export GREGOR_BUILD_DIR="${GREGOR_BUILD_DIR:-$PWD/build}"
bootstrap=127.0.0.1:9092

if [[ "${1:-}" == "stop" ]]; then
    bin/gregor-server-stop.sh
    bin/zookeeper-server-stop.sh
    exit 0
fi

gregor_install_deps
echo "== building (Release) in $GREGOR_BUILD_DIR"
cmake -S . -B "$GREGOR_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DGREGOR_BENCH=OFF >/dev/null
cmake --build "$GREGOR_BUILD_DIR" -j 2 --target gregor-server gregor-topics gregor-console-producer \
    gregor-console-consumer gregor-producer-perf-test gregor-consumer-perf-test gregor-verifiable-producer \
    gregor-dump-log

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {  # wait_for <what> <seconds> <command...>
    local what="$1" limit="$2"; shift 2
    local deadline=$((SECONDS + limit))
    until "$@"; do
        if (( SECONDS >= deadline )); then echo "$what did not come up in ${limit}s; see $GREGOR_LOG_DIR" >&2; exit 1; fi
        sleep 0.2
    done
}
zk_ok() { [[ "$( (exec 3<>/dev/tcp/127.0.0.1/2181; echo ruok >&3; cat <&3) 2>/dev/null)" == imok ]]; }

if zk_ok; then
    echo "== ZooKeeper already answers on 127.0.0.1:2181"
else
    port_open 2181 && { echo "port 2181 is taken by something that is not ZooKeeper" >&2; exit 1; }
    bin/zookeeper-server-start.sh -daemon config/zookeeper.properties
    wait_for ZooKeeper 60 zk_ok
fi
if port_open 9092; then
    echo "== a broker already listens on $bootstrap"
else
    bin/gregor-server-start.sh -daemon config/server.properties
    wait_for "The broker" 60 port_open 9092
fi

echo "== creating topic test-events"
wait_for "The broker's registration" 60 bin/gregor-topics.sh --bootstrap-server "$bootstrap" --list >/dev/null
bin/gregor-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists --topic test-events --partitions 1
bin/gregor-topics.sh --bootstrap-server "$bootstrap" --describe --topic test-events

record="hello from the quickstart at $(date +%H:%M:%S)"
echo "== producing: $record"
echo "$record" | bin/gregor-console-producer.sh --bootstrap-server "$bootstrap" --topic test-events
echo "== consuming test-events from the beginning"
bin/gregor-console-consumer.sh --bootstrap-server "$bootstrap" --topic test-events --from-beginning \
    --timeout-ms 5000 --property print.offset=true | tee /tmp/gregor-quickstart.out
grep -qF "$record" /tmp/gregor-quickstart.out || { echo "the record did not come back" >&2; exit 1; }

cat <<EOT

Gregor is running: ZooKeeper on 127.0.0.1:2181, a broker on $bootstrap (logs in $GREGOR_LOG_DIR).
Try:
  bin/gregor-console-producer.sh --bootstrap-server $bootstrap --topic test-events
  bin/gregor-console-consumer.sh --bootstrap-server $bootstrap --topic test-events --from-beginning
  bin/gregor-topics.sh --bootstrap-server $bootstrap --create --topic orders --partitions 3
  bin/gregor-producer-perf-test.sh --topic orders --num-records 100000 --record-size 100 --throughput -1 --producer-props bootstrap.servers=$bootstrap
Stop everything with: ./bin/quickstart.sh stop
EOT
