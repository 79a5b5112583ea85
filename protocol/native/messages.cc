#include "protocol/native/messages.h"

#include "protocol/codec.h"

namespace gregor::native {
namespace {

using protocol::decoder;
using protocol::encoder;

// Each message's fields, once, in wire order; run by both the encoder and the decoder.
template <typename A> void io(A&, api_versions_request&) {}

template <typename A> void io(A& a, api_versions_response& m) {
    a.array(m.apis, [&](auto& x) { a.i16(x.key); a.i16(x.min_version); a.i16(x.max_version); });
}

template <typename A> void io(A& a, metadata_request& m) {
    a.nullable_array(m.topics, [&](auto& s) { a.string(s); });
    a.boolean(m.allow_auto_topic_creation);
}

template <typename A> void io(A& a, metadata_response& m) {
    a.i32(m.controller_id);
    a.array(m.brokers, [&](auto& b) {
        a.i32(b.node_id); a.string(b.host); a.i32(b.port); a.nullable_string(b.rack);
    });
    a.array(m.topics, [&](auto& t) {
        a.i16(t.error_code); a.string(t.error_message); a.string(t.name); a.string(t.topic_id);
        a.boolean(t.is_internal);
        a.array(t.partitions, [&](auto& p) {
            a.i16(p.error_code); a.i32(p.partition); a.i32(p.leader); a.i32(p.leader_epoch);
            a.array(p.replicas, [&](auto& r) { a.i32(r); });
            a.array(p.isr, [&](auto& r) { a.i32(r); });
        });
    });
}

template <typename A> void io(A& a, produce_request& m) {
    a.i16(m.acks);
    a.i32(m.timeout_ms);
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) { a.i32(p.partition); a.i32(p.current_leader_epoch); a.bytes(p.records); });
    });
}

template <typename A> void io(A& a, produce_response& m) {
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) {
            a.i32(p.partition); a.i16(p.error_code); a.string(p.error_message);
            a.i64(p.base_offset); a.i64(p.log_append_time); a.i64(p.log_start_offset);
        });
    });
}

template <typename A> void io(A& a, fetch_request& m) {
    a.i32(m.replica_id); a.i32(m.max_wait_ms); a.i32(m.min_bytes); a.i32(m.max_bytes);
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) {
            a.i32(p.partition); a.i32(p.current_leader_epoch); a.i64(p.fetch_offset);
            a.i32(p.partition_max_bytes);
        });
    });
}

template <typename A> void io(A& a, fetch_response& m) {
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) {
            a.i32(p.partition); a.i16(p.error_code); a.string(p.error_message);
            a.i64(p.high_watermark); a.i64(p.log_start_offset); a.bytes(p.records);
        });
    });
}

template <typename A> void io(A& a, list_offsets_request& m) {
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) { a.i32(p.partition); a.i64(p.timestamp); });
    });
}

template <typename A> void io(A& a, list_offsets_response& m) {
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) {
            a.i32(p.partition); a.i16(p.error_code); a.string(p.error_message);
            a.i64(p.timestamp); a.i64(p.offset);
        });
    });
}

template <typename A> void io(A& a, create_topics_request& m) {
    a.array(m.topics, [&](auto& t) {
        a.string(t.name); a.i32(t.num_partitions); a.i16(t.replication_factor);
        a.array(t.assignments, [&](auto& x) {
            a.i32(x.partition);
            a.array(x.broker_ids, [&](auto& b) { a.i32(b); });
        });
        a.array(t.configs, [&](auto& c) { a.string(c.name); a.string(c.value); });
    });
    a.i32(m.timeout_ms);
    a.boolean(m.validate_only);
}

template <typename A> void io(A& a, create_topics_response& m) {
    a.array(m.topics, [&](auto& t) {
        a.string(t.name); a.i16(t.error_code); a.string(t.error_message);
        a.i32(t.num_partitions); a.i16(t.replication_factor);
    });
}

template <typename A> void io(A& a, delete_topics_request& m) {
    a.array(m.names, [&](auto& s) { a.string(s); });
    a.i32(m.timeout_ms);
}

