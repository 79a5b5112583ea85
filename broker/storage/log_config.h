// Settings of one partition's log: the broker's log.* defaults, overridden per topic by the
// keys of /config/topics/<t> (retention.ms, segment.bytes, ...), with Kafka's names and
// defaults. A plain value: copy it freely; parse functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "common/errc.h"

namespace gregor::storage {

struct log_config {
    static constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

    int64_t segment_bytes = 1LL << 30;                  // log.segment.bytes / segment.bytes
    int64_t segment_ms = 7LL * 24 * 3600 * 1000;        // log.roll.ms|hours / segment.ms
    int64_t retention_ms = 7LL * 24 * 3600 * 1000;      // log.retention.ms|minutes|hours; -1: forever
    int64_t retention_bytes = -1;                       // log.retention.bytes; -1: no limit
    int64_t index_interval_bytes = 4096;                // log.index.interval.bytes
    int64_t max_message_bytes = 1048588;                // message.max.bytes / max.message.bytes
    int64_t flush_interval_messages = kNoLimit;         // log.flush.interval.messages / flush.messages
    int64_t flush_interval_ms = kNoLimit;               // log.flush.interval.ms / flush.ms
    int32_t min_insync_replicas = 1;                    // min.insync.replicas (both levels)

    // Reads the broker-level keys (log.*, message.max.bytes, min.insync.replicas) it knows from `props`, ignoring
    // other keys. As Kafka: log.retention.ms wins over .minutes, which wins over .hours; the
    // same for log.roll.ms over log.roll.hours. An invalid value: invalid_config error naming
    // key and value.
    static result<log_config> from_broker_properties(const std::map<std::string, std::string>& props);

    // This config with per-topic overrides applied. An unknown key or invalid value: an error
    // naming it.
    result<log_config> with_topic_overrides(const std::map<std::string, std::string>& overrides) const;
};

}  // namespace gregor::storage
