#include "client/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <set>

namespace gregor::client {
namespace {

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

status invalid(const std::string& key, const std::string& value, const std::string& why) {
    return {errc::invalid_config,
            "Invalid value " + value + " for configuration " + key + ": " + why};
}

// Reads typed values out of a property map, remembering which keys were read so that the rest
// can be reported as unknown. The first failure sticks; later reads are no-ops.
class reader {
public:
    explicit reader(const properties& p) : p_(p) {}

    const status& error() const noexcept { return error_; }
    bool has(const std::string& key) const { return p_.count(key) != 0; }

    // Keys accepted for compatibility with Kafka configurations but not acted on.
    void accept(std::initializer_list<const char*> keys) {
        for (const char* k : keys) known_.insert(k);
    }

    std::optional<std::string> raw(const std::string& key) {
        known_.insert(key);
        auto it = p_.find(key);
        if (it == p_.end()) return std::nullopt;
        return it->second;
    }

    template <typename T>
    void integer(const std::string& key, T& out, int64_t min, int64_t max, const char* type) {
        auto v = raw(key);
        if (!v || !error_.ok()) return;
        const std::string t = trim(*v);
        int64_t n = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
        if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
            error_ = invalid(key, *v, std::string("Not a number of type ") + type);
            return;
        }
        if (n < min) {
            error_ = invalid(key, *v, "Value must be at least " + std::to_string(min));
            return;
        }
        if (n > max) {
            error_ = invalid(key, *v, "Value must be no more than " + std::to_string(max));
            return;
        }
        out = static_cast<T>(n);
    }
    void int32(const std::string& key, int32_t& out, int64_t min,
               int64_t max = std::numeric_limits<int32_t>::max()) {
        integer(key, out, min, max, "INT");
    }
    void size(const std::string& key, size_t& out, int64_t min,
              int64_t max = std::numeric_limits<int32_t>::max()) {
        integer(key, out, min, max, "INT");
    }
    void ms(const std::string& key, milliseconds& out, int64_t min = 0,
            int64_t max = std::numeric_limits<int32_t>::max()) {
        int64_t n = out.count();
        integer(key, n, min, max, "LONG");
        out = milliseconds(n);
    }
    void boolean(const std::string& key, bool& out) {
        auto v = raw(key);
        if (!v || !error_.ok()) return;
        const std::string t = lower(trim(*v));
        if (t == "true") out = true;
        else if (t == "false") out = false;
        else error_ = invalid(key, *v, "Expected value to be either true or false");
    }
    // One of `choices` (compared case-insensitively); returns the index or -1 when absent.
    int choice(const std::string& key, std::initializer_list<const char*> choices) {
        auto v = raw(key);
        if (!v || !error_.ok()) return -1;
        const std::string t = lower(trim(*v));
        int i = 0;
        std::string list;
        for (const char* c : choices) {
            if (t == c) return i;
            list += (i ? ", " : "") + std::string(c);
            ++i;
        }
        error_ = invalid(key, *v, "String must be one of: " + list);
        return -1;
    }
    void fail(status s) {
        if (error_.ok()) error_ = std::move(s);
    }

