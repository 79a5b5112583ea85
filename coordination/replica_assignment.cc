#include "coordination/replica_assignment.h"

#include <algorithm>
#include <set>

namespace gregor::coordination {
namespace {

int32_t draw(std::mt19937_64& rng, int32_t bound) {
    return std::uniform_int_distribution<int32_t>(0, bound - 1)(rng);
}

// Kafka's replicaIndex: the broker `replica_index` steps after the first replica, never the
// first replica itself.
int32_t replica_index(int32_t first_replica_index, int32_t second_replica_shift, int32_t replica_index,
                      int32_t n_brokers) {
    const int32_t shift = 1 + (second_replica_shift + replica_index) % (n_brokers - 1);
    return (first_replica_index + shift) % n_brokers;
}

// Racks in name order, taking each rack's brokers in id order, one rack at a time:
// rack1 {0,1,2}, rack2 {3,4,5}, rack3 {6,7,8} gives 0,3,6,1,4,7,2,5,8.
std::vector<int32_t> rack_alternated(const std::map<int32_t, std::string>& rack_of) {
    std::map<std::string, std::vector<int32_t>> by_rack;
    for (const auto& [id, rack] : rack_of) by_rack[rack].push_back(id);  // ids arrive sorted
    std::vector<int32_t> out;
    for (size_t round = 0; out.size() < rack_of.size(); ++round) {
        for (const auto& [rack, ids] : by_rack) {
            if (round < ids.size()) out.push_back(ids[round]);
        }
    }
    return out;
}

replica_map assign_rack_unaware(const std::vector<int32_t>& brokers, int32_t partitions, int32_t rf,
                                std::mt19937_64& rng, int32_t fixed_start_index, int32_t start_partition_id) {
    const auto n = static_cast<int32_t>(brokers.size());
    const int32_t start_index = fixed_start_index >= 0 ? fixed_start_index : draw(rng, n);
    int32_t next_replica_shift = fixed_start_index >= 0 ? fixed_start_index : draw(rng, n);
    int32_t partition = std::max(0, start_partition_id);
    replica_map out;
    for (int32_t i = 0; i < partitions; ++i, ++partition) {
        if (partition > 0 && partition % n == 0) ++next_replica_shift;
        const int32_t first = (partition + start_index) % n;
        std::vector<int32_t> replicas{brokers[first]};
        for (int32_t j = 0; j < rf - 1; ++j) replicas.push_back(brokers[replica_index(first, next_replica_shift, j, n)]);
        out.emplace(partition, std::move(replicas));
    }
    return out;
}

replica_map assign_rack_aware(const std::map<int32_t, std::string>& rack_of, int32_t partitions, int32_t rf,
                              std::mt19937_64& rng, int32_t fixed_start_index, int32_t start_partition_id) {
    const std::vector<int32_t> brokers = rack_alternated(rack_of);
    std::set<std::string> racks;
    for (const auto& [id, rack] : rack_of) racks.insert(rack);
    const auto n_racks = static_cast<int32_t>(racks.size());
    const auto n = static_cast<int32_t>(brokers.size());
    const int32_t start_index = fixed_start_index >= 0 ? fixed_start_index : draw(rng, n);
    int32_t next_replica_shift = fixed_start_index >= 0 ? fixed_start_index : draw(rng, n);
    int32_t partition = std::max(0, start_partition_id);
    replica_map out;
    for (int32_t i = 0; i < partitions; ++i, ++partition) {
        if (partition > 0 && partition % n == 0) ++next_replica_shift;
        const int32_t first = (partition + start_index) % n;
        const int32_t leader = brokers[first];
        std::vector<int32_t> replicas{leader};
        std::set<std::string> racks_with_replicas{rack_of.at(leader)};
        std::set<int32_t> brokers_with_replicas{leader};
        int32_t k = 0;
        for (int32_t j = 0; j < rf - 1; ++j) {
            for (;;) {
                const int32_t broker = brokers[replica_index(first, next_replica_shift * n_racks, k, n)];
                const std::string& rack = rack_of.at(broker);
                ++k;
                // Skip a broker whose rack already has a replica while some rack has none, and a
                // broker that already has one while some broker has none.
                const bool rack_ok = !racks_with_replicas.contains(rack) ||
                                     static_cast<int32_t>(racks_with_replicas.size()) == n_racks;
                const bool broker_ok = !brokers_with_replicas.contains(broker) ||
                                       static_cast<int32_t>(brokers_with_replicas.size()) == n;
                if (rack_ok && broker_ok) {
                    replicas.push_back(broker);
                    racks_with_replicas.insert(rack);
                    brokers_with_replicas.insert(broker);
                    break;
                }
            }
        }
        out.emplace(partition, std::move(replicas));
    }
    return out;
}

}  // namespace

result<replica_map> assign_replicas(std::vector<broker_placement> brokers, int32_t partitions,
                                    int32_t replication_factor, std::mt19937_64& rng, int32_t fixed_start_index,
                                    int32_t start_partition_id) {
    if (partitions <= 0) return status(errc::invalid_partitions, "Number of partitions must be larger than 0.");
    if (replication_factor <= 0) {
        return status(errc::invalid_replication_factor, "Replication factor must be larger than 0.");
    }
    if (replication_factor > static_cast<int32_t>(brokers.size())) {
        return status(errc::invalid_replication_factor,
                      "Replication factor: " + std::to_string(replication_factor) +
                          " larger than available brokers: " + std::to_string(brokers.size()) + ".");
    }
    std::sort(brokers.begin(), brokers.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    const auto with_rack = std::count_if(brokers.begin(), brokers.end(), [](const auto& b) { return b.rack.has_value(); });
    if (with_rack == 0) {
        std::vector<int32_t> ids;
        for (const auto& b : brokers) ids.push_back(b.id);
        return assign_rack_unaware(ids, partitions, replication_factor, rng, fixed_start_index, start_partition_id);
    }
    if (with_rack != static_cast<long>(brokers.size())) {
        return status(errc::invalid_replica_assignment,
                      "Not all brokers have rack information for replica rack aware assignment.");
    }
    std::map<int32_t, std::string> rack_of;
    for (const auto& b : brokers) rack_of.emplace(b.id, *b.rack);
    return assign_rack_aware(rack_of, partitions, replication_factor, rng, fixed_start_index, start_partition_id);
}

status validate_replica_assignment(const replica_map& assignment, const std::vector<int32_t>& known_brokers) {
    if (assignment.empty()) return {errc::invalid_replica_assignment, "The replica assignment is empty."};
    int32_t expected = 0;
    const size_t rf = assignment.begin()->second.size();
    const std::set<int32_t> known(known_brokers.begin(), known_brokers.end());
    for (const auto& [partition, replicas] : assignment) {
        if (partition != expected++) {
            return {errc::invalid_replica_assignment,
                    "Partitions must be numbered consecutively from 0, found partition " + std::to_string(partition) +
                        "."};
        }
        if (replicas.empty()) {
            return {errc::invalid_replica_assignment,
                    "Partition " + std::to_string(partition) + " has an empty replica list."};
        }
        if (replicas.size() != rf) {
            return {errc::invalid_replica_assignment, "All partitions should have the same number of replicas."};
        }
        const std::set<int32_t> distinct(replicas.begin(), replicas.end());
        if (distinct.size() != replicas.size()) {
            return {errc::invalid_replica_assignment,
                    "Duplicate replica assignment found for partition " + std::to_string(partition) + "."};
        }
        std::string unknown;
        for (const int32_t r : replicas) {
            if (!known.contains(r)) unknown += (unknown.empty() ? "" : ", ") + std::to_string(r);
        }
        if (!unknown.empty()) {
            return {errc::invalid_replica_assignment, "Unknown broker(s) in replica assignment: " + unknown + "."};
        }
    }
    return {};
}

std::vector<int32_t> replicas_while_reassigning(const std::vector<int32_t>& current, const std::vector<int32_t>& target) {
    std::vector<int32_t> out = target;
    for (const int32_t r : current) {
        if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
    }
    return out;
}

status validate_reassignment_target(const std::vector<int32_t>& target, const std::vector<int32_t>& known_brokers) {
    if (target.empty()) return {errc::invalid_replica_assignment, "the replica list is empty"};
    const std::set<int32_t> distinct(target.begin(), target.end());
    if (distinct.size() != target.size()) {
        return {errc::invalid_replica_assignment, "the replica list names a broker more than once"};
    }
    const std::set<int32_t> known(known_brokers.begin(), known_brokers.end());
    std::string unknown;
    for (const int32_t r : target) {
        if (!known.contains(r)) unknown += (unknown.empty() ? "" : ", ") + std::to_string(r);
    }
    if (!unknown.empty()) return {errc::invalid_replica_assignment, "unknown broker(s) " + unknown};
    return {};
}

}  // namespace gregor::coordination
