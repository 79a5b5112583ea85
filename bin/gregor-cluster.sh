#!/usr/bin/env bash
# Shows the live brokers and which one is the controller (from a Metadata request). Example:
#   bin/gregor-cluster.sh --bootstrap-server localhost:9092
# Runs the binary from the build directory: $GREGOR_BUILD_DIR, or build/ in this repository.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${GREGOR_BUILD_DIR:-$repo_dir/build}"
binary="$build_dir/admin-cli/gregor-cluster"

if [[ ! -x "$binary" ]]; then
  echo "gregor-cluster.sh: $binary is not built." >&2
  echo "Build it with: cmake -S $repo_dir -B $build_dir && make -C $build_dir gregor-cluster" >&2
  echo "(or set GREGOR_BUILD_DIR to the build directory that has it)" >&2
  exit 1
fi
exec "$binary" "$@"
