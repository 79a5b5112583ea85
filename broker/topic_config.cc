#include "broker/topic_config.h"

namespace gregor::broker {
namespace {

// Topic keys beyond the log's own, with the broker setting that provides the default.
std::map<std::string, std::string> broker_defaults(const broker_config& b) {
    const auto& l = b.log;
    auto limit = [](int64_t v) {
        return std::to_string(v == storage::log_config::kNoLimit ? INT64_MAX : v);
    };
    return {
        {"segment.bytes", std::to_string(l.segment_bytes)},
        {"segment.ms", std::to_string(l.segment_ms)},
        {"retention.ms", std::to_string(l.retention_ms)},
        {"retention.bytes", std::to_string(l.retention_bytes)},
        {"index.interval.bytes", std::to_string(l.index_interval_bytes)},
        {"max.message.bytes", std::to_string(l.max_message_bytes)},
        {"flush.messages", limit(l.flush_interval_messages)},
        {"flush.ms", limit(l.flush_interval_ms)},
        {"min.insync.replicas", std::to_string(l.min_insync_replicas)},
        {"unclean.leader.election.enable", b.unclean_leader_election_enable ? "true" : "false"},
    };
}

std::map<std::string, std::string> log_keys_only(const topic_overrides& o) {
    std::map<std::string, std::string> out = o;
    out.erase("unclean.leader.election.enable");
    return out;
}

}  // namespace

status validate_topic_config(const broker_config& broker, const topic_overrides& overrides) {
    if (auto it = overrides.find("unclean.leader.election.enable");
        it != overrides.end() && it->second != "true" && it->second != "false") {
        return {errc::invalid_config, "invalid value '" + it->second +
                                          "' for unclean.leader.election.enable: must be true or false"};
    }
    auto c = topic_log_config(broker, overrides);
    return c ? status{} : c.error();
}

result<storage::log_config> topic_log_config(const broker_config& broker, const topic_overrides& overrides) {
    return broker.log.with_topic_overrides(log_keys_only(overrides));
}

std::vector<topic_config_entry> describe_topic_config(const broker_config& broker,
                                                      const topic_overrides& overrides) {
    std::vector<topic_config_entry> out;
    for (const auto& [name, def] : broker_defaults(broker)) {
        auto it = overrides.find(name);
        out.push_back({name, it == overrides.end() ? def : it->second, it == overrides.end()});
    }
    return out;
}

}  // namespace gregor::broker
