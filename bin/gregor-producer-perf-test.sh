#!/usr/bin/env bash
# Measures producer throughput and latency, like Kafka's kafka-producer-perf-test.sh. Example:
#   bin/gregor-producer-perf-test.sh --topic perf --num-records 100000 --record-size 100 \
#       --throughput -1 --producer-props bootstrap.servers=localhost:9092
# Runs the binary from the build directory: $GREGOR_BUILD_DIR, or build/ in this repository.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${GREGOR_BUILD_DIR:-$repo_dir/build}"
binary="$build_dir/admin-cli/gregor-producer-perf-test"

if [[ ! -x "$binary" ]]; then
  echo "gregor-producer-perf-test.sh: $binary is not built." >&2
  echo "Build it with: cmake -S $repo_dir -B $build_dir && make -C $build_dir gregor-producer-perf-test" >&2
  echo "(or set GREGOR_BUILD_DIR to the build directory that has it)" >&2
  exit 1
fi
exec "$binary" "$@"
