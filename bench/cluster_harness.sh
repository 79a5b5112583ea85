# shellcheck shell=bash disable=SC2154  # repo, build, build_it, keep, bench_name: set by the sourcing script
# The cluster under test for bench/run_cluster_bench.sh and bench/run_replication_bench.sh,
# sourced by them: builds what they need, makes a fresh temporary directory, starts one
# ZooKeeper on a free 127.0.0.1 port and gives the functions that make clusters of three
# gregor-server processes in it (one ZooKeeper chroot and fresh log directories each). Every
# process it starts is stopped by PID when the script exits, Ctrl-C included; the temporary
# directory is removed unless --keep was given or the script failed.
#
# The sourcing script sets first: repo, build (the CMake build directory), build_it (0 or 1),
# keep (0 or 1), bench_name (names the temporary directory) and build_targets (besides
# gregor-server and gregor-topics). It sets failed=0 once its work is done; until then an exit
# counts as a failure and prints the last lines of every log.
# Afterwards it has: work, results (key TAB value TAB note lines, see `record`), server,
# topics_tool, helper (bench/cluster_bench.py), build_type, zk_port, pid[] (zk, 1, 2, 3).

command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }
command -v java >/dev/null && [[ -r /usr/share/java/zookeeper.jar ]] ||
    { echo "java and the ZooKeeper jars are needed: apt-get install zookeeper default-jre-headless" >&2; exit 1; }
if ((build_it)) || [[ ! -x "$build/broker/gregor-server" ]]; then
    # As bin/quickstart.sh: the build directory is (re)configured Release.
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j "$(nproc)" --target gregor-server gregor-topics ${build_targets:-}
fi
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)"
[[ "$build_type" == Release ]] ||
    echo "warning: $build is configured '${build_type:-no build type}', not Release: the figures will be slower" >&2
server="$build/broker/gregor-server"
topics_tool="$build/admin-cli/gregor-topics"
helper=(python3 "$repo/bench/cluster_bench.py")

work="$(mktemp -d "${TMPDIR:-/tmp}/gregor-$bench_name.XXXXXX")"
results="$work/results.tsv"
: >"$results"
declare -A pid=()    # "zk", "1", "2", "3" -> PID of what this script started
failed=1

