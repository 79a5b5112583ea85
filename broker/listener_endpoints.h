// Where a broker is reached on each of its listeners, read from its ZooKeeper registration
// (coordination::broker_info::endpoints lists every advertised listener by name). Clients are
// told the endpoints of the listener their request arrived on; brokers reach each other on
// inter.broker.listener.name. Functions of plain values: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "broker/metadata_cache.h"
#include "coordination/cluster_model.h"

namespace gregor::broker {

// `b`'s advertised host and port on the listener named `listener` (upper case, as
// broker_config holds names), or nullopt when `b` advertises no such listener.
std::optional<std::pair<std::string, int32_t>> endpoint_for(const coordination::broker_info& b,
                                                            const std::string& listener);

// `b` as the metadata cache keeps it: every endpoint by listener name, and the rack.
broker_endpoint to_broker_endpoint(const coordination::broker_info& b);

}  // namespace gregor::broker
