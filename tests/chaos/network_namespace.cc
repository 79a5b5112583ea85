#include "tests/chaos/network_namespace.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace gregor::chaos {
namespace {

constexpr const char* kNamePrefix = "gregor-chaos-";

struct outcome {
    int status = -1;
    std::string output;  // stdout and stderr together
    bool ok() const { return status == 0; }
};

outcome run(const std::string& command) {
    outcome out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) {
        out.output = "popen failed";
        return out;
    }
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.output.append(buf, n);
    const int st = ::pclose(pipe);
    out.status = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

void must(const std::string& command) {
    auto r = run(command);
    if (!r.ok()) {
        throw std::runtime_error("`" + command + "` failed (status " + std::to_string(r.status) + "): " + r.output);
    }
}

bool has_cap_net_admin() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("CapEff:", 0) != 0) continue;
        const unsigned long long caps = std::stoull(line.substr(7), nullptr, 16);
        constexpr int kCapNetAdmin = 12;
        return (caps >> kCapNetAdmin) & 1ULL;
    }
    return false;
}

// Namespaces whose creating test process is gone: "gregor-chaos-<pid>-<n>".
void delete_orphans() {
    auto listed = run("ip netns list");
    if (!listed.ok()) return;
    std::istringstream in(listed.output);
    for (std::string line; std::getline(in, line);) {
        const std::string name = line.substr(0, line.find(' '));
        if (name.rfind(kNamePrefix, 0) != 0) continue;
        const std::string rest = name.substr(std::string(kNamePrefix).size());
        pid_t pid = 0;
        try {
            pid = static_cast<pid_t>(std::stol(rest.substr(0, rest.find('-'))));
        } catch (const std::exception&) {
            continue;
        }
        if (pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH)) continue;
        run("ip netns del " + name);
    }
}

std::atomic<int> instances{0};

}  // namespace

std::optional<std::string> network_namespace::unavailable_reason() {
    if (!has_cap_net_admin()) return "this process lacks CAP_NET_ADMIN (network namespaces need root)";
    for (const char* tool : {"ip", "iptables"}) {
        if (!run(std::string("command -v ") + tool).ok()) return std::string("the `") + tool + "` command is missing";
    }
    const std::string probe = std::string(kNamePrefix) + std::to_string(::getpid()) + "-probe";
    auto added = run("ip netns add " + probe);
    if (!added.ok()) return "`ip netns add` fails here: " + added.output;
    auto rules = run("ip netns exec " + probe + " iptables -S");
    run("ip netns del " + probe);
    if (!rules.ok()) return "iptables does not work inside a network namespace here: " + rules.output;
    return std::nullopt;
}

network_namespace::network_namespace() {
    delete_orphans();
    const int n = instances++;
    const std::string id = std::to_string(::getpid()) + "-" + std::to_string(n);
    name_ = kNamePrefix + id;
    // Interface names have at most 15 characters.
    host_interface_ = "gch" + std::to_string(::getpid() % 1000000) + "x" + std::to_string(n % 100);
    inner_interface_ = "gcn" + std::to_string(::getpid() % 1000000) + "x" + std::to_string(n % 100);

    // A /30 no interface has: 16384 of them in 10.213.0.0/16, starting from one of our own.
    const std::string taken = run("ip -o -4 addr show").output;
    for (int i = 0; i < 16384; ++i) {
        const int slot = (::getpid() * 7 + n + i) % 16384;
        const int third = slot / 64, fourth = (slot % 64) * 4;
        host_address_ = "10.213." + std::to_string(third) + "." + std::to_string(fourth + 1);
        inner_address_ = "10.213." + std::to_string(third) + "." + std::to_string(fourth + 2);
        if (taken.find(" " + host_address_ + "/") == std::string::npos &&
            taken.find(" " + inner_address_ + "/") == std::string::npos) {
            break;
        }
    }
    try {
        must("ip netns add " + name_);
        must("ip link add " + host_interface_ + " type veth peer name " + inner_interface_);
        must("ip link set " + inner_interface_ + " netns " + name_);
        must("ip addr add " + host_address_ + "/30 dev " + host_interface_);
        must("ip link set " + host_interface_ + " up");
        must("ip netns exec " + name_ + " ip addr add " + inner_address_ + "/30 dev " + inner_interface_);
        must("ip netns exec " + name_ + " ip link set " + inner_interface_ + " up");
        must("ip netns exec " + name_ + " ip link set lo up");
    } catch (...) {
        run("ip netns del " + name_);
        run("ip link del " + host_interface_);
        throw;
    }
}

network_namespace::~network_namespace() {
    // Deleting the namespace destroys its end of the pair, which takes the other end along.
    run("ip netns del " + name_);
    run("ip link del " + host_interface_);
}

void network_namespace::cut() {
    const std::string in_ns = "ip netns exec " + name_ + " iptables ";
    must(in_ns + "-A INPUT -i " + inner_interface_ + " -j DROP");
    must(in_ns + "-A OUTPUT -o " + inner_interface_ + " -j DROP");
    cut_ = true;
}

void network_namespace::heal() {
    const std::string in_ns = "ip netns exec " + name_ + " iptables ";
    must(in_ns + "-D INPUT -i " + inner_interface_ + " -j DROP");
    must(in_ns + "-D OUTPUT -o " + inner_interface_ + " -j DROP");
    cut_ = false;
}

}  // namespace gregor::chaos
