#include "coordination/topic_creation.h"

#include "coordination/zk_paths.h"

namespace gregor::coordination {

result<replica_map> plan_replicas(const new_topic& t, const std::vector<broker_placement>& live,
                                  int32_t default_partitions, int32_t default_replication_factor,
                                  std::mt19937_64& rng) {
    if (t.assignment.empty()) {
        return assign_replicas(live, t.partitions == -1 ? default_partitions : t.partitions,
                               t.replication_factor == -1 ? default_replication_factor : t.replication_factor, rng);
    }
    if (t.partitions != -1 || t.replication_factor != -1) {
        return status(errc::invalid_request,
                      "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be "
                      "used at the same time.");
    }
    std::vector<int32_t> ids;
    for (const auto& b : live) ids.push_back(b.id);
    if (auto s = validate_replica_assignment(t.assignment, ids); !s.ok()) return s;
    return t.assignment;
}

std::vector<zk_op> topic_creation_ops(const std::string& topic, const std::string& topic_id,
                                      const replica_map& replicas, const topic_config& config,
                                      std::optional<int32_t> config_version) {
    const std::string config_path = zk_paths::topic_config_path(topic);
    const std::string config_data = zk_paths::encode_topic_config(config);
    return {
        zk_op::create(zk_paths::topic_path(topic), zk_paths::encode_topic_assignment({topic_id, replicas})),
        config_version ? zk_op::set(config_path, config_data, *config_version) : zk_op::create(config_path, config_data),
    };
}

}  // namespace gregor::coordination
