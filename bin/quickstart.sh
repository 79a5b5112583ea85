#!/usr/bin/env bash
# From a fresh clone to a working build: installs what is missing, builds with -j2, then shows
# records going through the partition log (append, crash recovery, read back) with the storage
# engine's own round-trip tests and gregor-dump-log. The broker itself comes with the next issue.
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/lib/deps.sh
gregor_install_deps

build_dir="${GREGOR_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j 2

echo
echo "== records through the partition log"
ctest --test-dir "$build_dir" -R "RoundTrip|Recover" --output-on-failure -j 2 | tail -n 5