    std::vector<std::string> unknown_key_warnings() const {
        std::vector<std::string> out;
        for (const auto& [k, v] : p_) {
            if (!known_.count(k)) {
                out.push_back("The configuration '" + k + "' was supplied but isn't a known config.");
            }
        }
        return out;
    }

private:
    const properties& p_;
    std::set<std::string> known_;
    status error_;
};

void read_common(reader& r, common_config& c) {
    auto servers = r.raw("bootstrap.servers");
    if (!servers) {
        r.fail({errc::invalid_config,
                "Missing required configuration \"bootstrap.servers\" which has no default value."});
    } else {
        auto parsed = parse_bootstrap_servers(*servers);
        if (!parsed) r.fail(parsed.error());
        else c.bootstrap_servers = std::move(*parsed);
    }
    if (auto id = r.raw("client.id")) c.client_id = *id;
    r.ms("request.timeout.ms", c.request_timeout, 0);
    r.ms("socket.connection.setup.timeout.ms", c.connect_timeout, 0);
    r.ms("reconnect.backoff.ms", c.reconnect_backoff, 0);
    r.ms("retry.backoff.ms", c.retry_backoff, 0);
    r.ms("metadata.max.age.ms", c.metadata_max_age, 0);
    r.choice("security.protocol", {"plaintext"});  // the only one Gregor speaks
    r.accept({"socket.connection.setup.timeout.max.ms", "reconnect.backoff.max.ms",
              "retry.backoff.max.ms", "connections.max.idle.ms", "send.buffer.bytes",
              "receive.buffer.bytes", "client.dns.lookup", "metrics.recording.level",
              "metrics.num.samples", "metrics.sample.window.ms", "metric.reporters",
              "auto.include.jmx.reporter"});
}

template <typename C>
result<C> finish(reader& r, C c) {
    if (!r.error().ok()) return r.error();
    c.warnings = r.unknown_key_warnings();
    return c;
}

}  // namespace

std::string broker_address::str() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

result<std::vector<broker_address>> parse_bootstrap_servers(std::string_view list) {
    std::vector<broker_address> out;
    size_t pos = 0;
    while (pos <= list.size()) {
        size_t comma = list.find(',', pos);
        if (comma == std::string_view::npos) comma = list.size();
        const std::string entry = trim(list.substr(pos, comma - pos));
        pos = comma + 1;
        if (entry.empty()) continue;
        // Kafka accepts (and ignores) a listener name such as PLAINTEXT:// in front.
        const size_t scheme = entry.find("://");
        const std::string hostport = scheme == std::string::npos ? entry : entry.substr(scheme + 3);
        auto bad = [&] {
            return status(errc::invalid_config, "Invalid url in bootstrap.servers: " + entry);
        };
        std::string host;
        std::string port_text;
        if (hostport.empty()) return bad();
        if (hostport.front() == '[') {
            const size_t close = hostport.find(']');
            if (close == std::string::npos || close + 1 >= hostport.size() ||
                hostport[close + 1] != ':') {
                return bad();
            }
            host = hostport.substr(1, close - 1);
            port_text = hostport.substr(close + 2);
        } else {
            const size_t colon = hostport.rfind(':');
            if (colon == std::string::npos || hostport.find(':') != colon) return bad();
            host = hostport.substr(0, colon);
            port_text = hostport.substr(colon + 1);
        }
        int port = 0;
        auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (host.empty() || port_text.empty() || ec != std::errc() ||
            end != port_text.data() + port_text.size() || port <= 0 || port > 65535) {
            return bad();
        }
        out.push_back({host, static_cast<uint16_t>(port)});
    }
    if (out.empty()) {
        return status(errc::invalid_config,
                      "No resolvable bootstrap urls given in bootstrap.servers");
    }
    return out;
}

