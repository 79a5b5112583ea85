#!/usr/bin/env bash
# From a fresh clone to a running Gregor on this machine:
#   ./bin/quickstart.sh        installs what is missing (apt-get), builds (Release, -j2), starts
#                              ZooKeeper (127.0.0.1:2181) and three brokers (ids 1-3 on
#                              127.0.0.1:9092-9094, config/server-1..3.properties), creates the
#                              topic test-events with 3 partitions (replication factor 3), shows the brokers and the
#                              partitions' leaders, sends a record through it and reads it back.
#                              The cluster keeps running afterwards.
#   ./bin/quickstart.sh stop   stops everything it started (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/lib/deps.sh
source bin/lib/run.sh

export GREGOR_BUILD_DIR="${GREGOR_BUILD_DIR:-$PWD/build}"
bootstrap=127.0.0.1:9092
broker_ids=(1 2 3)
broker_port() { echo $((9091 + $1)); }

if [[ "${1:-}" == "stop" ]]; then
    bin/gregor-server-stop.sh
    bin/zookeeper-server-stop.sh
    exit 0
fi

gregor_install_deps
echo "== building (Release) in $GREGOR_BUILD_DIR"
cmake -S . -B "$GREGOR_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DGREGOR_BENCH=OFF >/dev/null
cmake --build "$GREGOR_BUILD_DIR" -j 2 --target gregor-server gregor-topics gregor-cluster gregor-console-producer \
    gregor-console-consumer gregor-producer-perf-test gregor-consumer-perf-test gregor-verifiable-producer \
    gregor-verifiable-consumer gregor-reassign-partitions gregor-dump-log

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for_quietly() {  # wait_for_quietly <seconds> <command...>: false when time runs out
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        (( SECONDS < deadline )) || return 1
        sleep 0.2
    done
}
wait_for() {  # wait_for <what> <seconds> <command...>
    local what="$1" limit="$2"; shift 2
    wait_for_quietly "$limit" "$@" || { echo "$what did not come up in ${limit}s; see $GREGOR_LOG_DIR" >&2; exit 1; }
}
zk_ok() { [[ "$( (exec 3<>/dev/tcp/127.0.0.1/2181; echo ruok >&3; cat <&3) 2>/dev/null)" == imok ]]; }

if zk_ok; then
    echo "== ZooKeeper already answers on 127.0.0.1:2181"
else
    port_open 2181 && { echo "port 2181 is taken by something that is not ZooKeeper" >&2; exit 1; }
    bin/zookeeper-server-start.sh -daemon config/zookeeper.properties
    wait_for ZooKeeper 60 zk_ok
fi
for id in "${broker_ids[@]}"; do
    if port_open "$(broker_port "$id")"; then
        echo "== a broker already listens on 127.0.0.1:$(broker_port "$id")"
    else
        bin/gregor-server-start.sh -daemon "config/server-$id.properties"
    fi
done
for id in "${broker_ids[@]}"; do wait_for "Broker $id" 60 port_open "$(broker_port "$id")"; done
# Registered: every broker is in the Metadata answer and one of them is the controller.
cluster_ready() {
    local out
    out="$(bin/gregor-cluster.sh --bootstrap-server "$bootstrap" 2>/dev/null)" || return 1
    [[ "$out" != *"Controller: none"* ]] || return 1
    for id in "${broker_ids[@]}"; do
        grep -qE "^  $id +127\.0\.0\.1:$(broker_port "$id") " <<<"$out" || return 1
    done
}
wait_for "The brokers' registration" 60 cluster_ready
echo "== the cluster"
bin/gregor-cluster.sh --bootstrap-server "$bootstrap"

echo "== creating topic test-events"
# Every partition on all three brokers; a write is acknowledged once two of them have it.
bin/gregor-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists --topic test-events \
    --partitions 3 --replication-factor 3 --config min.insync.replicas=2
# A test-events that ZooKeeper kept from an earlier run on other broker ids (the one-broker
# quickstart used id 0) has partitions on brokers that never come back, and cannot even be
# deleted (deletion waits for them).
all_led() {
    local out
    out="$(bin/gregor-topics.sh --bootstrap-server "$bootstrap" --describe --topic test-events \
        --unavailable-partitions 2>/dev/null)" && [[ -z "$out" ]]
}
if ! wait_for_quietly 30 all_led; then
    echo "test-events is not served by brokers 1-3: an earlier run on other broker ids left it in" >&2
    echo "ZooKeeper's data. Start afresh (this deletes the quickstart's data):" >&2
    echo "  ./bin/quickstart.sh stop && rm -rf /tmp/gregor-zookeeper /tmp/gregor-logs-{1,2,3} && ./bin/quickstart.sh" >&2
    exit 1
fi
bin/gregor-topics.sh --bootstrap-server "$bootstrap" --describe --topic test-events

record="hello from the quickstart at $(date +%H:%M:%S)"
echo "== producing: $record"
echo "$record" | bin/gregor-console-producer.sh --bootstrap-server "$bootstrap" --topic test-events \
    --producer-property acks=all
echo "== consuming test-events from the beginning"
# It reads until 5 s pass without a record; the consumer then reports its timeout on stderr as
# Kafka's does, which is only news when the record did not come back.
bin/gregor-console-consumer.sh --bootstrap-server "$bootstrap" --topic test-events --from-beginning \
    --timeout-ms 5000 --property print.offset=true 2>/tmp/gregor-quickstart.err | tee /tmp/gregor-quickstart.out
if ! grep -qF "$record" /tmp/gregor-quickstart.out; then
    cat /tmp/gregor-quickstart.err >&2
    echo "the record did not come back" >&2
    exit 1
fi

cat <<EOT

Gregor is running: ZooKeeper on 127.0.0.1:2181, brokers 1-3 on 127.0.0.1:9092-9094 (logs in
$GREGOR_LOG_DIR). Try:
  bin/gregor-cluster.sh --bootstrap-server $bootstrap
  bin/gregor-console-producer.sh --bootstrap-server $bootstrap --topic test-events
  bin/gregor-console-consumer.sh --bootstrap-server $bootstrap --topic test-events --from-beginning
  bin/gregor-topics.sh --bootstrap-server $bootstrap --create --topic orders --partitions 3
  bin/gregor-producer-perf-test.sh --topic orders --num-records 100000 --record-size 100 --throughput -1 --producer-props bootstrap.servers=$bootstrap
Stop everything with: ./bin/quickstart.sh stop
EOT
