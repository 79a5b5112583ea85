#include "broker/storage/log_config.h"

#include <charconv>
#include <span>

namespace gregor::storage {
namespace {

using props = std::map<std::string, std::string>;

status invalid(const std::string& key, const std::string& value, const std::string& why) {
    return {errc::invalid_config, "invalid value '" + value + "' for " + key + ": " + why};
}

// Parses `key` when present into `out`; values must be >= min_value.
status read_long(const props& p, const std::string& key, int64_t min_value, int64_t& out,
                 bool& found) {
    found = false;
    auto it = p.find(key);
    if (it == p.end()) return {};
    const std::string& s = it->second;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
        return invalid(key, s, "not an integer");
    }
    if (v < min_value) return invalid(key, s, "must be at least " + std::to_string(min_value));
    out = v;
    found = true;
    return {};
}

// A key with min_value -1 takes -1 for "no limit", kept unscaled.
struct key_spec {
    const char* key;
    int64_t min_value;
    int64_t unit;
    int64_t log_config::*field;
};

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kMinute = 60 * 1000;

// Later entries for the same field win (ms over minutes over hours), as in Kafka.
constexpr key_spec kBrokerKeys[] = {
    {"log.segment.bytes", 14, 1, &log_config::segment_bytes},
    {"log.roll.hours", 1, kHour, &log_config::segment_ms},
    {"log.roll.ms", 1, 1, &log_config::segment_ms},
    {"log.retention.hours", -1, kHour, &log_config::retention_ms},
    {"log.retention.minutes", -1, kMinute, &log_config::retention_ms},
    {"log.retention.ms", -1, 1, &log_config::retention_ms},
    {"log.retention.bytes", -1, 1, &log_config::retention_bytes},
    {"log.index.interval.bytes", 0, 1, &log_config::index_interval_bytes},
    {"message.max.bytes", 0, 1, &log_config::max_message_bytes},
    {"log.flush.interval.messages", 1, 1, &log_config::flush_interval_messages},
    {"log.flush.interval.ms", 0, 1, &log_config::flush_interval_ms},
};

constexpr key_spec kTopicKeys[] = {
    {"segment.bytes", 14, 1, &log_config::segment_bytes},
    {"segment.ms", 1, 1, &log_config::segment_ms},
    {"retention.ms", -1, 1, &log_config::retention_ms},
    {"retention.bytes", -1, 1, &log_config::retention_bytes},
    {"index.interval.bytes", 0, 1, &log_config::index_interval_bytes},
    {"max.message.bytes", 0, 1, &log_config::max_message_bytes},
    {"flush.messages", 1, 1, &log_config::flush_interval_messages},
    {"flush.ms", 0, 1, &log_config::flush_interval_ms},
};

// The same key at broker and topic level; an int32, so not in the key tables.
constexpr const char* kMinInsyncReplicas = "min.insync.replicas";

status read_min_insync_replicas(const props& p, log_config& c) {
    auto it = p.find(kMinInsyncReplicas);
    if (it == p.end()) return {};
    const std::string& s = it->second;
    int32_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v < 1) {
        return invalid(kMinInsyncReplicas, s, "must be an integer >= 1");
    }
    c.min_insync_replicas = v;
    return {};
}

status apply_keys(const props& p, std::span<const key_spec> keys, log_config& c) {
    for (const auto& k : keys) {
        int64_t v = 0;
        bool found = false;
        if (auto s = read_long(p, k.key, k.min_value, v, found); !s.ok()) return s;
        if (!found) continue;
        if (v == -1) {
            c.*k.field = -1;
            continue;
        }
        if (v > std::numeric_limits<int64_t>::max() / k.unit) {
            return invalid(k.key, p.at(k.key), "too large");
        }
        c.*k.field = v * k.unit;
    }
    if (auto s = read_min_insync_replicas(p, c); !s.ok()) return s;
    if (c.segment_bytes > std::numeric_limits<uint32_t>::max()) {
        return invalid("segment.bytes", std::to_string(c.segment_bytes),
                       "positions in a segment are 32-bit: at most 4294967295");
    }
    return {};
}

}  // namespace

result<log_config> log_config::from_broker_properties(const props& p) {
    log_config c;
    if (auto s = apply_keys(p, kBrokerKeys, c); !s.ok()) return s;
    return c;
}

result<log_config> log_config::with_topic_overrides(const props& overrides) const {
    for (const auto& [key, value] : overrides) {
        bool known = key == kMinInsyncReplicas;
        for (const auto& k : kTopicKeys) known = known || key == k.key;
        if (!known) return status(errc::invalid_config, "unknown topic config '" + key + "'");
    }
    log_config c = *this;
    if (auto s = apply_keys(overrides, kTopicKeys, c); !s.ok()) return s;
    return c;
}

}  // namespace gregor::storage
