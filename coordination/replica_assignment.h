// Where a topic's partition replicas go, computed exactly as Kafka's
// AdminUtils.assignReplicasToBrokers so that a topic lands as a Kafka user expects:
//
//  - without racks: partition p's first replica (its preferred leader) is broker
//    (start + p) mod n in id order, from a random start, so leaders spread evenly; the other
//    replicas follow at a shift that starts random and grows by one every n partitions, so
//    follower sets vary too;
//  - with racks (every broker has one): the same walk over a rack-alternating broker list,
//    skipping a broker whose rack (or itself) already holds a replica of the partition while
//    some rack (broker) does not.
//
// Pure functions over an RNG the caller owns (seed it for reproducible tests); any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/errc.h"

namespace gregor::coordination {

using replica_map = std::map<int32_t, std::vector<int32_t>>;  // partition -> replicas

struct broker_placement {
    int32_t id = -1;
    std::optional<std::string> rack;
};

// Errors (Kafka's messages): invalid_partitions (partitions < 1), invalid_replication_factor
// (< 1, or more than the brokers), invalid_replica_assignment (only some brokers have racks).
// fixed_start_index >= 0 replaces both random draws (as Kafka's tests and createPartitions
// do); partitions are numbered from max(0, start_partition_id).
result<replica_map> assign_replicas(std::vector<broker_placement> brokers, int32_t partitions,
                                    int32_t replication_factor, std::mt19937_64& rng,
                                    int32_t fixed_start_index = -1, int32_t start_partition_id = -1);

// Checks an assignment given by the user (CreateTopics with explicit replicas): partitions
// numbered 0..n-1, every partition with the same number (>= 1) of distinct replicas, each a
// broker in `known_brokers`. Errors: invalid_replica_assignment with Kafka's messages.
status validate_replica_assignment(const replica_map& assignment, const std::vector<int32_t>& known_brokers);

// A partition's replicas while it moves from `current` to `target` (Kafka's ZK-mode
// reassignment): the target replicas first, so the preferred leader is the target's, then the
// current ones that are leaving.
std::vector<int32_t> replicas_while_reassigning(const std::vector<int32_t>& current, const std::vector<int32_t>& target);

// Checks one partition's reassignment target: not empty, no broker twice, every broker in
// `known_brokers`. Errors: invalid_replica_assignment, the message naming the fault (the caller
// names the partition).
status validate_reassignment_target(const std::vector<int32_t>& target, const std::vector<int32_t>& known_brokers);

}  // namespace gregor::coordination
