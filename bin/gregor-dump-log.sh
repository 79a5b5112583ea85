#!/usr/bin/env bash
# Prints Gregor segment files (.log) and their indexes (.index, .timeindex), like Kafka's
# kafka-dump-log.sh. Example:
#   bin/gregor-dump-log.sh --files /var/lib/gregor/orders-0/00000000000000000000.log --print-data-log
# Runs the binary from the build directory: $GREGOR_BUILD_DIR, or build/ in this repository.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${GREGOR_BUILD_DIR:-$repo_dir/build}"
binary="$build_dir/admin-cli/gregor-dump-log"

if [[ ! -x "$binary" ]]; then
  echo "gregor-dump-log.sh: $binary is not built." >&2
  echo "Build it with: cmake -S $repo_dir -B $build_dir && make -C $build_dir gregor-dump-log" >&2
  echo "(or set GREGOR_BUILD_DIR to the build directory that has it)" >&2
  exit 1
fi
exec "$binary" "$@"
