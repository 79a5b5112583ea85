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
#include <vector>

#include "common/topic_partition.h"

namespace gregor::broker {

struct broker_endpoint {
    int32_t id = -1;
    std::string host;
    int32_t port = 0;
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
    void set_partition(const topic_partition& tp, const std::string& topic_id, const partition_info& info);
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
