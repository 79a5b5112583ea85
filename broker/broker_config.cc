#include "broker/broker_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>
#include <sstream>
#include <unistd.h>

#include "common/invariant.h"

namespace gregor::broker {
namespace {

status invalid(const std::string& key, const std::string& value, const std::string& why) {
    return {errc::invalid_config,
            "invalid value '" + value + "' for configuration " + key + ": " + why};
}

// Keys this broker reads itself (the log.* ones are read by storage::log_config).
const std::set<std::string>& known_keys() {
    static const std::set<std::string> keys = {
        "broker.id", "listeners", "advertised.listeners", "listener.security.protocol.map",
        "inter.broker.listener.name", "broker.rack", "log.dirs", "log.dir",
        "num.partitions", "default.replication.factor", "min.insync.replicas",
        "unclean.leader.election.enable", "auto.create.topics.enable", "delete.topic.enable",
        "zookeeper.connect", "zookeeper.session.timeout.ms", "zookeeper.connection.timeout.ms",
        "socket.request.max.bytes", "connections.max.idle.ms", "request.timeout.ms",
        "num.io.threads", "num.recovery.threads.per.data.dir", "log.retention.check.interval.ms",
        "log.flush.offset.checkpoint.interval.ms", "replica.lag.time.max.ms",
        "replica.fetch.max.bytes", "replica.fetch.response.max.bytes", "replica.fetch.wait.max.ms",
        "replica.fetch.min.bytes", "replica.fetch.backoff.ms", "replica.socket.timeout.ms",
        "offsets.topic.replication.factor", "offsets.topic.num.partitions",
        "auto.leader.rebalance.enable", "leader.imbalance.check.interval.seconds",
        "controlled.shutdown.enable", "controlled.shutdown.max.retries",
        "controlled.shutdown.retry.backoff.ms", "controller.socket.timeout.ms", "gregor.log.level", "gregor.server.log.file",
        "log.segment.bytes", "log.roll.ms", "log.roll.hours", "log.retention.ms",
        "log.retention.minutes", "log.retention.hours", "log.retention.bytes",
        "log.index.interval.bytes", "message.max.bytes", "log.flush.interval.messages",
        "log.flush.interval.ms",
    };
    return keys;
}

// Keys of Kafka's own server.properties that have no effect in Gregor (yet): accepted quietly,
// so a Kafka operator's file works unchanged.
const std::set<std::string>& accepted_keys() {
    static const std::set<std::string> keys = {
        "num.network.threads", "socket.send.buffer.bytes", "socket.receive.buffer.bytes",
        "transaction.state.log.replication.factor", "transaction.state.log.min.isr",
        "group.initial.rebalance.delay.ms", "log.cleaner.enable", "log.segment.delete.delay.ms",
        "log.flush.scheduler.interval.ms", "zookeeper.set.acl", "num.replica.fetchers",
        "log.message.format.version", "inter.broker.protocol.version",
        "log.cleanup.policy", "compression.type",
    };
    return keys;
}

template <typename T>
status read_int(const properties& p, const std::string& key, T min_value, T& out) {
    auto it = p.find(key);
    if (it == p.end()) return {};
    const std::string& s = it->second;
    T v{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return invalid(key, s, "not an integer in range");
    }
    if (v < min_value) return invalid(key, s, "must be at least " + std::to_string(min_value));
    out = v;
    return {};
}

status read_bool(const properties& p, const std::string& key, bool& out) {
    auto it = p.find(key);
    if (it == p.end()) return {};
    if (it->second == "true") {
        out = true;
    } else if (it->second == "false") {
        out = false;
    } else {
        return invalid(key, it->second, "must be true or false");
    }
    return {};
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::optional<std::string> value_of(const properties& p, const std::string& key) {
    auto it = p.find(key);
    if (it == p.end()) return std::nullopt;
    return it->second;
}

// Kafka compares listener names and security protocols upper-cased.
std::string upper(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s;
}

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        item = trim(item);
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

// listener.security.protocol.map: "NAME:PROTOCOL,...", names and protocols upper-cased.
result<std::map<std::string, std::string>> parse_security_protocol_map(const std::string& value) {
    const std::string key = "listener.security.protocol.map";
    std::map<std::string, std::string> out;
    for (const auto& entry : split_list(value)) {
        const auto colon = entry.find(':');
        const std::string name = colon == std::string::npos ? "" : upper(trim(entry.substr(0, colon)));
        const std::string protocol = colon == std::string::npos ? "" : upper(trim(entry.substr(colon + 1)));
        if (name.empty() || protocol.empty()) {
            return invalid(key, value, "expected NAME:PROTOCOL in '" + entry + "'");
        }
        if (protocol != "PLAINTEXT") {
            return invalid(key, value, "listener " + name + " has security protocol " + protocol +
                                           "; only PLAINTEXT is supported");
        }
        if (!out.emplace(name, protocol).second) return invalid(key, value, "listener " + name + " is mapped twice");
    }
    if (out.empty()) return invalid(key, value, "no listener given");
    return out;
}

std::string names_of(const std::vector<listener>& ls) {
    std::string out;
    for (const auto& l : ls) out += (out.empty() ? "" : ", ") + l.name;
    return out;
}

bool has_listener(const std::vector<listener>& ls, const std::string& name) {
    return std::any_of(ls.begin(), ls.end(), [&](const listener& l) { return l.name == name; });
}

// Kafka's rules for listeners, advertised.listeners and inter.broker.listener.name; fills them
// into `c`, whose listener_security_protocol_map is already read.
status read_listeners(const properties& p, bool protocol_map_given, broker_config& c) {
    auto get = [&](const char* key) { return value_of(p, key); };
    const std::string value = get("listeners").value_or("PLAINTEXT://:9092");
    auto listeners = parse_listeners("listeners", value);
    if (!listeners) return listeners.error();
    c.listeners = *listeners;
    std::set<uint16_t> ports;
    for (const auto& l : c.listeners) {
        if (!c.listener_security_protocol_map.contains(l.name)) {
            return invalid("listeners", value,
                           "listener " + l.name + " is not in listener.security.protocol.map" +
                               (protocol_map_given ? "" : " (which maps only PLAINTEXT unless set)"));
        }
        // Port 0 asks the kernel for a free port, a different one for each listener.
        if (l.port != 0 && !ports.insert(l.port).second) {
            return invalid("listeners", value,
                           "port " + std::to_string(l.port) + " is used by two listeners; each needs its own");
        }
    }
    if (auto adv = get("advertised.listeners")) {
        auto a = parse_listeners("advertised.listeners", *adv);
        if (!a) return a.error();
        for (const auto& l : *a) {
            if (!has_listener(c.listeners, l.name)) {
                return invalid("advertised.listeners", *adv,
                               "listener " + l.name + " is not one of listeners (" + names_of(c.listeners) + ")");
            }
        }
        c.advertised_listeners = *a;
    } else {
        c.advertised_listeners = c.listeners;
    }
    for (auto& l : c.advertised_listeners) {
        if (!l.host.empty() && l.host != "0.0.0.0" && l.host != "::") continue;
        // As Kafka: advertise the machine's name when the listener binds every interface.
        char name[256] = {};
        l.host = ::gethostname(name, sizeof name - 1) == 0 ? name : "localhost";
    }
    const std::string inter = get("inter.broker.listener.name").value_or("PLAINTEXT");
    c.inter_broker_listener_name = upper(trim(inter));
    if (!has_listener(c.advertised_listeners, c.inter_broker_listener_name)) {
        return invalid("inter.broker.listener.name", inter,
                       "must name an advertised listener (" + names_of(c.advertised_listeners) + ")");
    }
    return {};
}

}  // namespace

result<std::vector<listener>> parse_listeners(const std::string& key, const std::string& value) {
    std::vector<listener> out;
    for (const auto& entry : split_list(value)) {
        const auto sep = entry.find("://");
        if (sep == std::string::npos) return invalid(key, value, "expected NAME://host:port in '" + entry + "'");
        listener l;
        l.name = upper(trim(entry.substr(0, sep)));
        if (l.name.empty()) return invalid(key, value, "missing listener name in '" + entry + "'");
        if (has_listener(out, l.name)) return invalid(key, value, "listener " + l.name + " is given twice");
        const std::string hostport = entry.substr(sep + 3);
        const auto colon = hostport.rfind(':');
        if (colon == std::string::npos) return invalid(key, value, "missing port in '" + entry + "'");
        l.host = hostport.substr(0, colon);
        if (l.host.size() >= 2 && l.host.front() == '[' && l.host.back() == ']') {
            l.host = l.host.substr(1, l.host.size() - 2);
        }
        const std::string port = hostport.substr(colon + 1);
        int v = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
        if (port.empty() || ec != std::errc() || end != port.data() + port.size() || v < 0 || v > 65535) {
            return invalid(key, value, "port '" + port + "' is not a number from 0 to 65535");
        }
        l.port = static_cast<uint16_t>(v);
        out.push_back(l);
    }
    if (out.empty()) return invalid(key, value, "no listener given");
    return out;
}

result<broker_config> broker_config::from_properties(const properties& p,
                                                     std::vector<std::string>& warnings) {
    for (const auto& [key, value] : p) {
        if (known_keys().contains(key) || accepted_keys().contains(key)) continue;
        warnings.push_back("unknown configuration '" + key + "' was supplied but is not used");
    }
    broker_config c;
    auto chain = [](std::initializer_list<status> all) -> status {
        for (const auto& s : all) {
            if (!s.ok()) return s;
        }
        return {};
    };
    int32_t replication = c.default_replication_factor;
    int32_t min_isr = c.min_insync_replicas;
    int32_t offsets_rf = c.offsets_topic_replication_factor;
    if (status s = chain({
            read_int<int32_t>(p, "broker.id", 0, c.broker_id),
            read_int<int32_t>(p, "num.partitions", 1, c.num_partitions),
            read_int<int32_t>(p, "default.replication.factor", 1, replication),
            read_int<int32_t>(p, "min.insync.replicas", 1, min_isr),
            read_bool(p, "unclean.leader.election.enable", c.unclean_leader_election_enable),
            read_bool(p, "auto.create.topics.enable", c.auto_create_topics_enable),
            read_bool(p, "delete.topic.enable", c.delete_topic_enable),
            read_int<int32_t>(p, "zookeeper.session.timeout.ms", 1, c.zookeeper_session_timeout_ms),
            read_int<int32_t>(p, "socket.request.max.bytes", 1, c.socket_request_max_bytes),
            read_int<int64_t>(p, "connections.max.idle.ms", -1, c.connections_max_idle_ms),
            read_int<int32_t>(p, "request.timeout.ms", 1, c.request_timeout_ms),
            read_int<int32_t>(p, "num.io.threads", 0, c.num_io_threads),
            read_int<int32_t>(p, "num.recovery.threads.per.data.dir", 1, c.num_recovery_threads_per_data_dir),
            read_int<int64_t>(p, "log.retention.check.interval.ms", 1, c.log_retention_check_interval_ms),
            read_int<int64_t>(p, "log.flush.offset.checkpoint.interval.ms", 1, c.log_flush_offset_checkpoint_interval_ms),
            read_int<int32_t>(p, "replica.lag.time.max.ms", 1, c.replica_lag_time_max_ms),
            read_int<int32_t>(p, "replica.fetch.max.bytes", 1, c.replica_fetch_max_bytes),
            read_int<int32_t>(p, "replica.fetch.response.max.bytes", 1, c.replica_fetch_response_max_bytes),
            read_int<int32_t>(p, "replica.fetch.wait.max.ms", 0, c.replica_fetch_wait_max_ms),
            read_int<int32_t>(p, "replica.fetch.min.bytes", 1, c.replica_fetch_min_bytes),
            read_int<int32_t>(p, "replica.fetch.backoff.ms", 0, c.replica_fetch_backoff_ms),
            read_int<int32_t>(p, "replica.socket.timeout.ms", 1, c.replica_socket_timeout_ms),
            read_int<int32_t>(p, "offsets.topic.replication.factor", 1, offsets_rf),
            read_int<int32_t>(p, "offsets.topic.num.partitions", 1, c.offsets_topic_num_partitions),
            read_bool(p, "auto.leader.rebalance.enable", c.auto_leader_rebalance_enable),
            read_int<int64_t>(p, "leader.imbalance.check.interval.seconds", 1, c.leader_imbalance_check_interval_seconds),
            read_bool(p, "controlled.shutdown.enable", c.controlled_shutdown_enable),
            read_int<int32_t>(p, "controlled.shutdown.max.retries", 0, c.controlled_shutdown_max_retries),
            read_int<int64_t>(p, "controlled.shutdown.retry.backoff.ms", 0, c.controlled_shutdown_retry_backoff_ms),
            read_int<int32_t>(p, "controller.socket.timeout.ms", 1, c.controller_socket_timeout_ms),
        });
        !s.ok()) {
        return s;
    }
    for (auto [key, v] : {std::pair{"default.replication.factor", replication},
                          std::pair{"min.insync.replicas", min_isr},
                          std::pair{"offsets.topic.replication.factor", offsets_rf}}) {
        if (v > INT16_MAX) return invalid(key, std::to_string(v), "must be at most 32767");
    }
    c.default_replication_factor = static_cast<int16_t>(replication);
    c.min_insync_replicas = static_cast<int16_t>(min_isr);
    c.offsets_topic_replication_factor = static_cast<int16_t>(offsets_rf);

    auto get = [&](const char* key) { return value_of(p, key); };

    const auto protocol_map = get("listener.security.protocol.map");
    if (protocol_map) {
        auto m = parse_security_protocol_map(*protocol_map);
        if (!m) return m.error();
        c.listener_security_protocol_map = *m;
    }
    if (status s = read_listeners(p, protocol_map.has_value(), c); !s.ok()) return s;

    c.rack = get("broker.rack").value_or("");
    const std::string dirs = get("log.dirs").value_or(get("log.dir").value_or("/tmp/gregor-logs"));
    for (const auto& d : split_list(dirs)) c.log_dirs.emplace_back(d);
    if (c.log_dirs.empty()) return invalid("log.dirs", dirs, "no directory given");

    auto zk = get("zookeeper.connect");
    if (!zk || trim(*zk).empty()) {
        return status(errc::invalid_config, "missing required configuration zookeeper.connect");
    }
    c.zookeeper_connect = trim(*zk);

    c.log_level = get("gregor.log.level").value_or("info");
    static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (!levels.contains(c.log_level)) {
        return invalid("gregor.log.level", c.log_level, "one of trace, debug, info, warn, error, critical, off");
    }
    if (auto f = get("gregor.server.log.file")) c.server_log_file = *f;

    auto log = storage::log_config::from_broker_properties(p);
    if (!log) return log.error();
    c.log = *log;
    return c;
}

const listener& broker_config::advertised() const {
    const auto it = std::find_if(advertised_listeners.begin(), advertised_listeners.end(),
                                 [&](const listener& l) { return l.name == inter_broker_listener_name; });
    GREGOR_INVARIANT(it != advertised_listeners.end(), "inter.broker.listener.name is an advertised listener");
    return *it;
}

}  // namespace gregor::broker
