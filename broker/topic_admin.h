// Topic lifecycle as the request handlers need it, whoever carries it out: creation and
// deletion go through ZooKeeper and the controller (coordination/), config changes through
// /config/topics, replica moves through /admin/reassign_partitions. Handlers call it from any
// thread; callbacks may run on any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/errc.h"
#include "common/topic_partition.h"

namespace gregor::broker {

struct new_topic {
    std::string name;
    int32_t partitions = 1;
    int16_t replication_factor = 1;
    std::map<int32_t, std::vector<int32_t>> assignment;  // empty: the controller assigns
    std::map<std::string, std::string> configs;
};

struct topic_result {
    std::string name;
    status error;
};

// Partition -> the replicas it is to move to, preferred leader first.
using replica_targets = std::map<topic_partition, std::vector<int32_t>>;

struct config_change {
    std::string name;
    std::optional<std::string> value;  // nullopt: delete the override
};

class topic_admin {
public:
    virtual ~topic_admin() = default;
    // Creates the topics; each result says created, or why not. With validate_only nothing is
    // written. Waits up to timeout_ms for the partitions to have leaders.
    virtual void create_topics(std::vector<new_topic> topics, int32_t timeout_ms, bool validate_only,
                               std::function<void(std::vector<topic_result>)> done) = 0;
    virtual void delete_topics(std::vector<std::string> names, int32_t timeout_ms,
                               std::function<void(std::vector<topic_result>)> done) = 0;
    // Grows `topic` to `count` partitions (the controller assigns the new ones).
    virtual void create_partitions(std::string topic, int32_t count, int32_t timeout_ms, bool validate_only,
                                   std::function<void(status)> done) = 0;
    // Applies set/delete changes to a topic's config overrides.
    virtual void alter_topic_config(std::string topic, std::vector<config_change> changes,
                                    bool validate_only, std::function<void(status)> done) = 0;
    // Starts moving each partition to its target replicas; the controller completes the moves
    // later. One status per partition: ok once its move is recorded, or why not
    // (invalid_replica_assignment, unknown_topic_or_partition, reassignment_in_progress). By
    // timeout_ms (if above 0) at the latest: request_timed_out then, and the moves not yet
    // answered may still be recorded.
    virtual void reassign_partitions(replica_targets targets, int32_t timeout_ms,
                                     std::function<void(std::map<topic_partition, status>)> done) = 0;
    // The moves under way, with their targets.
    virtual void list_partition_reassignments(std::function<void(result<replica_targets>)> done) = 0;
};

}  // namespace gregor::broker