template <typename A> void io(A& a, delete_topics_response& m) {
    a.array(m.topics, [&](auto& t) { a.string(t.name); a.i16(t.error_code); a.string(t.error_message); });
}

template <typename A> void io(A& a, describe_configs_request& m) {
    a.array(m.resources, [&](auto& r) {
        a.i8(r.resource_type); a.string(r.name);
        a.nullable_array(r.config_names, [&](auto& s) { a.string(s); });
    });
}

template <typename A> void io(A& a, describe_configs_response& m) {
    a.array(m.resources, [&](auto& r) {
        a.i8(r.resource_type); a.string(r.name); a.i16(r.error_code); a.string(r.error_message);
        a.array(r.configs, [&](auto& c) {
            a.string(c.name); a.nullable_string(c.value); a.boolean(c.is_default);
            a.boolean(c.read_only); a.boolean(c.is_sensitive);
        });
    });
}

template <typename A> void io(A& a, alter_configs_request& m) {
    a.array(m.resources, [&](auto& r) {
        a.i8(r.resource_type); a.string(r.name);
        a.array(r.configs, [&](auto& c) { a.string(c.name); a.i8(c.op); a.nullable_string(c.value); });
    });
    a.boolean(m.validate_only);
}

template <typename A> void io(A& a, alter_configs_response& m) {
    a.array(m.resources, [&](auto& r) {
        a.i8(r.resource_type); a.string(r.name); a.i16(r.error_code); a.string(r.error_message);
    });
}

template <typename A> void io(A& a, create_partitions_request& m) {
    a.array(m.topics, [&](auto& t) { a.string(t.name); a.i32(t.count); });
    a.i32(m.timeout_ms);
    a.boolean(m.validate_only);
}

template <typename A> void io(A& a, create_partitions_response& m) {
    a.array(m.topics, [&](auto& t) { a.string(t.name); a.i16(t.error_code); a.string(t.error_message); });
}

template <typename A> void io(A& a, cluster_broker& b) {
    a.i32(b.id); a.string(b.host); a.i32(b.port); a.nullable_string(b.rack);
    a.array(b.endpoints, [&](auto& e) {
        a.string(e.listener); a.string(e.security_protocol); a.string(e.host); a.i32(e.port);
    });
}

template <typename A> void io(A& a, cluster_partition& p) {
    a.string(p.topic); a.string(p.topic_id); a.i32(p.partition); a.i32(p.controller_epoch);
    a.i32(p.leader); a.i32(p.leader_epoch);
    a.array(p.isr, [&](auto& r) { a.i32(r); });
    a.i32(p.zk_version);
    a.array(p.replicas, [&](auto& r) { a.i32(r); });
}

template <typename A> void io(A& a, partition_error& e) {
    a.string(e.topic); a.i32(e.partition); a.i16(e.error_code); a.string(e.error_message);
}

template <typename A> void io(A& a, stop_replica_request::partition& p) {
    a.string(p.topic); a.i32(p.partition);
}

template <typename A> void io(A& a, leader_and_isr_request& m) {
    a.i32(m.controller_id); a.i32(m.controller_epoch); a.boolean(m.full);
    a.array(m.partitions, [&](auto& p) { io(a, p); });
    a.array(m.leaders, [&](auto& b) { io(a, b); });
}

template <typename A> void io(A& a, leader_and_isr_response& m) {
    a.array(m.partitions, [&](auto& p) { io(a, p); });
}

template <typename A> void io(A& a, update_metadata_request& m) {
    a.i32(m.controller_id); a.i32(m.controller_epoch); a.boolean(m.full);
    a.array(m.live_brokers, [&](auto& b) { io(a, b); });
    a.array(m.partitions, [&](auto& p) { io(a, p); });
    a.array(m.deleted_topics, [&](auto& t) { a.string(t); });
}

template <typename A> void io(A&, update_metadata_response&) {}

template <typename A> void io(A& a, stop_replica_request& m) {
    a.i32(m.controller_id); a.i32(m.controller_epoch); a.boolean(m.delete_partitions);
    a.array(m.partitions, [&](auto& p) { io(a, p); });
}

