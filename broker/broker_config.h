// The broker's settings from a Kafka-style server.properties plus `--override key=value`
// (overrides win). Kafka's key names and defaults. An unknown key is logged as a warning naming
// it; a key Kafka has but Gregor does not use yet is accepted with a note; an invalid value
// refuses start-up with an error naming key and value. A plain value once built: any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "broker/storage/log_config.h"
#include "common/errc.h"
#include "common/properties.h"

namespace gregor::broker {

// One entry of listeners or advertised.listeners. Names are upper-cased as Kafka does, so
// "internal" and "INTERNAL" are the same listener.
struct listener {
    std::string name = "PLAINTEXT";
    std::string host;  // empty: every interface
    uint16_t port = 9092;
    std::string to_string() const { return name + "://" + host + ":" + std::to_string(port); }
};

struct broker_config {
    int32_t broker_id = 0;                            // broker.id
    std::vector<listener> listeners;                  // listeners
    std::vector<listener> advertised_listeners;       // advertised.listeners (else listeners)
    std::string inter_broker_listener_name = "PLAINTEXT";  // inter.broker.listener.name
    // listener.security.protocol.map: every listener's name -> its security protocol. Only
    // PLAINTEXT is supported, so each value is PLAINTEXT.
    std::map<std::string, std::string> listener_security_protocol_map = {{"PLAINTEXT", "PLAINTEXT"}};
    std::string rack;                                 // broker.rack
    std::vector<std::filesystem::path> log_dirs;      // log.dirs, else log.dir
    int32_t num_partitions = 1;                       // num.partitions
    int16_t default_replication_factor = 1;           // default.replication.factor
    int16_t min_insync_replicas = 1;                  // min.insync.replicas
    bool unclean_leader_election_enable = false;      // unclean.leader.election.enable
    bool auto_create_topics_enable = true;            // auto.create.topics.enable
    bool delete_topic_enable = true;                  // delete.topic.enable
    std::string zookeeper_connect;                    // zookeeper.connect (required)
    int32_t zookeeper_session_timeout_ms = 18000;     // zookeeper.session.timeout.ms
    int32_t socket_request_max_bytes = 104857600;     // socket.request.max.bytes
    int64_t connections_max_idle_ms = 600000;         // connections.max.idle.ms
    int32_t request_timeout_ms = 30000;               // request timeout for socket reads/writes
    int32_t num_io_threads = 0;                       // num.io.threads; 0: one per core
    int32_t num_recovery_threads_per_data_dir = 1;    // num.recovery.threads.per.data.dir
    int64_t log_retention_check_interval_ms = 300000; // log.retention.check.interval.ms
    int64_t log_flush_offset_checkpoint_interval_ms = 60000;  // log.flush.offset.checkpoint.interval.ms
    int32_t replica_lag_time_max_ms = 30000;          // replica.lag.time.max.ms
    int32_t replica_fetch_max_bytes = 1048576;        // replica.fetch.max.bytes (per partition)
    int32_t replica_fetch_response_max_bytes = 10485760;  // replica.fetch.response.max.bytes
    int32_t replica_fetch_wait_max_ms = 500;          // replica.fetch.wait.max.ms
    int32_t replica_fetch_min_bytes = 1;              // replica.fetch.min.bytes
    int32_t replica_fetch_backoff_ms = 1000;          // replica.fetch.backoff.ms (after an error)
    int32_t replica_socket_timeout_ms = 30000;        // replica.socket.timeout.ms
    int16_t offsets_topic_replication_factor = 3;     // offsets.topic.replication.factor
    int32_t offsets_topic_num_partitions = 50;        // offsets.topic.num.partitions
    bool auto_leader_rebalance_enable = true;         // auto.leader.rebalance.enable
    int64_t leader_imbalance_check_interval_seconds = 300;
    bool controlled_shutdown_enable = true;           // controlled.shutdown.enable
    int32_t controlled_shutdown_max_retries = 3;      // controlled.shutdown.max.retries
    int64_t controlled_shutdown_retry_backoff_ms = 5000;  // controlled.shutdown.retry.backoff.ms
    int32_t controller_socket_timeout_ms = 30000;     // controller.socket.timeout.ms
    std::string log_level = "info";                   // gregor.log.level
    std::filesystem::path server_log_file;            // gregor.server.log.file ("" : stdout only)
    storage::log_config log;                          // the log.* keys and message.max.bytes

    // The endpoint other brokers are told to use: the advertised inter.broker.listener.name.
    // REQUIRES: built by from_properties (which guarantees that listener is advertised).
    const listener& advertised() const;

    // Builds the config from properties (file contents with overrides applied).
    // `warnings` receives one line per unknown key (the caller logs them).
    static result<broker_config> from_properties(const properties& props,
                                                 std::vector<std::string>& warnings);
};

// "NAME://host:port,..." -> listeners, names upper-cased. Refuses a malformed entry and a
// name given twice; the names are checked against listener.security.protocol.map by
// broker_config::from_properties. Errors name `key` and the offending entry.
result<std::vector<listener>> parse_listeners(const std::string& key, const std::string& value);

}  // namespace gregor::broker
