// The admin client, as Kafka's Admin for what the native protocol offers: create and delete
// topics (sent to the controller, following it through NOT_CONTROLLER), list and describe
// topics and the cluster (Metadata), describe and incrementally alter configs, and start and
// list partition reassignments (any broker takes those). Each call
// blocks until its answer or its timeout (default.api.timeout.ms when not given), retrying
// retriable failures (a dead broker, NOT_CONTROLLER) in between. Results are per topic or per
// resource, as the protocol answers them; the call itself fails only when no answer came.
// Thread-safe; calls from several threads run concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/cluster_metadata.h"
#include "client/config.h"
#include "common/errc.h"

namespace gregor::client {

struct new_topic {
    std::string name;
    int32_t partitions = -1;          // -1: the broker's num.partitions
    int16_t replication_factor = -1;  // -1: the broker's default.replication.factor
    std::map<int32_t, std::vector<int32_t>> assignments;  // partition -> brokers; empty: any
    std::map<std::string, std::string> configs;
};

struct create_topic_result {
    std::string name;
    status error;
    int32_t partitions = -1;
    int16_t replication_factor = -1;
};

struct topic_result {
    std::string name;
    status error;
};

struct topic_listing {
    std::string name;
    bool is_internal = false;
};

struct topic_description {
    std::string name;
    std::string topic_id;  // empty when the broker does not know it
    bool is_internal = false;
    status error;  // unknown_topic_or_partition when the topic does not exist
    std::vector<partition_info> partitions;
};

struct cluster_description {
    std::vector<broker_info> brokers;
    int32_t controller_id = -1;
};

enum class resource_type : int8_t { topic = 2, broker = 4 };

struct config_resource {
    resource_type type = resource_type::topic;
    std::string name;
    bool operator<(const config_resource& o) const {
        return type != o.type ? type < o.type : name < o.name;
    }
};

struct config_entry {
    std::string name;
    std::optional<std::string> value;
    bool is_default = false;
    bool read_only = false;
    bool is_sensitive = false;
};

struct resource_configs {
    config_resource resource;
    status error;
    std::vector<config_entry> entries;
};

struct config_op {
    enum class kind : int8_t { set = 0, remove = 1 };
    std::string name;
    kind op = kind::set;
    std::optional<std::string> value;  // for set
};

// A partition's move under way. Kafka's PartitionReassignment has adding and removing replicas
// instead of the target; a ZK-mode move does not record where it started, so they are not
// known (the leaving replicas are those of `replicas` not in `target_replicas`).
struct partition_reassignment {
    std::vector<int32_t> replicas;         // now: the target's, then the leaving ones
    std::vector<int32_t> target_replicas;  // where the move ends
};

class admin {
public:
    static result<std::unique_ptr<admin>> create(const properties& props);
    explicit admin(admin_config config);
    ~admin();
    admin(const admin&) = delete;
    admin& operator=(const admin&) = delete;

    using timeout_opt = std::optional<std::chrono::milliseconds>;

    // Per-topic results in request order. `timeout` bounds the call; the broker is asked to
    // wait at most as long for the new partitions to have leaders.
    result<std::vector<create_topic_result>> create_topics(const std::vector<new_topic>& topics,
                                                           bool validate_only = false,
                                                           timeout_opt timeout = std::nullopt);
    result<std::vector<topic_result>> delete_topics(const std::vector<std::string>& names,
                                                    timeout_opt timeout = std::nullopt);
    // Grows each topic to the given total number of partitions.
    result<std::vector<topic_result>> create_partitions(const std::map<std::string, int32_t>& counts,
                                                        bool validate_only = false,
                                                        timeout_opt timeout = std::nullopt);
    // Sorted by name.
    result<std::vector<topic_listing>> list_topics(bool include_internal = false,
                                                   timeout_opt timeout = std::nullopt);
    // In request order; an empty list describes every topic (sorted by name).
    result<std::vector<topic_description>> describe_topics(const std::vector<std::string>& names,
                                                           timeout_opt timeout = std::nullopt);
    result<cluster_description> describe_cluster(timeout_opt timeout = std::nullopt);
    // `names`: the keys wanted per resource (nullopt: all).
    result<std::vector<resource_configs>> describe_configs(
        const std::vector<config_resource>& resources,
        const std::optional<std::vector<std::string>>& names = std::nullopt,
        timeout_opt timeout = std::nullopt);
    result<std::vector<std::pair<config_resource, status>>> alter_configs(
        const std::map<config_resource, std::vector<config_op>>& changes,
        bool validate_only = false, timeout_opt timeout = std::nullopt);

    // Starts moving each partition's replicas to the brokers given (preferred leader first).
    // One status per partition: ok once the move is recorded (the controller completes it
    // later), or why not: invalid_replica_assignment (no broker, a broker twice, an unknown
    // broker), unknown_topic_or_partition, reassignment_in_progress, invalid_topic_exception.
    result<std::map<topic_partition, status>> alter_partition_reassignments(
        const std::map<topic_partition, std::vector<int32_t>>& targets, timeout_opt timeout = std::nullopt);
    // The moves under way among `partitions` (nullopt: all of them).
    result<std::map<topic_partition, partition_reassignment>> list_partition_reassignments(
        const std::optional<std::set<topic_partition>>& partitions = std::nullopt,
        timeout_opt timeout = std::nullopt);

    void close();

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace gregor::client
