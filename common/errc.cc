#include "common/errc.h"

namespace gregor {

const char* errc_message(errc e) noexcept {
    switch (e) {
    case errc::unknown_server_error: return "the server experienced an unexpected error";
    case errc::none: return "no error";
    case errc::offset_out_of_range: return "the requested offset is not within the range of offsets held by the log";
    case errc::corrupt_message: return "the message is corrupt: it failed its CRC check, or its size or header is invalid";
    case errc::unknown_topic_or_partition: return "this server does not host this topic-partition";
    case errc::invalid_fetch_size: return "the requested fetch size is invalid";
    case errc::leader_not_available: return "there is no leader for this topic-partition right now";
    case errc::not_leader_or_follower: return "this server is not the leader or a follower of that partition";
    case errc::request_timed_out: return "the request timed out";
    case errc::broker_not_available: return "the broker is not available";
    case errc::message_too_large: return "the batch is larger than the maximum the server accepts";
    case errc::stale_controller_epoch: return "the request came from a controller that has been replaced";
    case errc::network_exception: return "the server disconnected before a response was received";
    case errc::invalid_topic_exception: return "the topic name is not valid";
    case errc::record_list_too_large: return "the request included a record list larger than the server accepts";
    case errc::not_enough_replicas: return "there are fewer in-sync replicas than required";
    case errc::not_enough_replicas_after_append: return "the records were written, but to fewer in-sync replicas than required";
    case errc::invalid_required_acks: return "acks must be -1 (all), 0 or 1";
    case errc::invalid_timestamp: return "the timestamp of the message is out of the acceptable range";
    case errc::unsupported_version: return "the version of the API is not supported";
    case errc::topic_already_exists: return "the topic already exists";
    case errc::invalid_partitions: return "the number of partitions is invalid";
    case errc::invalid_replication_factor: return "the replication factor is invalid";
    case errc::invalid_replica_assignment: return "the replica assignment is invalid";
    case errc::invalid_config: return "the configuration is invalid";
    case errc::not_controller: return "this is not the correct controller for this cluster";
    case errc::invalid_request: return "the request is malformed or violates the protocol";
    case errc::unsupported_for_message_format: return "the message format version does not support this request";
    case errc::kafka_storage_error: return "disk error when trying to access the log directory";
    case errc::reassignment_in_progress: return "a partition reassignment is in progress";
    case errc::topic_deletion_disabled: return "topic deletion is disabled (delete.topic.enable=false)";
    case errc::fenced_leader_epoch: return "the leader epoch in the request is older than the broker's";
    case errc::unknown_leader_epoch: return "the leader epoch in the request is newer than the broker's";
    case errc::invalid_record: return "a record in the batch is invalid";
    case errc::invalid_update_version: return "the given update version was invalid: the partition state changed meanwhile";
    }
    return "unknown error";
}

const char* errc_name(errc e) noexcept {
    switch (e) {
    case errc::unknown_server_error: return "UNKNOWN_SERVER_ERROR";
    case errc::none: return "NONE";
    case errc::offset_out_of_range: return "OFFSET_OUT_OF_RANGE";
    case errc::corrupt_message: return "CORRUPT_MESSAGE";
    case errc::unknown_topic_or_partition: return "UNKNOWN_TOPIC_OR_PARTITION";
    case errc::invalid_fetch_size: return "INVALID_FETCH_SIZE";
    case errc::leader_not_available: return "LEADER_NOT_AVAILABLE";
    case errc::not_leader_or_follower: return "NOT_LEADER_OR_FOLLOWER";
    case errc::request_timed_out: return "REQUEST_TIMED_OUT";
    case errc::broker_not_available: return "BROKER_NOT_AVAILABLE";
    case errc::message_too_large: return "MESSAGE_TOO_LARGE";
    case errc::stale_controller_epoch: return "STALE_CONTROLLER_EPOCH";
    case errc::network_exception: return "NETWORK_EXCEPTION";
    case errc::invalid_topic_exception: return "INVALID_TOPIC_EXCEPTION";
    case errc::record_list_too_large: return "RECORD_LIST_TOO_LARGE";
    case errc::not_enough_replicas: return "NOT_ENOUGH_REPLICAS";
    case errc::not_enough_replicas_after_append: return "NOT_ENOUGH_REPLICAS_AFTER_APPEND";
    case errc::invalid_required_acks: return "INVALID_REQUIRED_ACKS";
    case errc::invalid_timestamp: return "INVALID_TIMESTAMP";
    case errc::unsupported_version: return "UNSUPPORTED_VERSION";
    case errc::topic_already_exists: return "TOPIC_ALREADY_EXISTS";
    case errc::invalid_partitions: return "INVALID_PARTITIONS";
    case errc::invalid_replication_factor: return "INVALID_REPLICATION_FACTOR";
    case errc::invalid_replica_assignment: return "INVALID_REPLICA_ASSIGNMENT";
    case errc::invalid_config: return "INVALID_CONFIG";
    case errc::not_controller: return "NOT_CONTROLLER";
    case errc::invalid_request: return "INVALID_REQUEST";
    case errc::unsupported_for_message_format: return "UNSUPPORTED_FOR_MESSAGE_FORMAT";
    case errc::kafka_storage_error: return "KAFKA_STORAGE_ERROR";
    case errc::reassignment_in_progress: return "REASSIGNMENT_IN_PROGRESS";
    case errc::topic_deletion_disabled: return "TOPIC_DELETION_DISABLED";
    case errc::fenced_leader_epoch: return "FENCED_LEADER_EPOCH";
    case errc::unknown_leader_epoch: return "UNKNOWN_LEADER_EPOCH";
    case errc::invalid_record: return "INVALID_RECORD";
    case errc::invalid_update_version: return "INVALID_UPDATE_VERSION";
    }
    return "UNKNOWN_SERVER_ERROR";
}

}  // namespace gregor
