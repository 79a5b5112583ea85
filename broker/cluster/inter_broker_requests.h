// What a broker does with the inter-broker requests that reach it over the network
// (docs/protocol.md, APIs 10-13); native_handler decodes them and calls here. The server
// implements it: the controller's requests are applied in the order they arrive, after those
// the controller made to itself in-process, and one from a controller older than the newest
// seen is refused with stale_controller_epoch. `done` may run on any thread, exactly once.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "common/errc.h"
#include "common/topic_partition.h"
#include "coordination/controller_channel.h"

namespace gregor::broker {

// The partitions a request could not be applied to, each with its error.
using partition_errors = std::vector<std::pair<topic_partition, status>>;

class inter_broker_requests {
public:
    virtual ~inter_broker_requests() = default;
    virtual void leader_and_isr(coordination::leader_and_isr_request r,
                                std::function<void(result<partition_errors>)> done) = 0;
    virtual void update_metadata(coordination::metadata_update u, std::function<void(status)> done) = 0;
    virtual void stop_replica(coordination::stop_replica_request r,
                              std::function<void(result<partition_errors>)> done) = 0;
    // Controller only (others answer not_controller): see coordination::controller::controlled_shutdown.
    virtual void controlled_shutdown(int32_t broker_id,
                                     std::function<void(result<std::vector<topic_partition>>)> done) = 0;
};

}  // namespace gregor::broker
