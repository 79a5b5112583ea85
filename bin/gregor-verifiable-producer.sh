#!/usr/bin/env bash
# Produces 0, 1, 2, ... and prints a JSON line per acknowledgement, like Kafka's
# kafka-verifiable-producer.sh. Example:
#   bin/gregor-verifiable-producer.sh --bootstrap-server localhost:9092 --topic t --max-messages 10
# Runs the binary from the build directory: $GREGOR_BUILD_DIR, or build/ in this repository.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${GREGOR_BUILD_DIR:-$repo_dir/build}"
binary="$build_dir/admin-cli/gregor-verifiable-producer"

if [[ ! -x "$binary" ]]; then
  echo "gregor-verifiable-producer.sh: $binary is not built." >&2
  echo "Build it with: cmake -S $repo_dir -B $build_dir && make -C $build_dir gregor-verifiable-producer" >&2
  echo "(or set GREGOR_BUILD_DIR to the build directory that has it)" >&2
  exit 1
fi
exec "$binary" "$@"