template <typename A> void io(A& a, stop_replica_response& m) {
    a.array(m.partitions, [&](auto& p) { io(a, p); });
}

template <typename A> void io(A& a, controlled_shutdown_request& m) { a.i32(m.broker_id); }

template <typename A> void io(A& a, controlled_shutdown_response& m) {
    a.array(m.remaining, [&](auto& p) { io(a, p); });
}

template <typename A> void io(A& a, offset_for_leader_epoch_request& m) {
    a.i32(m.replica_id);
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) { a.i32(p.partition); a.i32(p.current_leader_epoch); a.i32(p.leader_epoch); });
    });
}

template <typename A> void io(A& a, offset_for_leader_epoch_response& m) {
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) {
            a.i32(p.partition); a.i16(p.error_code); a.string(p.error_message);
            a.i32(p.leader_epoch); a.i64(p.end_offset);
        });
    });
}

template <typename A> void io(A& a, alter_partition_reassignments_request& m) {
    a.i32(m.timeout_ms);
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) { a.i32(p.partition); a.array(p.replicas, [&](auto& r) { a.i32(r); }); });
    });
}

template <typename A> void io(A& a, alter_partition_reassignments_response& m) {
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) { a.i32(p.partition); a.i16(p.error_code); a.string(p.error_message); });
    });
}

template <typename A> void io(A& a, list_partition_reassignments_request& m) {
    a.nullable_array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) { a.i32(p); });
    });
}

template <typename A> void io(A& a, list_partition_reassignments_response& m) {
    a.array(m.topics, [&](auto& t) {
        a.string(t.name);
        a.array(t.partitions, [&](auto& p) {
            a.i32(p.partition);
            a.array(p.replicas, [&](auto& r) { a.i32(r); });
            a.array(p.target_replicas, [&](auto& r) { a.i32(r); });
        });
    });
}

void patch_length(std::vector<std::byte>& frame) {
    wire::store_be<int32_t>(frame.data(), static_cast<int32_t>(frame.size() - 4));
}

}  // namespace

const char* api_name(int16_t key) noexcept {
    switch (static_cast<api_key>(key)) {
    case api_key::api_versions: return "ApiVersions";
    case api_key::metadata: return "Metadata";
    case api_key::produce: return "Produce";
    case api_key::fetch: return "Fetch";
    case api_key::list_offsets: return "ListOffsets";
    case api_key::create_topics: return "CreateTopics";
    case api_key::delete_topics: return "DeleteTopics";
    case api_key::describe_configs: return "DescribeConfigs";
    case api_key::alter_configs: return "AlterConfigs";
    case api_key::create_partitions: return "CreatePartitions";
    case api_key::leader_and_isr: return "LeaderAndIsr";
    case api_key::update_metadata: return "UpdateMetadata";
    case api_key::stop_replica: return "StopReplica";
    case api_key::controlled_shutdown: return "ControlledShutdown";
    case api_key::offset_for_leader_epoch: return "OffsetForLeaderEpoch";
    case api_key::alter_partition_reassignments: return "AlterPartitionReassignments";
    case api_key::list_partition_reassignments: return "ListPartitionReassignments";
    }
    return "Unknown";
}

template <typename Request>
std::vector<std::byte> encode_request(api_key key, int16_t version, int32_t correlation_id,
                                      const Request& body) {
    std::vector<std::byte> frame;
    encoder e(frame);
    e.i32(0);
    e.i16(static_cast<int16_t>(key));
    e.i16(version);
    e.i32(correlation_id);
    io(e, const_cast<Request&>(body));
    patch_length(frame);
    return frame;
}

template <typename Response>
std::vector<std::byte> encode_response(int32_t correlation_id, const status& error,
                                       const Response& body) {
    std::vector<std::byte> frame;
    encoder e(frame);
    e.i32(0);
    e.i32(correlation_id);
    e.i16(static_cast<int16_t>(error.code));
    e.string(error.message);
    if (error.ok()) io(e, const_cast<Response&>(body));
    patch_length(frame);
    return frame;
}

std::vector<std::byte> encode_error_response(int32_t correlation_id, const status& error) {
    return encode_response(correlation_id, error, api_versions_request{});
}