gone() { while kill -0 "$1" 2>/dev/null; do sleep 0.02; done; }  # gone <pid>: until it has exited
stop_pid() {  # stop_pid <pid> <signal> <grace seconds>: signal, wait, then SIGKILL
    local p="$1" sig="$2" grace="$3" waited=0
    kill -0 "$p" 2>/dev/null || return 0
    kill "-$sig" "$p" 2>/dev/null || true
    while kill -0 "$p" 2>/dev/null && ((waited < grace * 10)); do sleep 0.1; waited=$((waited + 1)); done
    if kill -0 "$p" 2>/dev/null; then
        echo "pid $p did not stop in ${grace}s after SIG$sig; killing it" >&2
        kill -KILL "$p" 2>/dev/null || true
    fi
    gone "$p"
}
cleanup() {
    local k
    for k in "${!pid[@]}"; do [[ "$k" == zk ]] || kill -TERM "${pid[$k]}" 2>/dev/null || true; done
    for k in "${!pid[@]}"; do [[ "$k" == zk ]] || stop_pid "${pid[$k]}" TERM 30; done
    [[ -n "${pid[zk]:-}" ]] && stop_pid "${pid[zk]}" TERM 30
    if ((failed)); then
        echo "== FAILED; the last lines of each log (all kept in $work/logs):" >&2
        for f in "$work"/logs/*.log; do [[ -f "$f" ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
        keep=1
    fi
    if ((keep)); then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() {  # free_ports N: N TCP ports free on 127.0.0.1 right now
    python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}
read -r zk_port p1 p2 p3 < <(free_ports 4)
port=([1]=$p1 [2]=$p2 [3]=$p3)
addr() { echo "127.0.0.1:${port[$1]}"; }
all_addrs() { echo "$(addr 1),$(addr 2),$(addr 3)"; }
others() {  # the addresses of the brokers other than $1
    local k a=()
    for k in 1 2 3; do [[ "$k" == "$1" ]] || a+=("$(addr "$k")"); done
    (IFS=,; echo "${a[*]}")
}
now() { echo "$EPOCHREALTIME"; }
log() { echo "== $*" >&2; }
record() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$results"; }  # key value [note]
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f\n", a - b }'; }
describe_run() {  # the line under a results file's title: the command, the machine, the build
    echo "\`$1\`; $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) of memory, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; ${build_type:-no build type} build; git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet 2>/dev/null || echo ' with local changes')."
}

mkdir -p "$work/logs" "$work/zk"
cat >"$work/zoo.cfg" <<EOF
dataDir=$work/zk
clientPort=$zk_port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok
tickTime=2000
EOF
log "ZooKeeper on 127.0.0.1:$zk_port, brokers on ports $p1 $p2 $p3, everything under $work"
java -Xmx512m -Dzookeeper.log.dir="$work/logs" -Dlog4j.configuration=file:/etc/zookeeper/conf/log4j.properties \
    -cp "/usr/share/java/*:/usr/share/zookeeper/*" org.apache.zookeeper.server.quorum.QuorumPeerMain \
    "$work/zoo.cfg" >"$work/logs/zookeeper.log" 2>&1 </dev/null &
pid[zk]=$!
zk_ok() {  # a ZooKeeper that is still starting may accept and not answer: bounded by timeout
    [[ "$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$zk_port; echo ruok >&3; cat <&3" 2>/dev/null)" == imok ]]
}
zk_deadline=$((SECONDS + 60))
until zk_ok || ((SECONDS > zk_deadline)); do sleep 0.1; done
zk_ok || { echo "ZooKeeper did not come up" >&2; exit 1; }

cluster="" session_ms=18000
new_cluster() {  # new_cluster <name> <session timeout ms> [key=value...]: broker settings added
    cluster="$1" session_ms="$2"
    shift 2
    local k
    for k in 1 2 3; do
        mkdir -p "$work/$cluster/data-$k"
        cat >"$work/$cluster/server-$k.properties" <<EOF
broker.id=$k
listeners=PLAINTEXT://$(addr "$k")
log.dirs=$work/$cluster/data-$k
zookeeper.connect=127.0.0.1:$zk_port/$cluster
zookeeper.session.timeout.ms=$session_ms
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
EOF
        (($#)) && printf '%s\n' "$@" >>"$work/$cluster/server-$k.properties"
    done
    return 0
}
start_broker() {
    # Through a subshell that waits for it, so that a SIGKILL is not announced by this shell
    # ("Killed ...") and the process is reaped as soon as it dies; pid[] is the broker itself.
    local f="$work/$cluster/broker-$1.pid"
    rm -f "$f"
    ( "$server" "$work/$cluster/server-$1.properties" >>"$work/logs/$cluster-broker-$1.log" 2>&1 </dev/null &
      echo $! >"$f"; wait $! ) 2>/dev/null &
    until [[ -s "$f" ]]; do sleep 0.01; done
    pid[$1]=$(cat "$f")
}
stop_broker() {  # stop_broker <id> <signal>: and wait until the process is gone
    stop_pid "${pid[$1]}" "$2" 120
    unset "pid[$1]"
}
wait_registered() {  # all three in /brokers/ids and a controller
    "${helper[@]}" wait-registered --zk "127.0.0.1:$zk_port" --chroot "/$cluster" --ids 1,2,3 \
        --timeout "${1:-120}" >/dev/null
}
controller() { "${helper[@]}" controller --zk "127.0.0.1:$zk_port" --chroot "/$cluster" | jget 'd["controller"]'; }
start_cluster() {
    local k
    for k in 1 2 3; do start_broker "$k"; done
    wait_registered
}
stop_cluster() {
    local k
    for k in 1 2 3; do [[ -n "${pid[$k]:-}" ]] && kill -TERM "${pid[$k]}" 2>/dev/null || true; done
    for k in 1 2 3; do [[ -n "${pid[$k]:-}" ]] && stop_broker "$k" TERM; done
    return 0
}
create_topic() {  # create_topic <name> <partitions> <rf>: with gregor-topics, prints seconds
    local t0 t1
    t0=$(now)
    "$topics_tool" --bootstrap-server "$(all_addrs)" --create --topic "$1" --partitions "$2" \
        --replication-factor "$3" >/dev/null
    t1=$(now)
    minus "$t1" "$t0"
}
led_by() {  # led_by <broker id> <topic>: comma-separated partitions of topic led by broker id
    "${helper[@]}" leaders --broker "$(all_addrs | cut -d, -f1)" --topic "$2" |
        jget '",".join(str(p) for p, l in sorted(d["leaders"].items(), key=lambda x: int(x[0])) if l == '"$1"')'
}
all_led() {  # all_led <topic> <partitions>: until every broker shows each partition led (and a produce to each is accepted)
    local k
    for k in 1 2 3; do
        "${helper[@]}" wait-online --brokers "$(addr "$k")" --topic "$1" \
            --partitions "$(seq -s, 0 $(($2 - 1)))" --timeout 120 >/dev/null
    done
}
