#!/usr/bin/env bash
# Installs what is missing (Debian 12, apt-get), builds with -j2 and runs every test with ctest:
# the normal build (warnings as errors), an ASan+UBSan build, and a brief libFuzzer run of the
# request decoder (clang).
#   GREGOR_SKIP_SANITIZE=1   skip the sanitizer build
#   GREGOR_SKIP_FUZZ=1       skip the libFuzzer build
#   GREGOR_BUILD_DIR=dir     build directory of the normal build (default: build-test, so that
#                            it never fights with the quickstart's Release build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/lib/deps.sh
gregor_install_deps

jobs=2
build_dir="${GREGOR_BUILD_DIR:-build-test}"
# The bin/ wrappers the CLI tests run use the binaries of the build under test.
export GREGOR_BUILD_DIR="$(realpath -m "$build_dir")"

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
    # The unit tests under ASan+UBSan; the multi-process tests ran above (sanitizers would only
    # slow the ZooKeeper round trips they wait on), and benchmarks add nothing here.
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite "${build_dir}-asan" -DCMAKE_BUILD_TYPE=Debug -DGREGOR_SANITIZE=ON -DGREGOR_BENCH=OFF \
        -DGREGOR_INTEGRATION_TESTS=OFF
fi
if [ "${GREGOR_SKIP_FUZZ:-0}" != 1 ]; then
    CXX=clang++-14 run_suite "${build_dir}-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGREGOR_FUZZ=ON
fi
