#!/usr/bin/env bash
# Reads every partition of a topic and prints JSON lines of what it consumed, like Kafka's
# kafka-verifiable-consumer.sh (--verbose adds a line per record). Example:
#   bin/gregor-verifiable-consumer.sh --bootstrap-server localhost:9092 --topic t --verbose
# Runs the binary from the build directory: $GREGOR_BUILD_DIR, or build/ in this repository.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${GREGOR_BUILD_DIR:-$repo_dir/build}"
binary="$build_dir/admin-cli/gregor-verifiable-consumer"

if [[ ! -x "$binary" ]]; then
  echo "gregor-verifiable-consumer.sh: $binary is not built." >&2
  echo "Build it with: cmake -S $repo_dir -B $build_dir && make -C $build_dir gregor-verifiable-consumer" >&2
  echo "(or set GREGOR_BUILD_DIR to the build directory that has it)" >&2
  exit 1
fi
exec "$binary" "$@"
