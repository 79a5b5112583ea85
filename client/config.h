// Client settings, parsed from a string map that uses Kafka's configuration names
// (`bootstrap.servers`, `acks`, `linger.ms`, `auto.offset.reset`, ...), so that a user's Kafka
// producer/consumer properties carry over. Parsing never throws: a value that does not parse or
// is out of range is an errc::invalid_config status whose message is Kafka's ConfigException
// text ("Invalid value abc for configuration linger.ms: Not a number of type LONG"). Keys no
// Gregor client reads are collected in `warnings` (Kafka logs them the same way) rather than
// refused. Plain values: safe to copy between threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/errc.h"

namespace gregor::client {

using properties = std::map<std::string, std::string>;
using std::chrono::milliseconds;

struct broker_address {
    std::string host;
    uint16_t port = 0;
    // "host:port", IPv6 hosts in brackets.
    std::string str() const;
    bool operator==(const broker_address&) const = default;
};

// Parses "host:port[,host:port...]" (`--bootstrap-server`, `bootstrap.servers`); IPv6 literals
// are written "[::1]:9092". Errors: invalid_config naming the bad entry.
result<std::vector<broker_address>> parse_bootstrap_servers(std::string_view list);

// Settings every client reads.
struct common_config {
    std::vector<broker_address> bootstrap_servers;  // bootstrap.servers (required)
    std::string client_id;                          // client.id (informational)
    milliseconds request_timeout{30000};            // request.timeout.ms
    milliseconds connect_timeout{10000};            // socket.connection.setup.timeout.ms
    milliseconds reconnect_backoff{50};             // reconnect.backoff.ms
    milliseconds retry_backoff{100};                // retry.backoff.ms
    milliseconds metadata_max_age{300000};          // metadata.max.age.ms
    // "The configuration 'x' was supplied but isn't a known config." for each unknown key.
    std::vector<std::string> warnings;
};

enum class partitioner_kind {
    round_robin,  // keyless records go p0, p1, ..., p(n-1), p0, ... (the default)
    sticky,       // keyless records stick to one partition until its batch is closed
};

struct producer_config : common_config {
    int16_t acks = -1;                      // acks: all/-1, 0, 1 (default all, as Kafka 3.x)
    milliseconds linger{5};                 // linger.ms
    size_t batch_size = 16384;              // batch.size
    int32_t retries = INT32_MAX;            // retries
    milliseconds delivery_timeout{120000};  // delivery.timeout.ms
    int32_t max_in_flight = 5;              // max.in.flight.requests.per.connection
    size_t buffer_memory = 33554432;        // buffer.memory
    milliseconds max_block{60000};          // max.block.ms
    size_t max_request_size = 1048576;      // max.request.size
    partitioner_kind partitioner = partitioner_kind::round_robin;  // partitioner

    static result<producer_config> parse(const properties& props);
};

enum class offset_reset { earliest, latest, none };

struct consumer_config : common_config {
    offset_reset auto_offset_reset = offset_reset::latest;  // auto.offset.reset
    int32_t fetch_min_bytes = 1;                            // fetch.min.bytes
    int32_t fetch_max_bytes = 52428800;                     // fetch.max.bytes
    milliseconds fetch_max_wait{500};                       // fetch.max.wait.ms
    int32_t max_partition_fetch_bytes = 1048576;            // max.partition.fetch.bytes
    int32_t max_poll_records = 500;                         // max.poll.records
    bool check_crcs = true;                                 // check.crcs
    // allow.auto.create.topics: Metadata requests may create a missing topic when the broker's
    // auto.create.topics.enable is on (Kafka's consumer default).
    bool allow_auto_create_topics = true;

    static result<consumer_config> parse(const properties& props);
};

struct admin_config : common_config {
    milliseconds default_api_timeout{60000};  // default.api.timeout.ms

    static result<admin_config> parse(const properties& props);
};

}  // namespace gregor::client
