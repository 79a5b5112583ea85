// What a client knows about the cluster from its last Metadata responses: the brokers, the
// controller, and per topic its partitions with leader, replicas and ISR. Topics absent from a
// response keep their previous state unless the response covered every topic. Not
// thread-safe: owned by a client's loop thread (network_client).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/config.h"
#include "common/errc.h"
#include "common/topic_partition.h"
#include "protocol/native/messages.h"

namespace gregor::client {

struct broker_info {
    int32_t node_id = -1;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
    broker_address address() const { return {host, static_cast<uint16_t>(port)}; }
};

struct partition_info {
    int32_t partition = 0;
    int32_t leader = -1;  // -1: none
    int32_t leader_epoch = -1;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
    errc error = errc::none;
};

struct topic_info {
    std::string name;
    bool is_internal = false;
    errc error = errc::none;
    std::string error_message;
    std::vector<partition_info> partitions;  // sorted by partition number
};

class cluster_metadata {
public:
    // Folds a response in. `all_topics`: the request asked for every topic, so topics missing
    // from the response are gone.
    void update(const native::metadata_response& m, bool all_topics);

    const std::map<int32_t, broker_info>& brokers() const noexcept { return brokers_; }
    std::optional<broker_info> broker(int32_t node_id) const;
    int32_t controller_id() const noexcept { return controller_id_; }

    const topic_info* topic(const std::string& name) const;
    const std::map<std::string, topic_info>& topics() const noexcept { return topics_; }
    // The partition count of a topic that exists with partitions; nullopt otherwise.
    std::optional<int32_t> partition_count(const std::string& topic) const;
    // The leader's node id when the partition has one that is a known broker.
    std::optional<int32_t> leader(const topic_partition& tp) const;
    // The leader epoch the metadata names for the partition; -1 when unknown.
    int32_t leader_epoch(const topic_partition& tp) const;
    // Forgets a topic (a later update brings it back).
    void forget(const std::string& topic) { topics_.erase(topic); }

private:
    const partition_info* find(const topic_partition& tp) const;

    std::map<int32_t, broker_info> brokers_;
    int32_t controller_id_ = -1;
    std::map<std::string, topic_info> topics_;
};

}  // namespace gregor::client
