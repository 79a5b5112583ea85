// A partition leader's own ISR changes, as ZK-mode Kafka makes them (Partition.updateIsr through
// ReplicationUtils.updateLeaderAndIsr, then ReplicaManager's ISR change propagation): the
// leader writes the partition's state znode itself, conditional on the znode version it last
// knew, and then tells the controller through a sequential
// /isr_change_notification/isr_change_<n> so that it refreshes every broker's metadata.
//
// The write is not fenced by the controller epoch (it is not the controller's write); the
// znode version alone orders it against the controller's writes. Whoever writes first wins; the
// other one sees bad_version: the controller re-reads and decides again, the leader is refused
// with invalid_update_version and waits for the controller's LeaderAndIsr.
//
// Notifications are coalesced: the partitions changed within `notification_delay` of the first
// change go into one znode, so a broker that loses a follower of many partitions writes one
// notification rather than one per partition. One that cannot be written (ZooKeeper away) stays
// pending and is written once the session is back. A notification lost to a crash only leaves
// other brokers' metadata stale until the partition's next change, as in Kafka.
//
// Threads: lives on the coordination thread, which must be the zk_client's post target; update()
// is called there. Construct before zk_client::start(); destroy only after zk_client::close()
// and coordination_thread::stop().
#pragma once

#include <chrono>
#include <cstdint>
#include <set>

#include "common/errc.h"
#include "common/topic_partition.h"
#include "coordination/cluster_model.h"
#include "coordination/coordination_thread.h"
#include "coordination/zk_client.h"

namespace gregor::coordination {

class isr_updater final : private session_listener {
public:
    // `zk` and `thread` must outlive this object.
    isr_updater(zk_client& zk, coordination_thread& thread, int32_t broker_id,
                std::chrono::milliseconds notification_delay = std::chrono::milliseconds(50),
                std::chrono::milliseconds retry_backoff = std::chrono::milliseconds(1000));
    ~isr_updater() override = default;

    isr_updater(const isr_updater&) = delete;
    isr_updater& operator=(const isr_updater&) = delete;

    // Writes `state` (this broker as leader, the leader and controller epochs of the last
    // LeaderAndIsr, the new ISR) conditional on state.zk_version and returns the znode's new
    // version. A bad version whose znode already holds exactly `state` (a write retried after a
    // connection loss that had gone through) answers that version. Errors: invalid_update_version
    // (the znode moved on), unknown_topic_or_partition (no such state znode), invalid_request
    // (state.leader is not this broker), request_timed_out (ZooKeeper did not answer: retriable),
    // unknown_server_error.
    result<int32_t> update(const topic_partition& tp, const partition_state& state);

private:
    void on_session_established(bool new_session) override;
    // Marks `tp` changed and makes sure a notification is on its way.
    void changed(const topic_partition& tp);
    void schedule_notification(std::chrono::milliseconds delay);
    void write_notifications();

    zk_client& zk_;
    coordination_thread& thread_;
    int32_t broker_id_;
    std::chrono::milliseconds notification_delay_;
    std::chrono::milliseconds retry_backoff_;
    std::set<topic_partition> pending_;  // changed, not yet in a notification
    bool scheduled_ = false;             // a write_notifications() task is queued
};

}  // namespace gregor::coordination
