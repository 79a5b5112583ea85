#!/usr/bin/env bash
# Moves partitions' replicas between brokers, like Kafka's kafka-reassign-partitions.sh. Example:
#   bin/gregor-reassign-partitions.sh --bootstrap-server localhost:9092 \
#       --reassignment-json-file move.json --execute
# Runs the binary from the build directory: $GREGOR_BUILD_DIR, or build/ in this repository.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${GREGOR_BUILD_DIR:-$repo_dir/build}"
binary="$build_dir/admin-cli/gregor-reassign-partitions"

if [[ ! -x "$binary" ]]; then
  echo "gregor-reassign-partitions.sh: $binary is not built." >&2
  echo "Build it with: cmake -S $repo_dir -B $build_dir && make -C $build_dir gregor-reassign-partitions" >&2
  echo "(or set GREGOR_BUILD_DIR to the build directory that has it)" >&2
  exit 1
fi
exec "$binary" "$@"
