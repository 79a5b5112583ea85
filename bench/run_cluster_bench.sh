#!/usr/bin/env bash
# The cluster figures of issue 5: starts its own ZooKeeper and three gregor-server processes on
# free 127.0.0.1 ports (everything under a fresh temporary directory), measures controller
# failover, partition leader failover, controlled shutdown, topic creation, and a restart of a
# 10,000-partition cluster, prints a markdown table and writes it to
# bench/results/cluster-<date>.md. Everything it started is stopped by PID on exit.
#
# Usage: bench/run_cluster_bench.sh [--runs N] [--short-runs N] [--only PHASES] [--no-build]
#                                   [--keep] [--out FILE]
#   --runs        repetitions of each measurement (default 3)
#   --short-runs  repetitions of the failovers with a 6 s session timeout (default 5)
#   --only        comma-separated subset of: controller,partition,shutdown,create,large
#                 (default all of them; "large" creates the 10,000 partitions itself)
#   --no-build    use the binaries already in the build directory
#   --keep        keep the temporary directory (configs, data, logs); kept anyway on failure
#   --out FILE    where the table goes (default bench/results/cluster-<date>.md)
# Environment: GREGOR_BUILD_DIR, the CMake build directory (default build; configured Release
# and gregor-server and gregor-topics built, as bin/quickstart.sh does, unless --no-build).
# Needs java and the Debian package zookeeper (./bin/quickstart.sh installs them) and python3
# (standard library only: bench/cluster_bench.py). Takes about 5 minutes.
set -euo pipefail
export LC_ALL=C

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/bin/lib/deps.sh"   # GREGOR_PACKAGES, gregor_install_deps, ccache settings
build="${GREGOR_BUILD_DIR:-build}"
[[ "$build" = /* ]] || build="$repo/$build"
runs=3
short_runs=5
only="controller,partition,shutdown,create,large"
build_it=1
keep=0
out=""
while (($#)); do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --short-runs) short_runs="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --no-build) build_it=0; shift ;;
        --keep) keep=1; shift ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
phase() { [[ ",$only," == *",$1,"* ]]; }
out="${out:-$repo/bench/results/cluster-$(date +%Y-%m-%d).md}"

bench_name="cluster-bench"
build_targets=""
source "$repo/bench/cluster_harness.sh"   # ZooKeeper started; new_cluster, start_cluster, record ...

# --------------------------------------------------------------------------- failovers
failover_cluster() {  # failover_cluster <session ms>
    local st="$1" r c t0 res victim parts n="$runs"
    [[ "$st" != "${session_list[0]}" ]] || n="$short_runs"
    new_cluster "failover-$st" "$st"
    log "cluster with zookeeper.session.timeout.ms=$st"
    start_cluster
    create_topic rf1 30 1 >/dev/null
    if phase controller; then
        for r in $(seq "$n"); do
            c=$(controller)
            res=$("${helper[@]}" wait-controller --zk "127.0.0.1:$zk_port" --chroot "/$cluster" \
                  --not "$c" --brokers "$(others "$c")" --gone "/brokers/ids/$c" --then-offline \
                  --topic rf1 --kill "${pid[$c]}" --timeout 120)
            log "controller $c SIGKILLed: $res"
            record "ctl_expired_$st" "$(jget 'd["expired"]' <<<"$res")"
            record "ctl_zk_$st" "$(jget 'd["zk"]' <<<"$res")"
            record "ctl_zk_minus_$st" "$(minus "$(jget 'd["zk"]' <<<"$res")" "$((st / 1000))")"
            record "ctl_md_$st" "$(jget 'd["metadata"]' <<<"$res")"
            record "ctl_part_off_$st" "$(jget 'd["offline"]' <<<"$res")"
            record "ctl_part_off_after_expiry_$st" "$(jget 'round(d["offline"] - d["expired"], 4)' <<<"$res")"
            gone "${pid[$c]}"
            start_broker "$c"
            wait_registered
            all_led rf1 30
        done
    fi
    if phase partition; then
        for r in $(seq "$n"); do
            c=$(controller)
            victim=$(( (c + r - 1) % 3 + 1 ))   # a broker that is not the controller
            [[ "$victim" != "$c" ]] || victim=$(( c % 3 + 1 ))
            parts=$(led_by "$victim" rf1)
            [[ -n "$parts" ]] || { echo "broker $victim leads no partition of rf1" >&2; exit 1; }
            res=$("${helper[@]}" wait-offline --brokers "$(others "$victim")" --topic rf1 \
                  --partitions "$parts" --zk "127.0.0.1:$zk_port" --chroot "/$cluster" \
                  --gone "/brokers/ids/$victim" --kill "${pid[$victim]}" --timeout 120)
            gone "${pid[$victim]}"
            log "broker $victim SIGKILLed, its partitions $parts offline: $res"
            record "part_off_$st" "$(jget 'd["offline"]' <<<"$res")"
            record "part_off_minus_$st" "$(minus "$(jget 'd["offline"]' <<<"$res")" "$((st / 1000))")"
            record "part_expired_$st" "$(jget 'd["expired"]' <<<"$res")"
            record "part_off_after_expiry_$st" "$(jget 'round(d["offline"] - d["expired"], 4)' <<<"$res")"
            t0=$(now)
            start_broker "$victim"
            res=$("${helper[@]}" wait-online --brokers "$(all_addrs)" --topic rf1 \
                  --partitions "$parts" --since "$t0" --timeout 120)
            log "broker $victim restarted, its partitions back: $res"
            record "part_back_leader_$st" "$(jget 'd["leader"]' <<<"$res")"
            record "part_back_produce_$st" "$(jget 'd["produce"]' <<<"$res")"
            wait_registered
        done
    fi
    if phase shutdown && [[ "$st" == "${session_list[0]}" ]]; then
        for r in $(seq "$runs"); do
            # A fresh RF=3 topic each run: without replication a broker that left an ISR
            # never rejoins it, so a second move on the same topic would find no ISR member.
            create_topic "rf3-$r" 30 3 >/dev/null
            c=$(controller)
            victim=$(( (c + r - 1) % 3 + 1 ))
            [[ "$victim" != "$c" ]] || victim=$(( c % 3 + 1 ))
            parts=$(led_by "$victim" "rf3-$r")
            [[ -n "$parts" ]] || { echo "broker $victim leads no partition of rf3-$r" >&2; exit 1; }
            res=$("${helper[@]}" wait-moved --brokers "$(others "$victim")" --topic "rf3-$r" \
                  --away "$victim" --kill "${pid[$victim]}" --signal TERM --timeout 120)
            log "broker $victim SIGTERMed, leadership of rf3-$r partitions $parts moved: $res"
            record "cs_moved" "$(jget 'd["moved"]' <<<"$res")"
            record "cs_exit" "$(jget 'd["exited"]' <<<"$res")"
            start_broker "$victim"
            wait_registered
            all_led rf1 30
        done
    fi
    if phase create && [[ "$st" == "${session_list[0]}" ]]; then
        log "100 topics x 10 partitions in one CreateTopics request"
        res=$("${helper[@]}" create --bootstrap "$(addr 1)" --prefix small --count 100 --partitions 10)
        record "create_100x10_one_request" "$(jget 'd["create"]' <<<"$res")"
        log "100 topics x 10 partitions, one gregor-topics --create each"
        local t_start
        t_start=$(now)
        for r in $(seq 0 99); do
            "$topics_tool" --bootstrap-server "$(all_addrs)" --create --topic "tool-small-$r" \
                --partitions 10 --replication-factor 1 >/dev/null
        done
        record "create_100x10_tool" "$(minus "$(now)" "$t_start")"
    fi
    stop_cluster
}

session_list=(6000 18000)
if phase controller || phase partition || phase shutdown || phase create; then
    for st in "${session_list[@]}"; do
        if [[ "$st" != "${session_list[0]}" ]] && ! phase controller && ! phase partition; then break; fi
        failover_cluster "$st"
    done
fi

# --------------------------------------------------------------------------- 10,000 partitions
if phase create || phase large; then
    new_cluster large 18000
    log "cluster with zookeeper.session.timeout.ms=18000: ten topics of 1,000 partitions, RF=1"
    start_cluster
    n_topics=$(phase large && echo 10 || echo "$runs")
    for i in $(seq 0 $((n_topics - 1))); do
        s=$(create_topic "big-$i" 1000 1)
        log "big-$i (1,000 partitions) created in ${s}s, $((i * 1000)) partitions there before"
        if ((i == 0)); then record create_1000_first "$s"; else record create_1000_later "$s"; fi
        record create_1000_all "$s"
    done
fi
if phase large; then
    "${helper[@]}" wait-all-leaders --brokers "$(all_addrs)" --expect 10000 --timeout 60 >/dev/null
    log "10,000 partitions led, seen from every broker"
    rss_of() { awk '/^VmRSS/ { print $2 / 1024 }' "/proc/$1/status"; }
    sleep 2
    for k in 1 2 3; do record large_rss_created "$(rss_of "${pid[$k]}")"; done
    t0=$(now)
    stop_cluster
    record large_stop "$(minus "$(now)" "$t0")"
    log "the three brokers stopped (SIGTERM to all at once) in $(minus "$(now)" "$t0")s"
    t0=$(now)
    start_cluster
    record large_registered "$(minus "$(now)" "$t0")"
    res=$("${helper[@]}" wait-all-leaders --brokers "$(all_addrs)" --expect 10000 --since "$t0" --timeout 300)
    log "restarted; every broker answers Metadata with 10,000 led partitions: $res"
    record large_start_all "$(jget 'd["all"]' <<<"$res")"
    for k in 1 2 3; do record large_start_broker "$(jget "d['$(addr "$k")']" <<<"$res")"; done
    sleep 5
    c=$(controller)
    for k in 1 2 3; do
        rss=$(rss_of "${pid[$k]}")
        record large_rss "$rss"
        record large_rss_note "" "broker $k$([[ "$k" == "$c" ]] && echo ' (the controller)') $(printf '%.0f' "$rss") MiB"
    done
    log "VmRSS idle: $(grep -h '^large_rss_note' "$results" | cut -f3 | paste -sd, -)"
    for k in 1 2 3; do
        res=$("${helper[@]}" metadata-time --broker "$(addr "$k")" --reps 5)
        [[ "$(jget 'd["led"]' <<<"$res")" == 10000 ]] || { echo "Metadata from broker $k: $res" >&2; exit 1; }
        for x in $(jget '" ".join(map(str, d["open_connection"]))' <<<"$res"); do record large_md_open "$x"; done
        for x in $(jget '" ".join(map(str, d["new_connection"]))' <<<"$res"); do record large_md_new "$x"; done
        record large_md_kib "$(jget 'd["bytes"] / 1024' <<<"$res")"
    done
    for r in $(seq "$runs"); do
        t0=$(now)
        "$topics_tool" --bootstrap-server "$(addr 1)" --describe >"$work/describe.out"
        record large_describe_tool "$(minus "$(now)" "$t0")"
    done
    [[ "$(grep -c 'Leader: [0-9]' "$work/describe.out")" == 10000 ]] ||
        { echo "gregor-topics --describe did not show 10,000 led partitions" >&2; exit 1; }
    # The controller's failover with the whole state to read and resend.
    parts=$("${helper[@]}" leaders --broker "$(others "$c" | cut -d, -f1)" |
            jget 'sum(1 for t in d["leaders"].values() for l in t.values() if l == '"$c"')')
    res=$("${helper[@]}" wait-controller --zk "127.0.0.1:$zk_port" --chroot "/$cluster" \
          --not "$c" --brokers "$(others "$c")" --gone "/brokers/ids/$c" --then-offline \
          --kill "${pid[$c]}" --timeout 120)
    log "controller $c SIGKILLed with 10,000 partitions ($parts led by it): $res"
    record large_ctl_expired "$(jget 'd["expired"]' <<<"$res")"
    record large_ctl_zk "$(jget 'd["zk"]' <<<"$res")"
    record large_ctl_md "$(jget 'd["metadata"]' <<<"$res")"
    record large_ctl_part_off "$(jget 'd["offline"]' <<<"$res")"
    record large_ctl_part_off_after_expiry "$(jget 'round(d["offline"] - d["expired"], 4)' <<<"$res")"
    gone "${pid[$c]}"
    unset "pid[$c]"
    stop_cluster
fi

# --------------------------------------------------------------------------- report
cat >"$work/rows.json" <<'EOF'
[
 ["#", "Controller failover: SIGKILL of the controller (a cluster with one topic of 30 partitions, RF=1)", ""],
 ["ctl_expired_6000", "session 6 s: until ZooKeeper expired its session (/brokers/ids/N gone)", "s"],
 ["ctl_zk_6000", "session 6 s: until /controller names another broker", "s"],
 ["ctl_zk_minus_6000", "session 6 s: the same minus the session timeout", "s"],
 ["ctl_md_6000", "session 6 s: until both survivors' Metadata name it", "s"],
 ["ctl_part_off_6000", "session 6 s: until both show the dead broker's partitions Leader: none", "s"],
 ["ctl_part_off_after_expiry_6000", "session 6 s: the same counted from the session's expiry", "s"],
 ["ctl_expired_18000", "session 18 s: until ZooKeeper expired its session (/brokers/ids/N gone)", "s"],
 ["ctl_zk_18000", "session 18 s: until /controller names another broker", "s"],
 ["ctl_zk_minus_18000", "session 18 s: the same minus the session timeout", "s"],
 ["ctl_md_18000", "session 18 s: until both survivors' Metadata name it", "s"],
 ["ctl_part_off_18000", "session 18 s: until both show the dead broker's partitions Leader: none", "s"],
 ["ctl_part_off_after_expiry_18000", "session 18 s: the same counted from the session's expiry", "s"],
 ["#", "Partition leader failover, RF=1: SIGKILL of a broker that is not the controller, then its restart", ""],
 ["part_expired_6000", "session 6 s: until ZooKeeper expired its session (/brokers/ids/N gone)", "s"],
 ["part_off_6000", "session 6 s: until both survivors show its 10 partitions Leader: none", "s"],
 ["part_off_minus_6000", "session 6 s: the same minus the session timeout", "s"],
 ["part_off_after_expiry_6000", "session 6 s: the same counted from the session's expiry", "s"],
 ["part_back_leader_6000", "session 6 s: from its restart until all three show them led", "s"],
 ["part_back_produce_6000", "session 6 s: from its restart until a produce to each is accepted", "s"],
 ["part_expired_18000", "session 18 s: until ZooKeeper expired its session (/brokers/ids/N gone)", "s"],
 ["part_off_18000", "session 18 s: until both survivors show its 10 partitions Leader: none", "s"],
 ["part_off_minus_18000", "session 18 s: the same minus the session timeout", "s"],
 ["part_off_after_expiry_18000", "session 18 s: the same counted from the session's expiry", "s"],
 ["part_back_leader_18000", "session 18 s: from its restart until all three show them led", "s"],
 ["part_back_produce_18000", "session 18 s: from its restart until a produce to each is accepted", "s"],
 ["#", "Controlled shutdown: SIGTERM of a broker leading 10 of 30 RF=3 partitions", ""],
 ["cs_moved", "until both survivors show those partitions led elsewhere", "s"],
 ["cs_exit", "until the process has exited", "s"],
 ["#", "Topic creation, RF=1, until the request returns (every partition has a leader)", ""],
 ["create_1000_first", "1 topic x 1,000 partitions, empty cluster, gregor-topics --create", "s"],
 ["create_1000_later", "1 topic x 1,000 partitions, 1,000 to 9,000 already there, gregor-topics --create", "s"],
 ["create_100x10_one_request", "100 topics x 10 partitions in one CreateTopics request", "s"],
 ["create_100x10_tool", "100 topics x 10 partitions, 100 gregor-topics --create in a row", "s"],
 ["#", "10,000 partitions (10 topics x 1,000, RF=1) on three brokers, session 18 s", ""],
 ["large_rss_created", "VmRSS of each broker after creating them", "MiB"],
 ["large_stop", "SIGTERM to all three until all have exited", "s"],
 ["large_registered", "start of all three until all registered and a controller elected", "s"],
 ["large_start_broker", "start until a broker answers Metadata with 10,000 partitions, all led", "s"],
 ["large_start_all", "start until all three do", "s"],
 ["large_rss", "VmRSS of each broker, idle, 5 s after that", "MiB"],
 ["large_md_open", "Metadata (all topics), open connection, until the last byte", "ms"],
 ["large_md_new", "the same on a new connection (connect, preface, request)", "ms"],
 ["large_md_kib", "size of that Metadata response", "KiB"],
 ["large_describe_tool", "gregor-topics --describe (all topics), the whole process", "s"],
 ["large_ctl_expired", "SIGKILL of the controller: until ZooKeeper expired its session", "s"],
 ["large_ctl_zk", "... until /controller names another broker", "s"],
 ["large_ctl_md", "... until both survivors' Metadata name it", "s"],
 ["large_ctl_part_off", "... until both show its partitions (a third) Leader: none", "s"],
 ["large_ctl_part_off_after_expiry", "... the same counted from the session's expiry", "s"]
]
EOF
mkdir -p "$(dirname "$out")"
{
    echo "# Cluster figures, $(date '+%Y-%m-%d %H:%M')"
    echo
    describe_run "bench/run_cluster_bench.sh --runs $runs --short-runs $short_runs --only $only"
    echo
    "${helper[@]}" report --results "$results" --rows "$work/rows.json"
    echo
    if phase large; then
        echo "VmRSS idle after the restart: $(grep -h '^large_rss_note' "$results" | cut -f3 | paste -sd, - | sed 's/,/, /g')."
    fi
} >"$out"
cat "$out"
log "written to $out"
failed=0
