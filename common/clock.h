// Wall-clock time in milliseconds since the epoch, the unit of Kafka's timestamps and of the
// timestamps in ZooKeeper's JSON; and a monotonic clock for measuring intervals (replica lag),
// which a wall-clock step must not distort. Any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace gregor {

inline int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

inline int64_t monotonic_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace gregor
