#!/usr/bin/env bash
# The replication figures of issue 6, on the harness of the cluster figures
# (bench/cluster_harness.sh: its own ZooKeeper and three gregor-server processes on free
# 127.0.0.1 ports, everything under a fresh temporary directory, stopped by PID on exit):
#  1. produce throughput and latency (gregor-producer-perf-test) with replication factor 3 and
#     acks=all (min.insync.replicas=2) against replication factor 1 and acks=1, and RF=3 with
#     acks=1 between them, interleaved in the same run, unthrottled and at a fixed rate;
#  2. from a partition leader's SIGKILL to the first record acknowledged (acks=all) by the new
#     leader, with the verifiable producer writing throughout, at two session timeouts.
# Prints a markdown table and writes it to bench/results/replication-<date>.md.
#
# Usage: bench/run_replication_bench.sh [--reps N] [--records N] [--rate R] [--runs N]
#                                       [--short-runs N] [--only PHASES] [--set KEY=VALUE]...
#                                       [--no-build] [--keep] [--out FILE]
#   --reps        perf-test runs of each case and mode (default 3)
#   --records     records per unthrottled perf-test run (default 2000000, 100 bytes each)
#   --rate        records/s of the fixed-rate perf-test runs, linger.ms=0 (default 2000, for 10 s)
#   --runs        failovers at an 18 s session timeout (default 3)
#   --short-runs  failovers at a 6 s session timeout (default 5)
#   --only        comma-separated subset of: throughput,failover (default both)
#   --set         a broker setting for every cluster, e.g. --set replica.fetch.wait.max.ms=100
#   --no-build    use the binaries already in the build directory
#   --keep        keep the temporary directory (configs, data, logs); kept anyway on failure
#   --out FILE    where the table goes (default bench/results/replication-<date>.md)
# Environment: GREGOR_BUILD_DIR, the CMake build directory (default build; configured Release
# and the tools built, as bin/quickstart.sh does, unless --no-build).
# Needs java and the Debian package zookeeper (./bin/quickstart.sh installs them) and python3
# (standard library only: bench/cluster_bench.py). Takes 5 to 7 minutes.
set -euo pipefail
export LC_ALL=C

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/bin/lib/deps.sh"   # ccache settings
build="${GREGOR_BUILD_DIR:-build}"
[[ "$build" = /* ]] || build="$repo/$build"
reps=3
records=2000000
rate=2000
runs=3
short_runs=5
only="throughput,failover"
settings=()
build_it=1
keep=0
out=""
while (($#)); do
    case "$1" in
        --reps) reps="$2"; shift 2 ;;
        --records) records="$2"; shift 2 ;;
        --rate) rate="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --short-runs) short_runs="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --set) settings+=("$2"); shift 2 ;;
        --no-build) build_it=0; shift ;;
        --keep) keep=1; shift ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
phase() { [[ ",$only," == *",$1,"* ]]; }
out="${out:-$repo/bench/results/replication-$(date +%Y-%m-%d).md}"

bench_name="replication-bench"
build_targets="gregor-producer-perf-test gregor-verifiable-producer"
source "$repo/bench/cluster_harness.sh"   # ZooKeeper started; new_cluster, start_cluster, record ...
perf_tool="$build/admin-cli/gregor-producer-perf-test"
verifiable_producer="$build/admin-cli/gregor-verifiable-producer"
load_samples="$work/loadavg"
sample_load() { cut -d' ' -f1 /proc/loadavg >>"$load_samples"; }

# Every cluster: a write with acks=all needs two in-sync replicas, as the issue's guarantees
# assume; the followers' fetch settings are the defaults unless --set changes them.
replicated=("min.insync.replicas=2" ${settings[@]+"${settings[@]}"})

# --------------------------------------------------------------------------- throughput
perf_run() {  # perf_run <key> <topic> <acks> <throughput> <records> [producer settings...]: one run, recorded
    local key="$1" f="$work/perf-$1-$RANDOM.out" res
    sample_load
    "$perf_tool" --topic "$2" --num-records "$5" --record-size 100 --throughput "$4" \
        --producer-props "bootstrap.servers=$(all_addrs)" "acks=$3" "${@:6}" >"$f" 2>&1
    sample_load
    res=$("${helper[@]}" perf-total --file "$f")
    log "$key: $res"
    record "${key}_rps" "$(jget 'd["records_per_sec"]' <<<"$res")"
    record "${key}_mbps" "$(jget 'd["mb_per_sec"]' <<<"$res")"
    record "${key}_p50" "$(jget 'd["p50"] / 1000' <<<"$res")"
    record "${key}_p99" "$(jget 'd["p99"] / 1000' <<<"$res")"
    record "${key}_max" "$(jget 'd["max"] / 1000' <<<"$res")"
}
if phase throughput; then
    new_cluster throughput 18000 "${replicated[@]}"
    log "throughput: topics of three partitions (one led by each broker), RF=1 and RF=3"
    start_cluster
    create_topic rf1 3 1 >/dev/null
    create_topic rf3 3 3 >/dev/null
    all_led rf1 3
    all_led rf3 3
    for p in 0 1 2; do
        "${helper[@]}" wait-isr --brokers "$(all_addrs)" --topic rf3 --partition "$p" --size 3 >/dev/null
    done
    # A warm-up run for each topic (connections, page cache, the followers' fetch sessions).
    perf_run warm_rf1 rf1 1 -1 50000
    perf_run warm_rf3 rf3 -1 -1 50000
    for r in $(seq "$reps"); do
        for c in "rf1 1 rf1_acks1" "rf3 1 rf3_acks1" "rf3 -1 rf3_acksall"; do
            read -r topic acks key <<<"$c"
            perf_run "max_$key" "$topic" "$acks" -1 "$records"
            # Without linger.ms (5 ms by default) in the latency, which it would dominate here.
            perf_run "rate_$key" "$topic" "$acks" "$rate" "$((rate * 10))" linger.ms=0
        done
    done
    stop_cluster
fi

# --------------------------------------------------------------------------- failover
failover_cluster() {  # failover_cluster <session ms> <trials>
    local st="$1" n="$2" r c victim topic rest e0 res ack nl
    new_cluster "failover-$st" "$st" "${replicated[@]}"
    log "failover: zookeeper.session.timeout.ms=$st, one RF=3 partition per trial"
    start_cluster
    # The verifiable producer with Kafka's producer defaults (it sets retries=0 itself):
    # retried batches find the new leader, as an application's producer would.
    printf '%s\n' "retries=2147483647" "delivery.timeout.ms=120000" >"$work/failover-producer.properties"
    for r in $(seq "$n"); do
        c=$(controller)
        # A leader that is not the controller, so that no controller election is in the figure;
        # alternate between the other two brokers.
        victim=$(( (c + r - 1) % 3 + 1 ))
        [[ "$victim" != "$c" ]] || victim=$(( c % 3 + 1 ))
        rest=$(for k in 1 2 3; do [[ "$k" == "$victim" ]] || echo "$k"; done | paste -sd: -)
        topic="failover-$st-$r"
        "$topics_tool" --bootstrap-server "$(all_addrs)" --create --topic "$topic" \
            --replica-assignment "$victim:$rest" >/dev/null
        "${helper[@]}" wait-isr --brokers "$(all_addrs)" --topic "$topic" --size 3 >/dev/null
        e0=$("${helper[@]}" partition --broker "$(addr "$victim")" --topic "$topic" | jget 'd["epoch"]')
        [[ "$("${helper[@]}" partition --broker "$(addr "$victim")" --topic "$topic" | jget 'd["leader"]')" == "$victim" ]] ||
            { echo "$topic is not led by broker $victim" >&2; exit 1; }
        ( "$verifiable_producer" --bootstrap-server "$(all_addrs)" --topic "$topic" --acks -1 \
              --throughput 1000 --producer.config "$work/failover-producer.properties" \
              >"$work/$topic.jsonl" 2>"$work/logs/$topic-producer.log" </dev/null &
          echo $! >"$work/$topic.pid"; wait $! ) 2>/dev/null &
        until [[ -s "$work/$topic.pid" ]]; do sleep 0.01; done
        pid[producer]=$(cat "$work/$topic.pid")
        "${helper[@]}" wait-acked --events "$work/$topic.jsonl" --count 500 --timeout 60 >/dev/null
        sample_load
        res=$("${helper[@]}" wait-new-leader --brokers "$(others "$victim")" --topic "$topic" \
              --not "$victim" --zk "127.0.0.1:$zk_port" --chroot "/$cluster" \
              --gone "/brokers/ids/$victim" --kill "${pid[$victim]}" --timeout 120)
        gone "${pid[$victim]}"
        unset "pid[$victim]"
        nl=$(jget 'd["new_leader"]' <<<"$res")
        ack=$("${helper[@]}" wait-first-ack --events "$work/$topic.jsonl" --after-epoch "$e0" \
              --checkpoint "$work/$cluster/data-$nl/$topic-0/leader-epoch-checkpoint" \
              --since "$(jget 'd["killed_at"]' <<<"$res")" --timeout 120)
        sample_load
        log "leader $victim of $topic SIGKILLed (leader epoch $e0); new leader: $res; first write on it: $ack"
        record "fo_expired_$st" "$(jget 'd["expired"]' <<<"$res")"
        record "fo_leader_$st" "$(jget 'd["leader"]' <<<"$res")"
        record "fo_leader_after_expiry_$st" "$(jget 'round(d["leader"] - d["expired"], 4)' <<<"$res")"
        record "fo_ack_$st" "$(jget 'd["first_ack"]' <<<"$ack")"
        record "fo_ack_minus_$st" "$(minus "$(jget 'd["first_ack"]' <<<"$ack")" "$((st / 1000))")"
        record "fo_ack_after_expiry_$st" "$(minus "$(jget 'd["first_ack"]' <<<"$ack")" "$(jget 'd["expired"]' <<<"$res")")"
        record "fo_errors_$st" "$(jget 'd["errors"]' <<<"$ack")"
        stop_pid "${pid[producer]}" TERM 30
        unset "pid[producer]"
        start_broker "$victim"
        wait_registered
        "${helper[@]}" wait-isr --brokers "$(all_addrs)" --topic "$topic" --size 3 >/dev/null
    done
    stop_cluster
}
if phase failover; then
    failover_cluster 6000 "$short_runs"
    failover_cluster 18000 "$runs"
fi

# --------------------------------------------------------------------------- report
rows() {  # the rows of one perf-test mode: rows <prefix> <heading>
    local case label
    echo " [\"#\", \"$2\", \"\"],"
    for case in "rf1_acks1:RF=1, acks=1" "rf3_acks1:RF=3, acks=1" "rf3_acksall:RF=3, acks=all"; do
        label="${case#*:}"
        case="${case%%:*}"
        echo " [\"$1_${case}_rps\", \"$label: throughput\", \"records/s\"],"
        echo " [\"$1_${case}_mbps\", \"$label: throughput\", \"MB/s\"],"
        echo " [\"$1_${case}_p50\", \"$label: latency p50\", \"ms\"],"
        echo " [\"$1_${case}_p99\", \"$label: latency p99\", \"ms\"],"
        echo " [\"$1_${case}_max\", \"$label: latency max\", \"ms\"],"
    done
}
failover_rows() {  # failover_rows <session ms>
    local s=$(($1 / 1000))
    cat <<EOF
 ["fo_expired_$1", "session $s s: until ZooKeeper expired its session (/brokers/ids/N gone)", "s"],
 ["fo_leader_$1", "session $s s: until both survivors' Metadata name a new leader", "s"],
 ["fo_leader_after_expiry_$1", "session $s s: the same counted from the session's expiry", "s"],
 ["fo_ack_$1", "session $s s: **until the first record acknowledged by the new leader**", "s"],
 ["fo_ack_minus_$1", "session $s s: the same minus the session timeout", "s"],
 ["fo_ack_after_expiry_$1", "session $s s: the same counted from the session's expiry", "s"],
 ["fo_errors_$1", "session $s s: sends that failed meanwhile", "records"],
EOF
}
{
    rows max "Unthrottled: $records records of 100 bytes per run (perf-test --throughput -1)"
    rows rate "At $rate records/s for 10 s (perf-test --throughput $rate), linger.ms=0"
    echo ' ["#", "Failover: SIGKILL of the leader (not the controller) of an RF=3 partition, verifiable producer at 1,000 records/s, acks=all", ""],'
    failover_rows 6000
    failover_rows 18000
} | sed '1 s/^/[/; $ s/,$/]/' >"$work/rows.json"
mkdir -p "$(dirname "$out")"
{
    echo "# Replication figures, $(date '+%Y-%m-%d %H:%M')"
    echo
    set_flags=""
    for kv in ${settings[@]+"${settings[@]}"}; do set_flags+=" --set $kv"; done
    describe_run "bench/run_replication_bench.sh --reps $reps --records $records --rate $rate --runs $runs --short-runs $short_runs --only $only$set_flags"
    echo "Load average (1 min) sampled around each measurement: $(sort -n "$load_samples" | awk '{ a[NR] = $1 } END { if (NR) printf "%s to %s, median %s", a[1], a[NR], a[int((NR + 1) / 2)]; else printf "none" }')."
    echo
    "${helper[@]}" report --results "$results" --rows "$work/rows.json"
} >"$out"
cat "$out"
log "written to $out"
failed=0
