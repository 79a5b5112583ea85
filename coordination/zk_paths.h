// Every ZooKeeper path Gregor uses, one function per znode, and the encoding of each znode's
// content exactly as ZK-mode Kafka 3.x writes it (kafka/zk/ZkData.scala), so operators' tools
// and knowledge carry over. The layout:
//
//   /cluster/id                                  {"version":"1","id":"<base64 uuid>"}
//   /controller               ephemeral          {"version":2,"brokerid":N,"timestamp":"<ms>","kraftControllerEpoch":-1}
//   /controller_epoch                            N (a plain integer)
//   /brokers/ids/<id>         ephemeral          {"version":5,"host","port","jmx_port":-1,"timestamp":"<ms>",
//                                                 "endpoints":["PLAINTEXT://h:p"],"listener_security_protocol_map":{..},
//                                                 "rack" (only if set),"features":{}}
//   /brokers/topics/<t>                          {"version":3,"partitions":{"0":[1,2]},"adding_replicas":{},
//                                                 "removing_replicas":{},"topic_id":"<base64 uuid>"}
//   /brokers/topics/<t>/partitions/<p>/state     {"controller_epoch":E,"leader":L,"version":1,"leader_epoch":N,"isr":[..]}
//   /config/topics/<t>                           {"version":1,"config":{"k":"v"}}
//   /config/changes/config_change_<seq>          {"version":2,"entity_path":"topics/<t>"}
//   /admin/delete_topics/<t>                     (no data)
//   /admin/reassign_partitions                   {"version":1,"partitions":[{"topic":t,"partition":p,"replicas":[..]}]}
//   /isr_change_notification/isr_change_<seq>    {"version":1,"partitions":[{"topic":t,"partition":p}]}
//
// Decoders accept unknown fields and return malformed_data (never throw) when a field they need
// is missing or has the wrong type. Pure functions: safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/topic_partition.h"
#include "coordination/cluster_model.h"
#include "coordination/zk_result.h"

namespace gregor::coordination::zk_paths {

// --- paths ---------------------------------------------------------------------------------
std::string cluster_id_path();                                        // /cluster/id
std::string controller_path();                                        // /controller
std::string controller_epoch_path();                                  // /controller_epoch
std::string brokers_path();                                           // /brokers
std::string broker_ids_path();                                        // /brokers/ids
std::string broker_path(int32_t id);                                  // /brokers/ids/<id>
std::string topics_path();                                            // /brokers/topics
std::string topic_path(std::string_view topic);                       // /brokers/topics/<t>
std::string topic_partitions_path(std::string_view topic);            // .../<t>/partitions
std::string partition_path(std::string_view topic, int32_t p);        // .../<t>/partitions/<p>
std::string partition_state_path(std::string_view topic, int32_t p);  // .../<t>/partitions/<p>/state
std::string config_topics_path();                                     // /config/topics
std::string topic_config_path(std::string_view topic);                // /config/topics/<t>
std::string config_changes_path();                                    // /config/changes
std::string config_change_path_prefix();                              // /config/changes/config_change_
std::string delete_topics_path();                                     // /admin/delete_topics
std::string delete_topic_path(std::string_view topic);                // /admin/delete_topics/<t>
std::string reassign_partitions_path();                               // /admin/reassign_partitions
std::string isr_changes_path();                                       // /isr_change_notification
std::string isr_change_path_prefix();                                 // /isr_change_notification/isr_change_

// The persistent znodes every broker makes sure exist at start (as Kafka's
// KafkaZkClient.createTopLevelPaths), parents before children.
std::vector<std::string> persistent_paths();

// The sequence-node prefixes, without their parent path.
inline constexpr std::string_view kConfigChangePrefix = "config_change_";
inline constexpr std::string_view kIsrChangePrefix = "isr_change_";

// --- contents ------------------------------------------------------------------------------
std::string encode_cluster_id(std::string_view id);
zk_result<std::string> decode_cluster_id(std::string_view json);

std::string encode_controller(int32_t broker_id, int64_t timestamp_ms);
// The controller's broker id.
zk_result<int32_t> decode_controller(std::string_view json);

std::string encode_controller_epoch(int32_t epoch);
zk_result<int32_t> decode_controller_epoch(std::string_view text);

std::string encode_broker(const broker_info& broker, int64_t timestamp_ms);
// `id` comes from the znode's name; the JSON does not carry it.
zk_result<broker_info> decode_broker(int32_t id, std::string_view json);

std::string encode_topic_assignment(const topic_assignment& assignment);
zk_result<topic_assignment> decode_topic_assignment(std::string_view json);

// zk_version is not encoded; the decoder takes it from the znode's stat.
std::string encode_partition_state(const partition_state& state);
zk_result<partition_state> decode_partition_state(std::string_view json, int32_t zk_version);

std::string encode_topic_config(const topic_config& config);
// Values that are JSON numbers or booleans (hand-written znodes) are read as their text.
zk_result<topic_config> decode_topic_config(std::string_view json);

// A notification that /config/topics/<topic> changed.
std::string encode_config_change(std::string_view topic);
// The entity path, e.g. "topics/orders" (version 1 notifications, {"entity_type","entity_name"},
// are translated to the same form).
zk_result<std::string> decode_config_change(std::string_view json);

std::string encode_isr_change(const std::vector<topic_partition>& partitions);
zk_result<std::vector<topic_partition>> decode_isr_change(std::string_view json);

std::string encode_reassignment(const partition_reassignments& reassignments);
// The entries in the znode's order, a partition listed twice kept twice (the controller reports
// and drops such entries); Kafka's optional "log_dirs" is ignored.
zk_result<std::vector<std::pair<topic_partition, std::vector<int32_t>>>> decode_reassignment(std::string_view json);

// A fresh id as Kafka's Uuid.randomUuid() prints it: 16 random bytes in URL-safe base64
// without padding (22 characters), never starting with '-' (it would read as a CLI flag).
// Used for the cluster id and topic ids.
std::string new_uuid();

// --- endpoints -----------------------------------------------------------------------------
// "PLAINTEXT://host:9092", "[::1]" for IPv6 hosts.
std::string endpoint_string(const endpoint& e);
// Parses "<listener>://<host>:<port>"; the security protocol defaults to the listener name.
zk_result<endpoint> parse_endpoint(std::string_view text);

}  // namespace gregor::coordination::zk_paths
