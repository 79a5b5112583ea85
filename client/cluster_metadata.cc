#include "client/cluster_metadata.h"

#include <algorithm>

namespace gregor::client {

void cluster_metadata::update(const native::metadata_response& m, bool all_topics) {
    brokers_.clear();
    for (const auto& b : m.brokers) brokers_[b.node_id] = {b.node_id, b.host, b.port, b.rack};
    controller_id_ = m.controller_id;
    if (all_topics) topics_.clear();
    for (const auto& t : m.topics) {
        topic_info info;
        info.name = t.name;
        info.is_internal = t.is_internal;
        info.error = static_cast<errc>(t.error_code);
        info.error_message = t.error_message;
        for (const auto& p : t.partitions) {
            info.partitions.push_back({p.partition, p.leader, p.leader_epoch, p.replicas, p.isr,
                                       static_cast<errc>(p.error_code)});
        }
        std::sort(info.partitions.begin(), info.partitions.end(),
                  [](const partition_info& a, const partition_info& b) {
                      return a.partition < b.partition;
                  });
        topics_[t.name] = std::move(info);
    }
}

std::optional<broker_info> cluster_metadata::broker(int32_t node_id) const {
    auto it = brokers_.find(node_id);
    if (it == brokers_.end()) return std::nullopt;
    return it->second;
}

const topic_info* cluster_metadata::topic(const std::string& name) const {
    auto it = topics_.find(name);
    return it == topics_.end() ? nullptr : &it->second;
}

std::optional<int32_t> cluster_metadata::partition_count(const std::string& topic) const {
    const topic_info* t = this->topic(topic);
    if (t == nullptr || t->partitions.empty()) return std::nullopt;
    // A topic's partitions are numbered 0..n-1.
    return static_cast<int32_t>(t->partitions.size());
}

const partition_info* cluster_metadata::find(const topic_partition& tp) const {
    const topic_info* t = topic(tp.topic);
    if (t == nullptr) return nullptr;
    auto it = std::lower_bound(t->partitions.begin(), t->partitions.end(), tp.partition,
                               [](const partition_info& p, int32_t n) { return p.partition < n; });
    return it == t->partitions.end() || it->partition != tp.partition ? nullptr : &*it;
}

std::optional<int32_t> cluster_metadata::leader(const topic_partition& tp) const {
    const partition_info* p = find(tp);
    if (p == nullptr || p->leader < 0 || !brokers_.count(p->leader)) return std::nullopt;
    return p->leader;
}

int32_t cluster_metadata::leader_epoch(const topic_partition& tp) const {
    const partition_info* p = find(tp);
    return p == nullptr ? -1 : p->leader_epoch;
}

}  // namespace gregor::client
