// How the controller tells brokers what it decided: Kafka's three controller requests, as
// values. The broker implements controller_channel: for itself in-process, for other brokers
// over the native protocol. Every request carries the controller's id and epoch, and a broker
// ignores one whose epoch is older than the newest it has seen (a deposed controller can still
// send for a moment; it can no longer write to ZooKeeper).
//
// The controller calls the channel from the coordination thread; coordination_service hands
// each call on to the broker's event loop, so a broker's implementation runs there. Calls for
// one broker arrive in the order the controller made them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/topic_partition.h"
#include "coordination/cluster_model.h"

namespace gregor::coordination {

// Become leader or follower of these partitions (Kafka's LeaderAndIsr). The broker leads a
// partition whose state.leader is its own id and follows the others it is a replica of.
struct leader_and_isr_request {
    int32_t controller_id = -1;
    int32_t controller_epoch = 0;
    // true: every partition assigned to the broker is listed (controller failover, broker
    // start). A local replica missing from the list is no longer assigned here (a stray, e.g.
    // of a topic deleted while the broker was down); Kafka only reports strays.
    bool full = false;
    std::vector<partition_info> partitions;
    std::vector<broker_info> leaders;  // the brokers that lead the listed partitions
};

// The cluster as the broker should answer Metadata (Kafka's UpdateMetadata).
struct metadata_update {
    int32_t controller_id = -1;
    int32_t controller_epoch = 0;
    std::vector<broker_info> live_brokers;  // always the whole live set
    // true: `partitions` is every partition of the cluster, replacing what the broker had;
    // false: these partitions changed (upsert).
    bool full = false;
    std::vector<partition_info> partitions;
    std::vector<std::string> deleted_topics;  // drop these topics (being or just deleted)
};

// Stop serving these partitions; with delete_partitions, delete their logs too (Kafka's
// StopReplica). Sent for topic deletion and to a broker in controlled shutdown.
struct stop_replica_request {
    int32_t controller_id = -1;
    int32_t controller_epoch = 0;
    bool delete_partitions = false;
    std::vector<topic_partition> partitions;
};

class controller_channel {
public:
    virtual ~controller_channel() = default;
    // The brokers requests may be addressed to, before any request to them; empty when the
    // controller stops (requests still queued for others are then moot).
    virtual void live_brokers_changed(const std::vector<broker_info>& live) { (void)live; }
    virtual void leader_and_isr(int32_t broker_id, const leader_and_isr_request& request) = 0;
    // One update for many brokers: the same content goes to each of broker_ids.
    virtual void update_metadata(const std::vector<int32_t>& broker_ids, const metadata_update& update) = 0;
    virtual void stop_replica(int32_t broker_id, const stop_replica_request& request) = 0;
};

}  // namespace gregor::coordination
