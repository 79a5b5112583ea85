// This broker's membership of the cluster: the ephemeral znode /brokers/ids/<id> (as Kafka's
// KafkaZkClient.registerBroker), the cluster id under /cluster/id, and the set of live brokers.
//
// Registration rules: a znode already there and owned by this session is ours (a create whose
// reply was lost). One owned by an earlier session of this broker (a session that expired but
// whose znode ZooKeeper has not removed yet) is deleted and re-created. One owned by any other
// session is another broker with the same broker.id, or this broker's previous process whose
// session has not timed out yet: the registry logs "broker.id N is already registered by
// another broker", retries until that znode goes away, and after `conflict_timeout` gives up
// and reports on_registration_failed (the broker should then refuse to run). After a session
// expiry the registry registers again by itself, and it does so too if the znode is deleted
// under it.
//
// Threads: lives on the coordination thread, which must be the zk_client's post target; it
// calls the listener there. Construct before zk_client::start(); destroy only after
// zk_client::close() and coordination_thread::stop().
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "coordination/cluster_model.h"
#include "coordination/coordination_thread.h"
#include "coordination/zk_client.h"

namespace gregor::coordination {

struct broker_registry_config {
    broker_info self;  // id, advertised endpoints (host/port are derived from them), rack
    // How long another session's registration of our id may stand before giving up;
    // zero retries forever. A dead process's session lingers up to its session timeout.
    std::chrono::milliseconds conflict_timeout{0};
    std::chrono::milliseconds retry_backoff{1000};  // after a failed ZooKeeper call
};

class broker_registry final : private session_listener {
public:
    class listener {
    public:
        virtual ~listener() = default;
        // Once per session, before on_registered.
        virtual void on_cluster_id(const std::string& cluster_id) { (void)cluster_id; }
        virtual void on_registered() {}
        // The id stayed taken for conflict_timeout; the registry has stopped trying.
        virtual void on_registration_failed(const std::string& message) { (void)message; }
        // Every change of the live set, sorted by id; this broker included once registered.
        virtual void on_live_brokers_changed(const std::vector<broker_info>& brokers) { (void)brokers; }
    };

    // `zk`, `thread` and `l` must outlive this object.
    broker_registry(zk_client& zk, coordination_thread& thread, broker_registry_config config, listener& l);
    ~broker_registry() override;

    broker_registry(const broker_registry&) = delete;
    broker_registry& operator=(const broker_registry&) = delete;

    // Coordination thread only.
    bool registered() const noexcept { return registered_; }
    const std::string& cluster_id() const noexcept { return cluster_id_; }
    // The live brokers as last read, sorted by id.
    const std::vector<broker_info>& live_brokers() const noexcept { return live_; }

private:
    void on_session_expired() override;
    void on_session_established(bool new_session) override;

    // Brings ZooKeeper in line: top-level paths, cluster id, our znode, the live set.
    void sync();
    zk_status ensure_top_level_paths();
    zk_status load_cluster_id();
    zk_status register_self();
    zk_status refresh_live_brokers();
    // A failed step: retried after a pause, or at the next session event if disconnected.
    void handle(const zk_status& s);
    void report_conflict(int64_t owner);
    void retry_later();

    zk_client& zk_;
    coordination_thread& thread_;
    broker_registry_config config_;
    listener& listener_;
    std::vector<zk_client::watch_id> watches_;

    bool registered_ = false;
    bool failed_ = false;            // gave up after conflict_timeout
    bool retry_pending_ = false;
    int64_t registered_session_ = 0;  // the session our znode belongs to
    std::set<int64_t> old_sessions_;  // earlier sessions of this process that registered us
    std::optional<std::chrono::steady_clock::time_point> conflict_since_;
    std::chrono::steady_clock::time_point last_conflict_log_;
    std::string cluster_id_;
    std::vector<broker_info> live_;
};

}  // namespace gregor::coordination
