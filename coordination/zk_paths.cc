#include "coordination/zk_paths.h"

#include <array>
#include <charconv>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

namespace gregor::coordination::zk_paths {
namespace {

using json = nlohmann::json;
// Encoders keep insertion order so znodes read like Kafka's ("version" first).
using ordered_json = nlohmann::ordered_json;

// Invalid UTF-8 (a config value from a client, say) is replaced rather than thrown on.
template <typename J>
std::string dump(const J& j) {
    return j.dump(-1, ' ', false, J::error_handler_t::replace);
}

zk_status malformed(std::string_view what, std::string_view text) {
    constexpr size_t kShown = 200;
    std::string shown(text.substr(0, kShown));
    if (text.size() > kShown) shown += "...";
    return {zk_errc::malformed_data, std::string(what) + ": " + shown};
}

// Parses `text` as a JSON object; malformed_data otherwise.
zk_result<json> parse_object(std::string_view what, std::string_view text) {
    json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return malformed(what, text);
    return j;
}

bool to_int32(const json& v, int32_t& out) {
    if (!v.is_number_integer()) return false;
    if (v.is_number_unsigned()) {
        const auto u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) return false;
        out = static_cast<int32_t>(u);
        return true;
    }
    const auto i = v.get<int64_t>();
    if (i < std::numeric_limits<int32_t>::min() || i > std::numeric_limits<int32_t>::max()) {
        return false;
    }
    out = static_cast<int32_t>(i);
    return true;
}

bool field_int32(const json& obj, const char* key, int32_t& out) {
    const auto it = obj.find(key);
    return it != obj.end() && to_int32(*it, out);
}

bool field_string(const json& obj, const char* key, std::string& out) {
    const auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
}

bool to_int32_list(const json& v, std::vector<int32_t>& out) {
    if (!v.is_array()) return false;
    out.clear();
    out.reserve(v.size());
    for (const auto& e : v) {
        int32_t i = 0;
        if (!to_int32(e, i)) return false;
        out.push_back(i);
    }
    return true;
}

bool parse_int32(std::string_view s, int32_t& out) {
    if (s.empty() || s.front() == '+') return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

// --- paths ---------------------------------------------------------------------------------

std::string cluster_id_path() { return "/cluster/id"; }
std::string controller_path() { return "/controller"; }
std::string controller_epoch_path() { return "/controller_epoch"; }
std::string brokers_path() { return "/brokers"; }
std::string broker_ids_path() { return "/brokers/ids"; }
std::string broker_path(int32_t id) { return broker_ids_path() + "/" + std::to_string(id); }
std::string topics_path() { return "/brokers/topics"; }
std::string topic_path(std::string_view t) { return topics_path() + "/" + std::string(t); }
std::string topic_partitions_path(std::string_view t) { return topic_path(t) + "/partitions"; }
std::string partition_path(std::string_view t, int32_t p) {
    return topic_partitions_path(t) + "/" + std::to_string(p);
}
std::string partition_state_path(std::string_view t, int32_t p) {
    return partition_path(t, p) + "/state";
}
std::string config_topics_path() { return "/config/topics"; }
std::string topic_config_path(std::string_view t) {
    return config_topics_path() + "/" + std::string(t);
}
std::string config_changes_path() { return "/config/changes"; }
std::string config_change_path_prefix() {
    return config_changes_path() + "/" + std::string(kConfigChangePrefix);
}
std::string delete_topics_path() { return "/admin/delete_topics"; }
std::string delete_topic_path(std::string_view t) {
    return delete_topics_path() + "/" + std::string(t);
}
std::string reassign_partitions_path() { return "/admin/reassign_partitions"; }
std::string isr_changes_path() { return "/isr_change_notification"; }
std::string isr_change_path_prefix() {
    return isr_changes_path() + "/" + std::string(kIsrChangePrefix);
}

std::vector<std::string> persistent_paths() {
    return {brokers_path(),      broker_ids_path(),     topics_path(),
            "/config",           config_topics_path(),  config_changes_path(),
            "/admin",            delete_topics_path(),  isr_changes_path(),
            "/cluster"};
}

// --- contents ------------------------------------------------------------------------------

std::string encode_cluster_id(std::string_view id) {
    // Kafka writes this version as a string.
    ordered_json j;
    j["version"] = "1";
    j["id"] = std::string(id);
    return dump(j);
}

zk_result<std::string> decode_cluster_id(std::string_view text) {
    auto j = parse_object("cluster id", text);
    if (!j) return j.status();
    std::string id;
    if (!field_string(*j, "id", id) || id.empty()) return malformed("cluster id", text);
    return id;
}

std::string encode_controller(int32_t broker_id, int64_t timestamp_ms) {
    ordered_json j;
    j["version"] = 2;
    j["brokerid"] = broker_id;
    j["timestamp"] = std::to_string(timestamp_ms);
    // Kafka 3.4+ writes this for the ZooKeeper-to-KRaft migration; -1 means "not migrating".
    j["kraftControllerEpoch"] = -1;
    return dump(j);
}

zk_result<int32_t> decode_controller(std::string_view text) {
    auto j = parse_object("controller", text);
    if (!j) return j.status();
    int32_t id = -1;
    if (!field_int32(*j, "brokerid", id)) return malformed("controller", text);
    return id;
}

std::string encode_controller_epoch(int32_t epoch) { return std::to_string(epoch); }

zk_result<int32_t> decode_controller_epoch(std::string_view text) {
    int32_t epoch = 0;
    if (!parse_int32(text, epoch)) return malformed("controller epoch", text);
    return epoch;
}

std::string endpoint_string(const endpoint& e) {
    const bool ipv6 = e.host.find(':') != std::string::npos;
    return e.listener + "://" + (ipv6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

zk_result<endpoint> parse_endpoint(std::string_view text) {
    const auto sep = text.find("://");
    if (sep == std::string_view::npos || sep == 0) return malformed("endpoint", text);
    endpoint e;
    e.listener = std::string(text.substr(0, sep));
    e.security_protocol = e.listener;
    std::string_view rest = text.substr(sep + 3);
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return malformed("endpoint", text);
    std::string_view host = rest.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (!parse_int32(rest.substr(colon + 1), e.port) || e.port < 0 || e.port > 65535) {
        return malformed("endpoint", text);
    }
    e.host = std::string(host);
    return e;
}

std::string encode_broker(const broker_info& b, int64_t timestamp_ms) {
    ordered_json j;
    j["version"] = 5;
    j["host"] = b.host;
    j["port"] = b.port;
    j["jmx_port"] = -1;
    j["timestamp"] = std::to_string(timestamp_ms);
    ordered_json endpoints = ordered_json::array();
    ordered_json protocols = ordered_json::object();
    for (const auto& e : b.endpoints) {
        endpoints.push_back(endpoint_string(e));
        protocols[e.listener] = e.security_protocol;
    }
    j["endpoints"] = std::move(endpoints);
    j["listener_security_protocol_map"] = std::move(protocols);
    if (b.rack) j["rack"] = *b.rack;
    j["features"] = ordered_json::object();
    return dump(j);
}

zk_result<broker_info> decode_broker(int32_t id, std::string_view text) {
    const std::string what = "broker " + std::to_string(id) + " registration";
    auto parsed = parse_object(what, text);
    if (!parsed) return parsed.status();
    const json& j = *parsed;
    broker_info b;
    b.id = id;
    // host/port are null/-1 when the broker has no PLAINTEXT listener.
    if (!field_string(j, "host", b.host)) b.host.clear();
    if (!field_int32(j, "port", b.port)) b.port = -1;
    if (const auto it = j.find("rack"); it != j.end() && it->is_string()) {
        b.rack = it->get<std::string>();
    }
    const auto eps = j.find("endpoints");
    if (eps == j.end()) {
        // Version 1 registrations carry only host and port.
        if (b.host.empty() || b.port < 0) return malformed(what, text);
        b.endpoints.push_back(endpoint{"PLAINTEXT", "PLAINTEXT", b.host, b.port});
        return b;
    }
    if (!eps->is_array()) return malformed(what, text);
    const auto protocols = j.find("listener_security_protocol_map");
    for (const auto& s : *eps) {
        if (!s.is_string()) return malformed(what, text);
        auto e = parse_endpoint(s.get<std::string>());
        if (!e) return malformed(what, text);
        if (protocols != j.end() && protocols->is_object()) {
            if (const auto p = protocols->find(e->listener); p != protocols->end() && p->is_string()) {
                e->security_protocol = p->get<std::string>();
            }
        }
        b.endpoints.push_back(std::move(*e));
    }
    return b;
}

std::string encode_topic_assignment(const topic_assignment& a) {
    ordered_json partitions = ordered_json::object();
    for (const auto& [p, replicas] : a.partitions) partitions[std::to_string(p)] = replicas;
    ordered_json j;
    j["version"] = 3;
    j["partitions"] = std::move(partitions);
    j["adding_replicas"] = ordered_json::object();
    j["removing_replicas"] = ordered_json::object();
    if (!a.topic_id.empty()) j["topic_id"] = a.topic_id;
    return dump(j);
}

zk_result<topic_assignment> decode_topic_assignment(std::string_view text) {
    auto parsed = parse_object("topic assignment", text);
    if (!parsed) return parsed.status();
    const json& j = *parsed;
    topic_assignment a;
    if (const auto it = j.find("topic_id"); it != j.end()) {
        if (!it->is_string()) return malformed("topic assignment", text);
        a.topic_id = it->get<std::string>();
    }
    const auto partitions = j.find("partitions");
    if (partitions == j.end() || !partitions->is_object()) return malformed("topic assignment", text);
    for (const auto& [key, replicas] : partitions->items()) {
        int32_t p = 0;
        std::vector<int32_t> ids;
        if (!parse_int32(key, p) || p < 0 || !to_int32_list(replicas, ids)) {
            return malformed("topic assignment", text);
        }
        a.partitions.emplace(p, std::move(ids));
    }
    return a;
}

std::string encode_partition_state(const partition_state& s) {
    ordered_json j;
    j["controller_epoch"] = s.controller_epoch;
    j["leader"] = s.leader;
    j["version"] = 1;
    j["leader_epoch"] = s.leader_epoch;
    j["isr"] = s.isr;
    return dump(j);
}

zk_result<partition_state> decode_partition_state(std::string_view text, int32_t zk_version) {
    auto parsed = parse_object("partition state", text);
    if (!parsed) return parsed.status();
    const json& j = *parsed;
    partition_state s;
    const auto isr = j.find("isr");
    if (!field_int32(j, "leader", s.leader) || !field_int32(j, "leader_epoch", s.leader_epoch) ||
        !field_int32(j, "controller_epoch", s.controller_epoch) || isr == j.end() ||
        !to_int32_list(*isr, s.isr)) {
        return malformed("partition state", text);
    }
    s.zk_version = zk_version;
    return s;
}

std::string encode_topic_config(const topic_config& config) {
    ordered_json values = ordered_json::object();
    for (const auto& [k, v] : config) values[k] = v;
    ordered_json j;
    j["version"] = 1;
    j["config"] = std::move(values);
    return dump(j);
}

zk_result<topic_config> decode_topic_config(std::string_view text) {
    auto parsed = parse_object("topic config", text);
    if (!parsed) return parsed.status();
    const auto values = parsed->find("config");
    if (values == parsed->end() || !values->is_object()) return malformed("topic config", text);
    topic_config config;
    for (const auto& [k, v] : values->items()) {
        if (v.is_string()) {
            config[k] = v.get<std::string>();
        } else if (v.is_number() || v.is_boolean()) {
            config[k] = v.dump();
        } else {
            return malformed("topic config", text);
        }
    }
    return config;
}

std::string encode_config_change(std::string_view topic) {
    ordered_json j;
    j["version"] = 2;
    j["entity_path"] = "topics/" + std::string(topic);
    return dump(j);
}

zk_result<std::string> decode_config_change(std::string_view text) {
    auto parsed = parse_object("config change", text);
    if (!parsed) return parsed.status();
    std::string path;
    if (field_string(*parsed, "entity_path", path) && !path.empty()) return path;
    std::string type, name;
    if (field_string(*parsed, "entity_type", type) && field_string(*parsed, "entity_name", name)) {
        return type + "/" + name;
    }
    return malformed("config change", text);
}

std::string encode_isr_change(const std::vector<topic_partition>& partitions) {
    ordered_json list = ordered_json::array();
    for (const auto& tp : partitions) {
        ordered_json e;
        e["topic"] = tp.topic;
        e["partition"] = tp.partition;
        list.push_back(std::move(e));
    }
    ordered_json j;
    j["version"] = 1;
    j["partitions"] = std::move(list);
    return dump(j);
}

zk_result<std::vector<topic_partition>> decode_isr_change(std::string_view text) {
    auto parsed = parse_object("isr change", text);
    if (!parsed) return parsed.status();
    const auto list = parsed->find("partitions");
    if (list == parsed->end() || !list->is_array()) return malformed("isr change", text);
    std::vector<topic_partition> out;
    for (const auto& e : *list) {
        topic_partition tp;
        if (!e.is_object() || !field_string(e, "topic", tp.topic) ||
            !field_int32(e, "partition", tp.partition)) {
            return malformed("isr change", text);
        }
        out.push_back(std::move(tp));
    }
    return out;
}

std::string encode_reassignment(const partition_reassignments& reassignments) {
    ordered_json list = ordered_json::array();
    for (const auto& [tp, replicas] : reassignments) {
        ordered_json e;
        e["topic"] = tp.topic;
        e["partition"] = tp.partition;
        e["replicas"] = replicas;
        list.push_back(std::move(e));
    }
    ordered_json j;
    j["version"] = 1;
    j["partitions"] = std::move(list);
    return dump(j);
}

zk_result<std::vector<std::pair<topic_partition, std::vector<int32_t>>>> decode_reassignment(std::string_view text) {
    auto parsed = parse_object("partition reassignment", text);
    if (!parsed) return parsed.status();
    const auto list = parsed->find("partitions");
    if (list == parsed->end() || !list->is_array()) return malformed("partition reassignment", text);
    std::vector<std::pair<topic_partition, std::vector<int32_t>>> out;
    for (const auto& e : *list) {
        topic_partition tp;
        std::vector<int32_t> replicas;
        const auto r = e.find("replicas");  // end() for a non-object
        if (!e.is_object() || !field_string(e, "topic", tp.topic) || !field_int32(e, "partition", tp.partition) ||
            r == e.end() || !to_int32_list(*r, replicas)) {
            return malformed("partition reassignment", text);
        }
        out.emplace_back(std::move(tp), std::move(replicas));
    }
    return out;
}

std::string new_uuid() {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    for (;;) {
        std::array<uint8_t, 16> bytes;
        const uint64_t hi = rng();
        const uint64_t lo = rng();
        for (int i = 0; i < 8; ++i) {
            bytes[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
            bytes[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
        }
        std::string out;
        uint32_t acc = 0;
        int bits = 0;
        for (uint8_t b : bytes) {
            acc = (acc << 8) | b;
            bits += 8;
            while (bits >= 6) {
                bits -= 6;
                out += kAlphabet[(acc >> bits) & 0x3f];
            }
        }
        if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
        if (out.front() != '-') return out;
    }
}

}  // namespace gregor::coordination::zk_paths
