#!/usr/bin/env bash
# Builds and runs bench/storage_bench, measuring in the same run the machine's own sequential
# disk write and read with dd, then prints every figure with the ratios the storage aims are
# stated in: append / memcpy (aim >= 0.5) and cold recovery / disk read (aim >= 0.5).
#
# Usage: bench/run_storage_bench.sh [--dir DIR] [--reps N] [--out FILE] [--no-build]
#                                   [-- storage_bench flags]
#   --dir   where the data goes (a fresh directory is made under it and removed at the end);
#           default ${TMPDIR:-/tmp}. Needs ~3 GiB free; put it on the disk you want measured.
#   --reps  repetitions of each benchmark, medians reported (default 3)
#   --out   the benchmark's JSON results (default <build dir>/storage_bench.json)
#   --no-build  run the storage_bench already in the build directory
# Environment: GREGOR_BUILD_DIR, the CMake build directory (default build-bench, configured
# Release). Dropping the page cache for the cold figures needs root; without it they are
# reported as unavailable or warm, and the table says which.
set -euo pipefail
export LC_ALL=C  # dd's decimal point

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GREGOR_BUILD_DIR:-build-bench}"
[[ "$build" = /* ]] || build="$repo/$build"
parent="${TMPDIR:-/tmp}"
reps=3
out=""
build_it=1
bench_args=()
while (($#)); do
    case "$1" in
        --dir) parent="$2"; shift 2 ;;
        --reps) reps="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --no-build) build_it=0; shift ;;
        --) shift; bench_args=("$@"); break ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
out="${out:-$build/storage_bench.json}"
command -v python3 >/dev/null || { echo "python3 is needed to read the results" >&2; exit 1; }

if ((build_it)); then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGREGOR_BENCH=ON >/dev/null
    cmake --build "$build" --target storage_bench -j "$(nproc)"
fi

work="$(mktemp -d "$parent/gregor-storage-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT INT TERM

drop_caches() { sync && echo 1 2>/dev/null >/proc/sys/vm/drop_caches; }

# dd's summary line: "<bytes> bytes (...) copied, <seconds> s, <rate>"; the rate is
# recomputed in MB/s (10^6 bytes) so its unit never varies.
dd_mbps() { awk '/copied/ { printf "%.0f", $1 / $(NF-3) / 1e6 }'; }

echo "== sequential write: dd bs=1M count=1024 conv=fdatasync to $work" >&2
disk_write=$(dd if=/dev/zero of="$work/dd.bin" bs=1M count=1024 conv=fdatasync 2>&1 | dd_mbps) ||
    { echo "dd could not write 1 GiB to $work" >&2; exit 1; }

# Read three times with 4 MiB requests (the size recovery reads in), the median kept: on a
# virtual disk the figure varies from one read to the next. Both ways that bypass the page
# cache are measured when possible, O_DIRECT (one request in flight) and a buffered read after
# dropping the cache (kernel readahead, as recovery reads); the aim is judged on the faster.
read_file() { dd if="$work/dd.bin" of=/dev/null bs=4M "$@" 2>&1 | dd_mbps; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
direct_read="" cold_read="" warm_read=""
if read_file iflag=direct count=1 >/dev/null 2>&1; then
    echo "== sequential read of the same file: dd bs=4M iflag=direct, 3 times" >&2
    reads=()
    for _ in 1 2 3; do reads+=("$(read_file iflag=direct)"); done
    direct_read=$(median "${reads[@]}")
fi
if drop_caches; then
    echo "== sequential read of the same file: dd bs=4M after drop_caches, 3 times" >&2
    reads=()
    for _ in 1 2 3; do drop_caches; reads+=("$(read_file)"); done
    cold_read=$(median "${reads[@]}")
fi
if [[ -z "$direct_read$cold_read" ]]; then
    echo "== sequential read of the same file: dd bs=4M from the page cache, 3 times" >&2
    reads=()
    for _ in 1 2 3; do reads+=("$(read_file)"); done
    warm_read=$(median "${reads[@]}")
fi
rm -f "$work/dd.bin"

echo "== storage_bench, $reps repetitions, data in $work" >&2
# Interleaved in random order, so that a noisy neighbour on the machine disturbs every
# benchmark alike rather than whichever ran at the time; ratios come out fairer.
"$build/bench/storage_bench" --data_dir="$work" --benchmark_repetitions="$reps" \
    --benchmark_enable_random_interleaving=true --benchmark_display_aggregates_only=true \
    --benchmark_out="$out" --benchmark_out_format=json "${bench_args[@]}"

echo >&2
DISK_WRITE="$disk_write" DIRECT_READ="$direct_read" COLD_READ="$cold_read" WARM_READ="$warm_read" \
    python3 - "$out" <<'EOF'
import json, os, sys

runs = json.load(open(sys.argv[1]))
# The median of the repetitions, or the single run when there was one.
figures, errors = {}, {}
for b in runs["benchmarks"]:
    name = b["run_name"].split("/iterations:")[0].replace("/real_time", "")
    if b.get("error_occurred"):
        errors[name] = b.get("error_message", "error")
    elif b.get("run_type") == "aggregate":
        if b.get("aggregate_name") == "median":
            figures[name] = b
    else:
        figures.setdefault(name, b)

def mbps(name):
    b = figures.get(name)
    return b["bytes_per_second"] / 1e6 if b else None

def recs(name):
    b = figures.get(name)
    return b.get("records/s") if b else None

disk_write = float(os.environ["DISK_WRITE"])
reads = [(os.environ[k], label) for k, label in [
    ("DIRECT_READ", "O_DIRECT"), ("COLD_READ", "after drop_caches"),
    ("WARM_READ", "cached (no O_DIRECT, no drop)")] if os.environ[k]]
disk_read = max(float(v) for v, _ in reads)
memcpy = mbps("BM_Memcpy")
cold = mbps("BM_Recovery1GiB/cold:1")
recovery, recovery_kind = (cold, "cold") if cold else (mbps("BM_Recovery1GiB/cold:0"), "warm")

rows = [
    ("memcpy 16 KiB blocks (reused 256 MiB)", "BM_Memcpy", memcpy, "memcpy"),
    ("memcpy into fresh pages", "BM_MemcpyFreshPages", memcpy, "memcpy"),
    ("pwrite to page cache (no log)", "BM_PwritePageCache", memcpy, "memcpy"),
    ("validate 16 KiB batch (CRC + records)", "BM_ValidateBatch", memcpy, "memcpy"),
    ("append, 1 partition", "BM_AppendSinglePartition", memcpy, "memcpy"),
    ("append, 1,000 partitions", "BM_Append1000Partitions", memcpy, "memcpy"),
    ("read-back, 1 partition (warm)", "BM_ReadBackSinglePartition", memcpy, "memcpy"),
    ("read-back, 1,000 partitions (warm)", "BM_ReadBack1000Partitions", memcpy, "memcpy"),
    ("recovery of 1 GiB, warm cache", "BM_Recovery1GiB/cold:0", disk_read, "disk read"),
    ("recovery of 1 GiB, cold cache", "BM_Recovery1GiB/cold:1", disk_read, "disk read"),
    ("CRC32C, SSE4.2", "BM_Crc32c/hardware/16384", memcpy, "memcpy"),
    ("CRC32C, portable", "BM_Crc32c/portable/16384", memcpy, "memcpy"),
]
print(f"{'figure':<42}{'MB/s':>10}{'records/s':>14}  ratio")
for label, name, base, base_name in rows:
    v = mbps(name)
    if v is None:
        print(f"{label:<42}{'-':>10}{'':>14}  {errors.get(name, 'not run')}")
        continue
    r = recs(name)
    r_text = f"{r / 1e6:.2f} M" if r else ""
    ratio = f"{v / base:.2f} x {base_name}" if base else ""
    print(f"{label:<42}{v:>10.0f}{r_text:>14}  {ratio}")
print(f"{'disk write, dd conv=fdatasync':<42}{disk_write:>10.0f}")
for v, label in reads:
    print(f"{'disk read, dd ' + label:<42}{float(v):>10.0f}")
print(f"disk read for the ratios: {disk_read:.0f} MB/s, the fastest of the reads above")
print("MB = 10^6 bytes; medians of the repetitions. The aims:")
fresh = mbps("BM_MemcpyFreshPages")
for label, v, base, base_name in [
    ("append (1 partition) >= memcpy / 2", mbps("BM_AppendSinglePartition"), memcpy, "memcpy"),
    ("append (1,000 partitions) >= memcpy / 2", mbps("BM_Append1000Partitions"), memcpy, "memcpy"),
    (f"recovery ({recovery_kind}) >= disk read / 2", recovery, disk_read, "disk read"),
]:
    if v is None or not base:
        print(f"  {label}: not measured")
        continue
    verdict = "met" if v / base >= 0.5 else "NOT met"
    # Against a copy that also pays for new pages, as the page cache does.
    extra = ""
    if base_name == "memcpy" and fresh:
        extra = f" ({v / fresh:.2f} x memcpy into fresh pages)"
    print(f"  {label}: {v / base:.2f} x {base_name}: {verdict}{extra}")
EOF
echo "results: $out" >&2
