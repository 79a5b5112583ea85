#include "client/partitioner.h"

#include "client/murmur2.h"

namespace gregor::client {

partitioner::partitioner(partitioner_kind kind, uint32_t seed) : kind_(kind), rng_(seed) {}

int32_t partitioner::pick_other(int32_t current, int32_t num_partitions) {
    if (num_partitions <= 1) return 0;
    // Uniform over the other n-1 partitions.
    std::uniform_int_distribution<int32_t> d(0, num_partitions - 2);
    const int32_t p = d(rng_);
    return p >= current ? p + 1 : p;
}

int32_t partitioner::partition(const std::string& topic, const std::optional<std::string>& key,
                               int32_t num_partitions,
                               const std::function<bool(int32_t)>& opens_new_batch) {
    if (key) return partition_for_key(*key, num_partitions);
    if (kind_ == partitioner_kind::round_robin) {
        uint32_t& next = next_[topic];
        return static_cast<int32_t>(next++ % static_cast<uint32_t>(num_partitions));
    }
    auto it = sticky_.find(topic);
    if (it == sticky_.end()) {
        std::uniform_int_distribution<int32_t> d(0, num_partitions - 1);
        return sticky_[topic] = d(rng_);
    }
    int32_t& p = it->second;
    if (p >= num_partitions) {
        std::uniform_int_distribution<int32_t> d(0, num_partitions - 1);
        p = d(rng_);
    } else if (opens_new_batch && opens_new_batch(p)) {
        // The batch this topic was sticking to is closed: move on, as Kafka's onNewBatch does.
        p = pick_other(p, num_partitions);
    }
    return p;
}

}  // namespace gregor::client
