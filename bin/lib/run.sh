# Sourced by the start/stop scripts: where PID files and daemon output go, and how to stop by PID.
gregor_repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GREGOR_RUN_DIR="${GREGOR_RUN_DIR:-/tmp/gregor-run}"
GREGOR_LOG_DIR="${GREGOR_LOG_DIR:-$gregor_repo_dir/logs}"

# Stops the processes whose PID files match the glob: SIGTERM, then SIGKILL after $2 seconds.
gregor_stop_pidfiles() {
    local pattern="$1" grace="${2:-30}" f pid stopped=0
    shopt -s nullglob
    for f in $GREGOR_RUN_DIR/$pattern; do
        pid="$(cat "$f" 2>/dev/null || true)"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            local waited=0
            while kill -0 "$pid" 2>/dev/null && (( waited < grace * 10 )); do
                sleep 0.1
                waited=$((waited + 1))
            done
            if kill -0 "$pid" 2>/dev/null; then
                echo "$(basename "$f" .pid) (pid $pid) did not stop in ${grace}s; killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
            stopped=$((stopped + 1))
        fi
        rm -f "$f"
    done
    shopt -u nullglob
    echo "$stopped"
}