result<request_header> decode_request_header(std::span<const std::byte> payload) {
    if (payload.size() < kRequestHeaderSize) {
        return status(errc::corrupt_message, "request frame shorter than its header");
    }
    return request_header{wire::load_be<int16_t>(payload.data()),
                          wire::load_be<int16_t>(payload.data() + 2),
                          wire::load_be<int32_t>(payload.data() + 4)};
}

template <typename Message>
result<Message> decode(std::span<std::byte> body) {
    Message m;
    decoder d(body);
    io(d, m);
    if (!d.ok()) return status(errc::corrupt_message, "the message body does not parse");
    if (!d.done()) {
        return status(errc::corrupt_message,
                      std::to_string(d.remaining()) + " bytes follow the message body");
    }
    return m;
}

result<response_frame> decode_response_frame(std::span<std::byte> payload) {
    decoder d(payload);
    response_frame f;
    int16_t code = 0;
    d.i32(f.correlation_id);
    d.i16(code);
    d.string(f.error.message);
    if (!d.ok()) return status(errc::corrupt_message, "response frame shorter than its header");
    f.error.code = static_cast<errc>(code);
    f.body = payload.subspan(payload.size() - d.remaining());
    return f;
}

#define GREGOR_NATIVE_MESSAGE(T)                                                              \
    template result<T> decode<T>(std::span<std::byte>);                                       \
    template std::vector<std::byte> encode_request<T>(api_key, int16_t, int32_t, const T&);   \
    template std::vector<std::byte> encode_response<T>(int32_t, const status&, const T&);

GREGOR_NATIVE_MESSAGE(api_versions_request)
GREGOR_NATIVE_MESSAGE(api_versions_response)
GREGOR_NATIVE_MESSAGE(metadata_request)
GREGOR_NATIVE_MESSAGE(metadata_response)
GREGOR_NATIVE_MESSAGE(produce_request)
GREGOR_NATIVE_MESSAGE(produce_response)
GREGOR_NATIVE_MESSAGE(fetch_request)
GREGOR_NATIVE_MESSAGE(fetch_response)
GREGOR_NATIVE_MESSAGE(list_offsets_request)
GREGOR_NATIVE_MESSAGE(list_offsets_response)
GREGOR_NATIVE_MESSAGE(create_topics_request)
GREGOR_NATIVE_MESSAGE(create_topics_response)
GREGOR_NATIVE_MESSAGE(delete_topics_request)
GREGOR_NATIVE_MESSAGE(delete_topics_response)
GREGOR_NATIVE_MESSAGE(describe_configs_request)
GREGOR_NATIVE_MESSAGE(describe_configs_response)
GREGOR_NATIVE_MESSAGE(alter_configs_request)
GREGOR_NATIVE_MESSAGE(alter_configs_response)
GREGOR_NATIVE_MESSAGE(create_partitions_request)
GREGOR_NATIVE_MESSAGE(create_partitions_response)
GREGOR_NATIVE_MESSAGE(leader_and_isr_request)
GREGOR_NATIVE_MESSAGE(leader_and_isr_response)
GREGOR_NATIVE_MESSAGE(update_metadata_request)
GREGOR_NATIVE_MESSAGE(update_metadata_response)
GREGOR_NATIVE_MESSAGE(stop_replica_request)
GREGOR_NATIVE_MESSAGE(stop_replica_response)
GREGOR_NATIVE_MESSAGE(controlled_shutdown_request)
GREGOR_NATIVE_MESSAGE(controlled_shutdown_response)
GREGOR_NATIVE_MESSAGE(offset_for_leader_epoch_request)
GREGOR_NATIVE_MESSAGE(offset_for_leader_epoch_response)
GREGOR_NATIVE_MESSAGE(alter_partition_reassignments_request)
GREGOR_NATIVE_MESSAGE(alter_partition_reassignments_response)
GREGOR_NATIVE_MESSAGE(list_partition_reassignments_request)
GREGOR_NATIVE_MESSAGE(list_partition_reassignments_response)

}  // namespace gregor::native
