#include "broker/metadata_cache.h"

#include <set>

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

void metadata_cache::update_partitions(const std::vector<partition_update>& partitions, bool replace_all,
                                       const std::vector<std::string>& deleted_topics) {
    update([&](cluster_snapshot& s) {
        if (replace_all) {
            std::set<std::string> named;
            for (const auto& p : partitions) named.insert(p.tp.topic);
            std::erase_if(s.topics, [&](const auto& t) { return !named.contains(t.first); });
        }
        for (const auto& p : partitions) {
            auto& t = s.topics[p.tp.topic];
            if (!p.topic_id.empty() && t.topic_id != p.topic_id) {
                t.topic_id = p.topic_id;
                t.partitions.clear();
            }
            t.partitions[p.tp.partition] = p.info;
        }
        for (const auto& name : deleted_topics) s.topics.erase(name);
    });
}

void metadata_cache::set_topic_configs(const std::string& name, std::map<std::string, std::string> configs) {
    update([&](cluster_snapshot& s) { s.topics[name].configs = std::move(configs); });
}

void metadata_cache::remove_topic(const std::string& name) {
    update([&](cluster_snapshot& s) { s.topics.erase(name); });
}

}  // namespace gregor::broker
