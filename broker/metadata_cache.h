// What this broker knows of the cluster, to answer Metadata and to route requests: the live
// brokers, the controller, and every partition's leader, epoch, replicas and ISR. The
// controller keeps it current (UpdateMetadata; in-process on the controller itself). Topic
// configs are kept beside it for DescribeConfigs and log settings.
// Thread-safe: readers take a consistent snapshot; updates replace state under a mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/topic_partition.h"

namespace gregor::broker {

// A live broker. A Metadata request is answered with each broker's endpoint on the listener
// the request arrived on, so every advertised listener is kept, by name.
struct broker_endpoint {
    int32_t id = -1;
    std::map<std::string, std::pair<std::string, int32_t>> endpoints;  // listener -> host, port
    std::string rack;
};

struct partition_info {
    int32_t leader = -1;
    int32_t leader_epoch = 0;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
};

struct topic_info {
    std::string topic_id;
    std::map<int32_t, partition_info> partitions;
    std::map<std::string, std::string> configs;  // overrides from /config/topics/<t>
};

struct cluster_snapshot {
    int32_t controller_id = -1;
    std::map<int32_t, broker_endpoint> brokers;
    std::map<std::string, topic_info> topics;
};

class metadata_cache {
public:
    std::shared_ptr<const cluster_snapshot> snapshot() const;

    void set_brokers(std::map<int32_t, broker_endpoint> brokers, int32_t controller_id);
    void set_controller(int32_t controller_id);
    void set_topic(const std::string& name, topic_info info);
    struct partition_update {
        topic_partition tp;
        std::string topic_id;
        partition_info info;
    };
    // The controller's partition states, as one change however many there are. With
    // `replace_all`, topics not named in `partitions` are dropped first. A topic whose id
    // changed (deleted and created again) loses the old incarnation's partitions.
    void update_partitions(const std::vector<partition_update>& partitions, bool replace_all,
                           const std::vector<std::string>& deleted_topics);
    void set_topic_configs(const std::string& name, std::map<std::string, std::string> configs);
    void remove_topic(const std::string& name);

private:
    // Copy-on-write: a reader's snapshot never changes under it.
    template <typename F>
    void update(F&& change);

    mutable std::mutex mu_;
    std::shared_ptr<const cluster_snapshot> current_ = std::make_shared<cluster_snapshot>();  // guarded by mu_
};

}  // namespace gregor::broker
