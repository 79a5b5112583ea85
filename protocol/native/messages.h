// The native protocol's frames and messages, exactly as docs/protocol.md describes them (that
// page is the specification; this file must match it). Used by the broker's native request
// handler and by the C++ client. Decoded messages may point into the frame buffer they were
// decoded from (`records` spans): such a message is valid while that buffer is, and a broker
// may rewrite the records in place (offset assignment). Pure functions: any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/errc.h"

namespace gregor::native {

// 0xFF then "GREGOR" then the protocol version: as a Kafka request size it would be negative.
inline constexpr std::array<std::byte, 8> kPreface = {
    std::byte{0xFF}, std::byte{'G'}, std::byte{'R'}, std::byte{'E'},
    std::byte{'G'},  std::byte{'O'}, std::byte{'R'}, std::byte{0x01}};
inline constexpr size_t kRequestHeaderSize = 8;  // api_key, api_version, correlation_id
inline constexpr int32_t kDefaultMaxRequestBytes = 104857600;

enum class api_key : int16_t {
    api_versions = 0,
    metadata = 1,
    produce = 2,
    fetch = 3,
    list_offsets = 4,
    create_topics = 5,
    delete_topics = 6,
    describe_configs = 7,
    alter_configs = 8,
    create_partitions = 9,
    leader_and_isr = 10,
    update_metadata = 11,
    stop_replica = 12,
    controlled_shutdown = 13,
    offset_for_leader_epoch = 14,
    alter_partition_reassignments = 15,
    list_partition_reassignments = 16,
};
inline constexpr int16_t kMaxApiKey = 16;
const char* api_name(int16_t key) noexcept;

struct request_header {
    int16_t api_key = 0;
    int16_t api_version = 0;
    int32_t correlation_id = 0;
};

// ---- ApiVersions (0)
struct api_versions_request {};
struct api_versions_response {
    struct api {
        int16_t key = 0;
        int16_t min_version = 0;
        int16_t max_version = 0;
    };
    std::vector<api> apis;
};

// ---- Metadata (1)
struct metadata_request {
    std::optional<std::vector<std::string>> topics;  // nullopt: all topics
    bool allow_auto_topic_creation = false;
};
struct metadata_response {
    struct broker {
        int32_t node_id = -1;
        std::string host;
        int32_t port = 0;
        std::optional<std::string> rack;
    };
    struct partition {
        int16_t error_code = 0;
        int32_t partition = 0;
        int32_t leader = -1;
        int32_t leader_epoch = -1;
        std::vector<int32_t> replicas;
        std::vector<int32_t> isr;
    };
    struct topic {
        int16_t error_code = 0;
        std::string error_message;
        std::string name;
        std::string topic_id;  // Kafka's 22-character base64 UUID; empty when unknown
        bool is_internal = false;
        std::vector<partition> partitions;
    };
    int32_t controller_id = -1;
    std::vector<broker> brokers;
    std::vector<topic> topics;
};

// ---- Produce (2)
struct produce_request {
    struct partition {
        int32_t partition = 0;
        int32_t current_leader_epoch = -1;  // -1: unknown, not checked
        std::span<std::byte> records;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    int16_t acks = 1;
    int32_t timeout_ms = 30000;
    std::vector<topic> topics;
};
struct produce_response {
    struct partition {
        int32_t partition = 0;
        int16_t error_code = 0;
        std::string error_message;
        int64_t base_offset = -1;
        int64_t log_append_time = -1;
        int64_t log_start_offset = -1;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    std::vector<topic> topics;
};

// ---- Fetch (3)
struct fetch_request {
    struct partition {
        int32_t partition = 0;
        int32_t current_leader_epoch = -1;
        int64_t fetch_offset = 0;
        int32_t partition_max_bytes = 1048576;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    int32_t replica_id = -1;
    int32_t max_wait_ms = 500;
    int32_t min_bytes = 1;
    int32_t max_bytes = 52428800;
    std::vector<topic> topics;
};
struct fetch_response {
    struct partition {
        int32_t partition = 0;
        int16_t error_code = 0;
        std::string error_message;
        int64_t high_watermark = -1;
        int64_t log_start_offset = -1;
        std::span<std::byte> records;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    std::vector<topic> topics;
};

// ---- ListOffsets (4)
inline constexpr int64_t kLatestTimestamp = -1;
inline constexpr int64_t kEarliestTimestamp = -2;
struct list_offsets_request {
    struct partition {
        int32_t partition = 0;
        int64_t timestamp = kLatestTimestamp;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    std::vector<topic> topics;
};
struct list_offsets_response {
    struct partition {
        int32_t partition = 0;
        int16_t error_code = 0;
        std::string error_message;
        int64_t timestamp = -1;
        int64_t offset = -1;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    std::vector<topic> topics;
};

// ---- CreateTopics (5)
struct config_entry {
    std::string name;
    std::string value;
};
struct create_topics_request {
    struct assignment {
        int32_t partition = 0;
        std::vector<int32_t> broker_ids;
    };
    struct topic {
        std::string name;
        int32_t num_partitions = -1;
        int16_t replication_factor = -1;
        std::vector<assignment> assignments;
        std::vector<config_entry> configs;
    };
    std::vector<topic> topics;
    int32_t timeout_ms = 30000;
    bool validate_only = false;
};
struct create_topics_response {
    struct topic {
        std::string name;
        int16_t error_code = 0;
        std::string error_message;
        int32_t num_partitions = -1;
        int16_t replication_factor = -1;
    };
    std::vector<topic> topics;
};

// ---- DeleteTopics (6)
struct delete_topics_request {
    std::vector<std::string> names;
    int32_t timeout_ms = 30000;
};
struct delete_topics_response {
    struct topic {
        std::string name;
        int16_t error_code = 0;
        std::string error_message;
    };
    std::vector<topic> topics;
};

// ---- DescribeConfigs (7)
inline constexpr int8_t kResourceTopic = 2;
inline constexpr int8_t kResourceBroker = 4;
struct describe_configs_request {
    struct resource {
        int8_t resource_type = kResourceTopic;
        std::string name;
        std::optional<std::vector<std::string>> config_names;  // nullopt: all
    };
    std::vector<resource> resources;
};
struct describe_configs_response {
    struct config {
        std::string name;
        std::optional<std::string> value;
        bool is_default = false;
        bool read_only = false;
        bool is_sensitive = false;
    };
    struct resource {
        int8_t resource_type = kResourceTopic;
        std::string name;
        int16_t error_code = 0;
        std::string error_message;
        std::vector<config> configs;
    };
    std::vector<resource> resources;
};

// ---- AlterConfigs (8), incremental
inline constexpr int8_t kConfigSet = 0;
inline constexpr int8_t kConfigDelete = 1;
struct alter_configs_request {
    struct config {
        std::string name;
        int8_t op = kConfigSet;
        std::optional<std::string> value;
    };
    struct resource {
        int8_t resource_type = kResourceTopic;
        std::string name;
        std::vector<config> configs;
    };
    std::vector<resource> resources;
    bool validate_only = false;
};
struct alter_configs_response {
    struct resource {
        int8_t resource_type = kResourceTopic;
        std::string name;
        int16_t error_code = 0;
        std::string error_message;
    };
    std::vector<resource> resources;
};

// ---- CreatePartitions (9)
struct create_partitions_request {
    struct topic {
        std::string name;
        int32_t count = 0;  // the new total number of partitions
    };
    std::vector<topic> topics;
    int32_t timeout_ms = 30000;
    bool validate_only = false;
};
struct create_partitions_response {
    struct topic {
        std::string name;
        int16_t error_code = 0;
        std::string error_message;
    };
    std::vector<topic> topics;
};

// ---- Inter-broker requests (10-13): from the controller to brokers, and ControlledShutdown
// from a broker to the controller.

// A broker as the controller publishes it: every advertised listener.
struct cluster_broker {
    struct endpoint {
        std::string listener;
        std::string security_protocol;
        std::string host;
        int32_t port = 0;
    };
    int32_t id = -1;
    std::string host;  // the inter-broker listener's endpoint
    int32_t port = 0;
    std::optional<std::string> rack;
    std::vector<endpoint> endpoints;
};

// A partition's assignment and leader/ISR state, as the controller decided it.
struct cluster_partition {
    std::string topic;
    std::string topic_id;
    int32_t partition = 0;
    int32_t controller_epoch = 0;
    int32_t leader = -1;
    int32_t leader_epoch = 0;
    std::vector<int32_t> isr;
    int32_t zk_version = 0;
    std::vector<int32_t> replicas;
};

struct partition_error {
    std::string topic;
    int32_t partition = 0;
    int16_t error_code = 0;
    std::string error_message;
};

// ---- LeaderAndIsr (10)
struct leader_and_isr_request {
    int32_t controller_id = -1;
    int32_t controller_epoch = 0;
    bool full = false;  // every partition assigned to the receiver is listed
    std::vector<cluster_partition> partitions;
    std::vector<cluster_broker> leaders;
};
struct leader_and_isr_response {
    std::vector<partition_error> partitions;
};

// ---- UpdateMetadata (11)
struct update_metadata_request {
    int32_t controller_id = -1;
    int32_t controller_epoch = 0;
    bool full = false;  // partitions replace the receiver's whole view
    std::vector<cluster_broker> live_brokers;
    std::vector<cluster_partition> partitions;
    std::vector<std::string> deleted_topics;
};
struct update_metadata_response {};

// ---- StopReplica (12)
struct stop_replica_request {
    struct partition {
        std::string topic;
        int32_t partition = 0;
    };
    int32_t controller_id = -1;
    int32_t controller_epoch = 0;
    bool delete_partitions = false;
    std::vector<partition> partitions;
};
struct stop_replica_response {
    std::vector<partition_error> partitions;
};

// ---- ControlledShutdown (13)
struct controlled_shutdown_request {
    int32_t broker_id = -1;
};
struct controlled_shutdown_response {
    // Partitions the broker still leads: no other replica could take them.
    std::vector<stop_replica_request::partition> remaining;
};

// ---- OffsetForLeaderEpoch (14): a follower asks the leader where its last epoch ends.
inline constexpr int32_t kUndefinedEpoch = -1;
inline constexpr int64_t kUndefinedEpochOffset = -1;
struct offset_for_leader_epoch_request {
    struct partition {
        int32_t partition = 0;
        int32_t current_leader_epoch = -1;  // the asker's view of the leader's epoch; -1: unchecked
        int32_t leader_epoch = 0;           // the epoch whose end offset is asked for
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    int32_t replica_id = -1;
    std::vector<topic> topics;
};
struct offset_for_leader_epoch_response {
    struct partition {
        int32_t partition = 0;
        int16_t error_code = 0;
        std::string error_message;
        int32_t leader_epoch = kUndefinedEpoch;      // the largest epoch <= the one asked for
        int64_t end_offset = kUndefinedEpochOffset;  // where that epoch ends on the leader
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    std::vector<topic> topics;
};

// ---- AlterPartitionReassignments (15): moves partitions' replicas to other brokers. Any broker
// accepts it; the controller carries the moves out (ZooKeeper's /admin/reassign_partitions).
struct alter_partition_reassignments_request {
    struct partition {
        int32_t partition = 0;
        std::vector<int32_t> replicas;  // the target, preferred leader first
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    int32_t timeout_ms = 30000;
    std::vector<topic> topics;
};
struct alter_partition_reassignments_response {
    struct partition {
        int32_t partition = 0;
        int16_t error_code = 0;
        std::string error_message;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    std::vector<topic> topics;
};

// ---- ListPartitionReassignments (16): the moves under way.
struct list_partition_reassignments_request {
    struct topic {
        std::string name;
        std::vector<int32_t> partitions;
    };
    std::optional<std::vector<topic>> topics;  // nullopt: every move under way
};
struct list_partition_reassignments_response {
    struct partition {
        int32_t partition = 0;
        std::vector<int32_t> replicas;         // now: the target's, then the leaving ones
        std::vector<int32_t> target_replicas;  // where the move ends
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
    };
    std::vector<topic> topics;
};

// ---- Frames

// A whole request frame (length prefix included).
template <typename Request>
std::vector<std::byte> encode_request(api_key key, int16_t version, int32_t correlation_id,
                                      const Request& body);

// A whole response frame: the body is written only when `error` is ok.
template <typename Response>
std::vector<std::byte> encode_response(int32_t correlation_id, const status& error,
                                       const Response& body);
// A response frame carrying only a request-level error.
std::vector<std::byte> encode_error_response(int32_t correlation_id, const status& error);

// Splits a request frame's payload (after the length) into header and body.
// Fails (corrupt_message) when shorter than the header.
result<request_header> decode_request_header(std::span<const std::byte> payload);

// Decodes a message body. Fails with corrupt_message when the bytes do not parse or are not
// all consumed.
template <typename Message>
result<Message> decode(std::span<std::byte> body);

// A response frame's payload (after the length): correlation id, request-level status, body.
struct response_frame {
    int32_t correlation_id = 0;
    status error;
    std::span<std::byte> body;
};
result<response_frame> decode_response_frame(std::span<std::byte> payload);

}  // namespace gregor::native
