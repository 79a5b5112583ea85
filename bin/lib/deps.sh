# Sourced by the scripts in bin/: installs the Debian packages Gregor needs, only those missing.
GREGOR_PACKAGES=(
    g++ cmake make ccache pkg-config
    libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    clang-14 libclang-rt-14-dev
    libasio-dev libzookeeper-mt-dev zookeeper default-jre-headless
)

gregor_install_deps() {
    local missing=()
    local p
    for p in "${GREGOR_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ccache keeps rebuilds of an unchanged tree fast.
# Clones in different folders share cache entries: paths are taken relative to the repository.
if command -v ccache >/dev/null 2>&1; then
    export CCACHE_DIR="${CCACHE_DIR:-$HOME/.ccache}"
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
    export CCACHE_NOHASHDIR=true
fi
