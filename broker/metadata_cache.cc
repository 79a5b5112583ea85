#include "broker/metadata_cache.h"

namespace gregor::broker {

std::shared_ptr<const cluster_snapshot> metadata_cache::snapshot() const {
    std::lock_guard lock(mu_);
    return current_;
}

template <typename F>
void metadata_cache::update(F&& change) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<cluster_snapshot>(*current_);
    change(*next);
    current_ = std::move(next);
}

void metadata_cache::set_brokers(std::map<int32_t, broker_endpoint> brokers, int32_t controller_id) {
    update([&](cluster_snapshot& s) {
        s.brokers = std::move(brokers);
        s.controller_id = controller_id;
    });
}

void metadata_cache::set_controller(int32_t controller_id) {
    update([&](cluster_snapshot& s) { s.controller_id = controller_id; });
}

void metadata_cache::set_topic(const std::string& name, topic_info info) {
    update([&](cluster_snapshot& s) { s.topics[name] = std::move(info); });
}

void metadata_cache::set_partition(const topic_partition& tp, const std::string& topic_id,
                                   const partition_info& info) {
    update([&](cluster_snapshot& s) {
        auto& t = s.topics[tp.topic];
        if (!topic_id.empty()) t.topic_id = topic_id;
        t.partitions[tp.partition] = info;
    });
}

void metadata_cache::set_topic_configs(const std::string& name, std::map<std::string, std::string> configs) {
    update([&](cluster_snapshot& s) { s.topics[name].configs = std::move(configs); });
}

void metadata_cache::remove_topic(const std::string& name) {
    update([&](cluster_snapshot& s) { s.topics.erase(name); });
}

}  // namespace gregor::broker
