// A network namespace joined to the test's own by a veth pair, so that one broker can be cut
// off the network while its process keeps running:
//   the test's namespace   <host_interface>   host_address()/30   ZooKeeper and the other brokers
//   namespace name()       <inner_interface>  inner_address()/30  the broker to be cut off
// cut() drops every packet crossing the pair, both ways, with iptables rules inside the
// namespace: connections go silent instead of being reset, as in a real partition, and the
// process notices only through its own deadlines. heal() removes the rules. The destructor
// deletes the namespace, which takes the pair and the rules with it; namespaces left behind by
// a test process that died are deleted by the next one.
// Needs CAP_NET_ADMIN and the `ip` and `iptables` commands: unavailable_reason() says whether
// this machine allows it. Not thread-safe: drive it from the test's main thread.
#pragma once

#include <optional>
#include <string>

namespace gregor::chaos {

class network_namespace {
public:
    // Why namespaces cannot be made here (no CAP_NET_ADMIN, a command missing, iptables not
    // working inside a namespace), or nullopt when they can.
    static std::optional<std::string> unavailable_reason();

    // Creates the namespace and the pair, on a /30 of 10.213.0.0/16 that no interface of
    // this machine has yet. Throws std::runtime_error naming the command that failed.
    network_namespace();
    ~network_namespace();
    network_namespace(const network_namespace&) = delete;
    network_namespace& operator=(const network_namespace&) = delete;

    const std::string& name() const noexcept { return name_; }
    const std::string& host_address() const noexcept { return host_address_; }
    const std::string& inner_address() const noexcept { return inner_address_; }

    // Throw std::runtime_error when iptables fails.
    void cut();
    void heal();
    bool is_cut() const noexcept { return cut_; }

private:
    std::string name_, host_interface_, inner_interface_, host_address_, inner_address_;
    bool cut_ = false;
};

}  // namespace gregor::chaos
