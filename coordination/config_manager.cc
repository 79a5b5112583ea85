#include "coordination/config_manager.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "common/clock.h"
#include "common/logger.h"
#include "coordination/zk_paths.h"

namespace gregor::coordination {
namespace zp = zk_paths;
namespace {

std::shared_ptr<spdlog::logger> log() {
    static const auto logger = logging::get("coordination");
    return logger;
}

constexpr std::chrono::minutes kNotificationLifetime{15};

std::optional<int64_t> sequence_of(const std::string& name) {
    if (name.rfind(zp::kConfigChangePrefix, 0) != 0) return std::nullopt;
    int64_t seq = 0;
    const char* first = name.data() + zp::kConfigChangePrefix.size();
    const char* last = name.data() + name.size();
    const auto [end, ec] = std::from_chars(first, last, seq);
    if (ec != std::errc() || end != last) return std::nullopt;
    return seq;
}

status to_status(const zk_status& s) {
    if (is_connection_error(s.code())) return {errc::request_timed_out, "ZooKeeper did not answer: " + s.message()};
    return {errc::unknown_server_error, s.message()};
}

}  // namespace

config_manager::config_manager(zk_client& zk, coordination_thread& thread, listener& l,
                               std::chrono::milliseconds retry_backoff)
    : zk_(zk), thread_(thread), listener_(l), retry_backoff_(retry_backoff) {
    zk_.add_session_listener(this);
    watch_ = zk_.watch(zp::config_changes_path(), [this](const watch_event& e) {
        if (e.type == watch_event::kind::children_changed) handle(process_changes());
    });
}

config_manager::~config_manager() { zk_.unwatch(watch_); }

void config_manager::on_session_established(bool new_session) {
    (void)new_session;  // either way, notifications may have arrived while disconnected
    handle(process_changes());
}

result<topic_config> config_manager::read_topic_config(const std::string& topic) {
    auto node = zk_.get(zp::topic_config_path(topic));
    if (node.code() == zk_errc::no_node) {
        // A topic created by another tool may lack a config znode; it then has no overrides.
        auto exists = zk_.exists(zp::topic_path(topic));
        if (!exists) return to_status(exists.status());
        if (!exists->has_value()) {
            return status(errc::unknown_topic_or_partition, "Topic '" + topic + "' does not exist.");
        }
        return topic_config{};
    }
    if (!node) return to_status(node.status());
    auto config = zp::decode_topic_config(node->data);
    if (!config) return to_status(config.status());
    return std::move(*config);
}

status config_manager::write_topic_config(const std::string& topic, const topic_config& config) {
    auto topic_stat = zk_.exists(zp::topic_path(topic));
    if (!topic_stat) return to_status(topic_stat.status());
    if (!topic_stat->has_value()) return {errc::unknown_topic_or_partition, "Topic '" + topic + "' does not exist."};
    const std::string path = zp::topic_config_path(topic);
    auto config_stat = zk_.exists(path);
    if (!config_stat) return to_status(config_stat.status());
    const std::string data = zp::encode_topic_config(config);
    const std::vector<zk_op> ops = {
        config_stat->has_value() ? zk_op::set(path, data) : zk_op::create(path, data),
        zk_op::create(zp::config_change_path_prefix(), zp::encode_config_change(topic),
                      create_mode::persistent_sequential),
    };
    auto r = zk_.multi(ops);
    if (!r.ok()) return to_status(zk_status(r.code, r.message));
    log()->info("Updated the config of topic {}", topic);
    return {};
}

zk_status config_manager::process_changes() {
    const std::string parent = zp::config_changes_path();
    auto names = zk_.get_children(parent, /*watch=*/true);
    if (names.code() == zk_errc::no_node) return {};  // the broker registry creates it
    if (!names) return names.status();
    std::vector<std::pair<int64_t, std::string>> changes;
    for (const auto& name : *names) {
        if (const auto seq = sequence_of(name)) changes.emplace_back(*seq, name);
    }
    std::sort(changes.begin(), changes.end());
    if (!primed_) {
        if (!changes.empty()) last_seen_ = changes.back().first;
        primed_ = true;
        return {};
    }
    const auto now_ms = wall_clock_ms();
    for (const auto& [seq, name] : changes) {
        const std::string path = parent + "/" + name;
        auto node = zk_.get(path);
        if (node.code() == zk_errc::no_node) continue;
        if (!node) return node.status();
        if (seq > last_seen_) {
            auto entity = zp::decode_config_change(node->data);
            if (entity && entity->rfind("topics/", 0) == 0) {
                const std::string topic = entity->substr(7);
                auto config = read_topic_config(topic);
                if (config.ok()) {
                    listener_.on_topic_config_changed(topic, *config);
                } else if (config.code() == errc::request_timed_out) {
                    return {zk_errc::connection_loss, config.error().message};
                }
            } else if (!entity) {
                log()->warn("Ignoring config change {}: {}", name, entity.status().message());
            }
            last_seen_ = seq;
        }
        if (now_ms - node->stat.ctime > std::chrono::milliseconds(kNotificationLifetime).count()) {
            zk_.remove(path).ignore_error();  // every broker purges; losing the race is fine
        }
    }
    return {};
}

void config_manager::handle(const zk_status& s) {
    if (s.ok() || s.code() == zk_errc::closing) return;
    // Without a connection the next on_session_established looks again.
    if (is_connection_error(s.code()) && !zk_.connected()) return;
    log()->warn("Reading config change notifications failed: {}; retrying", s.message());
    if (retry_pending_) return;
    retry_pending_ = true;
    thread_.post_after(retry_backoff_, [this] {
        retry_pending_ = false;
        handle(process_changes());
    });
}

}  // namespace gregor::coordination
