// The controller's side of the inter-broker protocol, as Kafka's ControllerChannelManager: a
// queue and a connection per live broker, on the broker's `inter.broker.listener.name`
// endpoint. Requests to one broker go one at a time, in the order they were queued; one that
// gets no answer (the broker is slow, restarting, or cut off) is retried after `retry_backoff`
// on a new connection until it is answered or the broker leaves the live set, so a broker never
// misses a decision while it is registered. A broker that leaves loses its queue: when it
// registers again the controller sends it the full state. Answers carrying per-partition errors
// are logged; nothing is retried on them (the controller's next decision supersedes).
// Also sends this broker's ControlledShutdown to the controller when it stops.
// Thread-safe: every method may be called from any thread; the work runs on the manager's own
// network thread, which the destructor joins (requests still queued are dropped).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/config.h"
#include "common/errc.h"
#include "common/topic_partition.h"
#include "coordination/cluster_model.h"
#include "coordination/controller_channel.h"

namespace gregor::broker {

struct channel_options {
    std::string listener = "PLAINTEXT";  // inter.broker.listener.name
    std::chrono::milliseconds request_timeout{30000};  // controller.socket.timeout.ms
    std::chrono::milliseconds retry_backoff{100};
};

class controller_channel_manager {
public:
    explicit controller_channel_manager(channel_options options);
    ~controller_channel_manager();
    controller_channel_manager(const controller_channel_manager&) = delete;
    controller_channel_manager& operator=(const controller_channel_manager&) = delete;

    // The brokers requests may go to; queues of brokers not in `live` are dropped, and a broker
    // whose endpoint changed (it restarted elsewhere) is reconnected. An empty set (the
    // controller resigned) drops everything.
    void set_live_brokers(const std::vector<coordination::broker_info>& live);

    void leader_and_isr(int32_t broker_id, const coordination::leader_and_isr_request& r);
    void update_metadata(int32_t broker_id, const coordination::metadata_update& u);
    void stop_replica(int32_t broker_id, const coordination::stop_replica_request& r);

    // Asks `controller` to move this broker's leaderships away (ControlledShutdown) and waits
    // for the answer, up to the request timeout. Returns the partitions this broker still leads.
    result<std::vector<topic_partition>> controlled_shutdown(const client::broker_address& controller,
                                                             int32_t self_id);

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace gregor::broker
