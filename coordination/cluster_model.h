// The cluster as ZooKeeper records it, in plain values: brokers and their endpoints, a topic's
// replica assignment, a partition's leader/ISR state. zk_paths.h encodes and decodes them as
// ZK-mode Kafka's JSON; the controller publishes them to brokers (controller_channel.h).
// Plain values: safe to copy between threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/topic_partition.h"

namespace gregor::coordination {

// "No leader" in a partition state: the partition is offline.
inline constexpr int32_t kNoLeader = -1;
// A znode version that matches any version in a conditional write.
inline constexpr int32_t kAnyVersion = -1;

// One advertised listener, written "<listener>://<host>:<port>" (IPv6 hosts in brackets).
struct endpoint {
    std::string listener = "PLAINTEXT";           // the listener name
    std::string security_protocol = "PLAINTEXT";  // from listener_security_protocol_map
    std::string host;
    int32_t port = 0;

    bool operator==(const endpoint&) const = default;
};

// A live broker as registered under /brokers/ids/<id>. host/port are the first PLAINTEXT
// endpoint's (Kafka keeps them for old clients); `endpoints` is the full list.
struct broker_info {
    int32_t id = -1;
    std::string host;
    int32_t port = -1;
    std::optional<std::string> rack;
    std::vector<endpoint> endpoints;

    bool operator==(const broker_info&) const = default;
};

// /brokers/topics/<t>: partition -> replica broker ids, the first replica being the preferred
// leader. topic_id is Kafka's 22-character URL-safe base64 UUID (empty if absent).
struct topic_assignment {
    std::string topic_id;
    std::map<int32_t, std::vector<int32_t>> partitions;

    bool operator==(const topic_assignment&) const = default;
};

// /brokers/topics/<t>/partitions/<p>/state. zk_version is the znode's version (not part of
// the JSON): leaders and the controller write the state conditionally on it.
struct partition_state {
    int32_t leader = kNoLeader;
    int32_t leader_epoch = 0;
    std::vector<int32_t> isr;
    int32_t controller_epoch = 0;
    int32_t zk_version = 0;

    bool operator==(const partition_state&) const = default;
};

// A partition as the controller publishes it to brokers.
struct partition_info {
    topic_partition tp;
    std::string topic_id;
    std::vector<int32_t> replicas;
    partition_state state;

    bool operator==(const partition_info&) const = default;
};

// /config/topics/<t>: the topic's overrides of the broker's log.* defaults.
using topic_config = std::map<std::string, std::string>;

// /admin/reassign_partitions: partition -> the replicas it is to move to (preferred leader first).
using partition_reassignments = std::map<topic_partition, std::vector<int32_t>>;

}  // namespace gregor::coordination
