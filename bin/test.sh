#!/usr/bin/env bash
# Installs what is missing (Debian 12, apt-get), builds with -j2 and runs every test with ctest:
# first the normal build (warnings as errors), then an ASan+UBSan build.
#   GREGOR_SKIP_SANITIZE=1   skip the sanitizer build
#   GREGOR_BUILD_DIR=dir     build directory of the normal build (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/lib/deps.sh
gregor_install_deps

jobs=2
build_dir="${GREGOR_BUILD_DIR:-build}"

run_suite() {
    local dir="$1"; shift
    echo "== configure $dir ($*)"
    cmake -S . -B "$dir" -DGREGOR_WERROR=ON "$@" >/dev/null
    echo "== build $dir"
    cmake --build "$dir" -j "$jobs"
    echo "== test $dir"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600
}

run_suite "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${GREGOR_SKIP_SANITIZE:-0}" != 1 ]; then
    # The benchmarks add nothing under sanitizers.
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite "${build_dir}-asan" -DCMAKE_BUILD_TYPE=Debug -DGREGOR_SANITIZE=ON -DGREGOR_BENCH=OFF
fi
