// Chooses a record's partition the way Kafka's producer does: a keyed record goes to
// toPositive(murmur2(key)) % numPartitions (client/murmur2.h); a keyless record goes round-robin
// per topic, p0, p1, ..., p(n-1), p0, ... (Kafka's RoundRobinPartitioner, which users are told
// is what Kafka does), or, with partitioner_kind::sticky, to one partition until the batch being
// filled there is closed, then to another (Kafka's sticky partitioner, KIP-480).
// Not thread-safe: the producer calls it under its own lock.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>

#include "client/config.h"

namespace gregor::client {

class partitioner {
public:
    explicit partitioner(partitioner_kind kind, uint32_t seed = std::random_device{}());

    // `opens_new_batch(p)` tells whether a record appended to partition p now would start a
    // new batch there (sticky mode only asks it). REQUIRES: num_partitions > 0.
    int32_t partition(const std::string& topic, const std::optional<std::string>& key,
                      int32_t num_partitions,
                      const std::function<bool(int32_t)>& opens_new_batch = {});

    partitioner_kind kind() const noexcept { return kind_; }

private:
    int32_t pick_other(int32_t current, int32_t num_partitions);

    partitioner_kind kind_;
    std::unordered_map<std::string, uint32_t> next_;    // round robin: the topic's counter
    std::unordered_map<std::string, int32_t> sticky_;   // sticky: the topic's partition
    std::mt19937 rng_;
};

}  // namespace gregor::client
