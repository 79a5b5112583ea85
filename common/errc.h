// Error codes of the request path, numbered exactly as Kafka's wire error codes
// (org.apache.kafka.common.protocol.Errors) so that both protocol adapters send them unchanged.
// Never renumber: a code is part of the wire contract. Expected failures travel as values
// (gregor::status, gregor::result<T>); exceptions are for start-up and bugs.
// Everything here is immutable and safe to use from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace gregor {

enum class errc : int16_t {
    unknown_server_error = -1,           // an unexpected error on the server
    none = 0,
    offset_out_of_range = 1,             // the requested offset is outside [log start, log end]
    corrupt_message = 2,                 // a batch failed its CRC, or a request does not parse
    unknown_topic_or_partition = 3,      // this broker does not host that topic-partition
    invalid_fetch_size = 4,              // a fetch asked for a negative or zero size
    leader_not_available = 5,            // the partition has no leader right now (retriable)
    not_leader_or_follower = 6,          // this broker is not the partition's leader (retriable)
    request_timed_out = 7,               // the request did not complete in its timeout
    broker_not_available = 8,            // the broker is not available
    message_too_large = 10,              // a batch is larger than message.max.bytes
    stale_controller_epoch = 11,         // a request from a controller that has been replaced
    network_exception = 13,              // the connection broke before a response came
    invalid_topic_exception = 17,        // the topic name is not legal
    record_list_too_large = 18,          // a produce request is larger than allowed
    not_enough_replicas = 19,            // fewer in-sync replicas than min.insync.replicas
    not_enough_replicas_after_append = 20, // appended, but the ISR shrank below the minimum
    invalid_required_acks = 21,          // acks is not -1, 0 or 1
    invalid_timestamp = 32,              // a timestamp outside the accepted range
    unsupported_version = 35,            // the API version is not served by this broker
    topic_already_exists = 36,           // a topic of that name exists
    invalid_partitions = 37,             // the partition count is invalid
    invalid_replication_factor = 38,     // the replication factor is invalid
    invalid_replica_assignment = 39,     // the explicit replica assignment is invalid
    invalid_config = 40,                 // a configuration key or value is not accepted
    not_controller = 41,                 // this broker is not the controller
    invalid_request = 42,                // the request is malformed or violates the protocol
    unsupported_for_message_format = 43, // the message format version does not support this
    kafka_storage_error = 56,            // the log directory is offline after an I/O error
    reassignment_in_progress = 60,       // a reassignment of that partition is already running
    topic_deletion_disabled = 73,        // delete.topic.enable is false
    fenced_leader_epoch = 74,            // the request's leader epoch is older than the broker's
    unknown_leader_epoch = 75,           // the request's leader epoch is newer than the broker's
    invalid_record = 87,                 // a record inside a batch violates the format
    invalid_update_version = 95,         // a conditional partition-state write saw a newer version
};

// A one-line meaning of the code, also used as the default message.
const char* errc_message(errc e) noexcept;
// The Kafka upper-case name of the code, e.g. "CORRUPT_MESSAGE".
const char* errc_name(errc e) noexcept;

// An error code with a message for a human; `ok()` when code is errc::none.
struct [[nodiscard]] status {
    errc code = errc::none;
    std::string message;

    status() = default;
    status(errc c, std::string msg) : code(c), message(std::move(msg)) {}
    explicit status(errc c) : code(c), message(errc_message(c)) {}

    bool ok() const noexcept { return code == errc::none; }
    // Greppable marker for a failure that is deliberately dropped.
    void ignore_error() const noexcept {}
};

// Either a value or a non-ok status.
template <typename T>
class [[nodiscard]] result {
public:
    result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
    result(status s) : v_(std::move(s)) {}     // NOLINT: implicit by design
    result(errc c, std::string msg) : v_(status(c, std::move(msg))) {}

    bool ok() const noexcept { return std::holds_alternative<T>(v_); }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    // The error; an ok result reports errc::none.
    status error() const {
        if (ok()) return {};
        return std::get<status>(v_);
    }
    errc code() const noexcept { return ok() ? errc::none : std::get<status>(v_).code; }

private:
    std::variant<T, status> v_;
};

}  // namespace gregor
