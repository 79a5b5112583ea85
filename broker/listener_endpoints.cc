#include "broker/listener_endpoints.h"

#include <algorithm>

namespace gregor::broker {

std::optional<std::pair<std::string, int32_t>> endpoint_for(const coordination::broker_info& b,
                                                            const std::string& listener) {
    const auto it = std::find_if(b.endpoints.begin(), b.endpoints.end(),
                                 [&](const coordination::endpoint& e) { return e.listener == listener; });
    if (it == b.endpoints.end()) return std::nullopt;
    return std::pair{it->host, it->port};
}

broker_endpoint to_broker_endpoint(const coordination::broker_info& b) {
    broker_endpoint out{b.id, {}, b.rack.value_or("")};
    for (const auto& e : b.endpoints) out.endpoints.emplace(e.listener, std::pair{e.host, e.port});
    return out;
}

}  // namespace gregor::broker