result<producer_config> producer_config::parse(const properties& props) {
    reader r(props);
    producer_config c;
    read_common(r, c);
    switch (r.choice("acks", {"all", "-1", "0", "1"})) {
    case 0:
    case 1: c.acks = -1; break;
    case 2: c.acks = 0; break;
    case 3: c.acks = 1; break;
    default: break;
    }
    r.ms("linger.ms", c.linger, 0);
    r.size("batch.size", c.batch_size, 0);
    r.int32("retries", c.retries, 0);
    r.ms("delivery.timeout.ms", c.delivery_timeout, 0);
    r.int32("max.in.flight.requests.per.connection", c.max_in_flight, 1);
    r.size("buffer.memory", c.buffer_memory, 0, std::numeric_limits<int64_t>::max());
    r.ms("max.block.ms", c.max_block, 0, std::numeric_limits<int64_t>::max());
    r.size("max.request.size", c.max_request_size, 0);
    switch (r.choice("partitioner", {"round_robin", "sticky"})) {
    case 0: c.partitioner = partitioner_kind::round_robin; break;
    case 1: c.partitioner = partitioner_kind::sticky; break;
    default: break;
    }
    if (auto cls = r.raw("partitioner.class")) {
        if (trim(*cls) == "org.apache.kafka.clients.producer.RoundRobinPartitioner") {
            c.partitioner = partitioner_kind::round_robin;
        } else if (trim(*cls) == "org.apache.kafka.clients.producer.UniformStickyPartitioner") {
            c.partitioner = partitioner_kind::sticky;
        } else {
            r.fail(invalid("partitioner.class", *cls,
                           "Gregor's producer supports org.apache.kafka.clients.producer."
                           "RoundRobinPartitioner and UniformStickyPartitioner (or partitioner="
                           "round_robin|sticky)"));
        }
    }
    if (auto codec = r.raw("compression.type")) {
        if (lower(trim(*codec)) != "none") {
            r.fail(invalid("compression.type", *codec,
                           "Gregor's producer does not compress yet; only none is supported"));
        }
    }
    if (auto tx = r.raw("transactional.id"); tx && !tx->empty()) {
        r.fail(invalid("transactional.id", *tx, "transactions are not supported"));
    }
    // Idempotence needs producer ids from the broker, which the native protocol does not have
    // yet: the setting is accepted (Kafka 3.x turns it on by default) and has no effect.
    bool idempotence = true;
    r.boolean("enable.idempotence", idempotence);
    r.accept({"key.serializer", "value.serializer", "metadata.max.idle.ms",
              "partitioner.ignore.keys", "partitioner.adaptive.partitioning.enable",
              "partitioner.availability.timeout.ms", "interceptor.classes"});
    // Kafka's rule: a record must be able to wait linger.ms and then one request.timeout.ms.
    if (r.error().ok() && c.delivery_timeout < c.linger + c.request_timeout) {
        if (r.has("delivery.timeout.ms")) {
            r.fail({errc::invalid_config,
                    "delivery.timeout.ms should be equal to or larger than linger.ms + "
                    "request.timeout.ms"});
        } else {
            c.delivery_timeout = c.linger + c.request_timeout;
        }
    }
    return finish(r, std::move(c));
}

result<consumer_config> consumer_config::parse(const properties& props) {
    reader r(props);
    consumer_config c;
    read_common(r, c);
    switch (r.choice("auto.offset.reset", {"latest", "earliest", "none"})) {
    case 0: c.auto_offset_reset = offset_reset::latest; break;
    case 1: c.auto_offset_reset = offset_reset::earliest; break;
    case 2: c.auto_offset_reset = offset_reset::none; break;
    default: break;
    }
    r.int32("fetch.min.bytes", c.fetch_min_bytes, 0);
    r.int32("fetch.max.bytes", c.fetch_max_bytes, 0);
    r.ms("fetch.max.wait.ms", c.fetch_max_wait, 0);
    r.int32("max.partition.fetch.bytes", c.max_partition_fetch_bytes, 0);
    r.int32("max.poll.records", c.max_poll_records, 1);
    r.boolean("check.crcs", c.check_crcs);
    r.boolean("allow.auto.create.topics", c.allow_auto_create_topics);
    r.choice("isolation.level", {"read_uncommitted", "read_committed"});
    // Consumer groups come with a later issue: the group settings are accepted and unused.
    r.accept({"key.deserializer", "value.deserializer", "group.id", "group.instance.id",
              "enable.auto.commit", "auto.commit.interval.ms", "session.timeout.ms",
              "heartbeat.interval.ms", "max.poll.interval.ms", "partition.assignment.strategy",
              "exclude.internal.topics", "client.rack",
              "interceptor.classes", "default.api.timeout.ms", "group.protocol"});
    return finish(r, std::move(c));
}

result<admin_config> admin_config::parse(const properties& props) {
    reader r(props);
    admin_config c;
    read_common(r, c);
    r.ms("default.api.timeout.ms", c.default_api_timeout, 0);
    return finish(r, std::move(c));
}

}  // namespace gregor::client
