#!/usr/bin/env bash
# Sends each line of standard input as a record, like Kafka's kafka-console-producer.sh. Example:
#   bin/gregor-console-producer.sh --bootstrap-server localhost:9092 --topic orders
# Runs the binary from the build directory: $GREGOR_BUILD_DIR, or build/ in this repository.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${GREGOR_BUILD_DIR:-$repo_dir/build}"
binary="$build_dir/admin-cli/gregor-console-producer"

if [[ ! -x "$binary" ]]; then
  echo "gregor-console-producer.sh: $binary is not built." >&2
  echo "Build it with: cmake -S $repo_dir -B $build_dir && make -C $build_dir gregor-console-producer" >&2
  echo "(or set GREGOR_BUILD_DIR to the build directory that has it)" >&2
  exit 1
fi
exec "$binary" "$@"
