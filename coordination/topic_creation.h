// Creating a topic in ZooKeeper, shared by the controller (CreateTopics) and by any broker
// that auto-creates a topic (auto.create.topics.enable): Kafka's checks of a request's counts
// and explicit assignment, its replica assignment over the live brokers, and the multi that
// writes /brokers/topics/<t> and /config/topics/<t> together. Name and existence checks, and
// the fence, are the caller's. Pure functions: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/errc.h"
#include "coordination/cluster_model.h"
#include "coordination/replica_assignment.h"
#include "coordination/zk_client.h"

namespace gregor::coordination {

// One topic of a CreateTopics request. -1 means the broker default; an explicit assignment
// excludes both counts (as in Kafka).
struct new_topic {
    std::string name;
    int32_t partitions = -1;
    int32_t replication_factor = -1;
    replica_map assignment;
    topic_config config;  // validated by the caller; stored as given
};

struct topic_result {
    std::string name;
    status error;                    // errc::none on success
    std::string topic_id;            // created topics
    int32_t partitions = -1;         // created or validated topics
    int32_t replication_factor = -1;
};

// The replicas for `t` over `live` brokers: its explicit assignment, checked, or Kafka's
// assignment with the defaults filled in. Errors: invalid_request, invalid_partitions,
// invalid_replication_factor, invalid_replica_assignment, with Kafka's messages.
result<replica_map> plan_replicas(const new_topic& t, const std::vector<broker_placement>& live,
                                  int32_t default_partitions, int32_t default_replication_factor,
                                  std::mt19937_64& rng);

// The ops that create the topic: its assignment znode (op 0; node_exists there means the topic
// exists) and its config znode, created, or replaced at `config_version` if one is left over.
std::vector<zk_op> topic_creation_ops(const std::string& topic, const std::string& topic_id,
                                      const replica_map& replicas, const topic_config& config,
                                      std::optional<int32_t> config_version);

}  // namespace gregor::coordination
