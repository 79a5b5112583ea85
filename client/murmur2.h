// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2: MurmurHash2, 32-bit, seed
// 0x9747b28c, little-endian 4-byte blocks) and the keyed partition choice of Kafka's default
// partitioner, toPositive(murmur2(key)) % numPartitions, so that a key lands on the partition a
// Kafka client would pick. Pure functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace gregor::client {

int32_t murmur2(std::span<const std::byte> data) noexcept;
int32_t murmur2(std::string_view data) noexcept;

// Kafka's Utils.toPositive: clears the sign bit (not abs, which overflows on INT32_MIN).
constexpr int32_t to_positive(int32_t n) noexcept { return n & 0x7fffffff; }

// REQUIRES: num_partitions > 0.
inline int32_t partition_for_key(std::string_view key, int32_t num_partitions) noexcept {
    return to_positive(murmur2(key)) % num_partitions;
}

}  // namespace gregor::client
