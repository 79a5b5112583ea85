// Topic configs in ZooKeeper, as ZK-mode Kafka keeps them: the overrides of a topic under
// /config/topics/<t>, and a sequential notification /config/changes/config_change_<n>
// ({"version":2,"entity_path":"topics/<t>"}) written with every change, which every broker
// watches to apply the change to its logs (Kafka's AdminZkClient.changeTopicConfig and
// ZkNodeChangeNotificationListener). Any broker may read and write configs; these writes are
// not the controller's and are not fenced.
//
// Notifications present when the manager first looks are taken as seen (a broker reads a
// topic's config when it creates the topic's logs); later ones are reported once each, in
// sequence order, also after a reconnect or a new session. Notifications older than 15
// minutes are deleted, as Kafka does.
//
// Threads: lives on the coordination thread, which must be the zk_client's post target; the
// listener is called there and the methods are called there. Construct before
// zk_client::start(); destroy only after zk_client::close() and coordination_thread::stop().
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/errc.h"
#include "coordination/cluster_model.h"
#include "coordination/coordination_thread.h"
#include "coordination/zk_client.h"

namespace gregor::coordination {

class config_manager final : private session_listener {
public:
    class listener {
    public:
        virtual ~listener() = default;
        virtual void on_topic_config_changed(const std::string& topic, const topic_config& config) = 0;
    };

    // `zk`, `thread` and `l` must outlive this object.
    config_manager(zk_client& zk, coordination_thread& thread, listener& l,
                   std::chrono::milliseconds retry_backoff = std::chrono::milliseconds(1000));
    ~config_manager() override;

    config_manager(const config_manager&) = delete;
    config_manager& operator=(const config_manager&) = delete;

    // The topic's overrides; empty if it has none. Errors: unknown_topic_or_partition,
    // request_timed_out (ZooKeeper unreachable), unknown_server_error.
    result<topic_config> read_topic_config(const std::string& topic);
    // Replaces the topic's overrides and notifies every broker, in one multi. Same errors.
    status write_topic_config(const std::string& topic, const topic_config& config);

private:
    void on_session_established(bool new_session) override;
    zk_status process_changes();
    // A failed pass: retried after a pause, or at the next session event if disconnected.
    void handle(const zk_status& s);

    zk_client& zk_;
    coordination_thread& thread_;
    listener& listener_;
    std::chrono::milliseconds retry_backoff_;
    zk_client::watch_id watch_ = 0;
    bool primed_ = false;          // the notifications present at first sight are taken as seen
    int64_t last_seen_ = -1;       // sequence number of the newest notification handled
    bool retry_pending_ = false;
};

}  // namespace gregor::coordination
