// The controller: the one broker (elected by controller_election) that decides partition
// leadership and carries out topic creation and deletion, as ZK-mode Kafka's KafkaController.
// ZooKeeper holds the truth; the controller keeps a cache of it, decides, writes, and then
// tells brokers through controller_channel.
//
// Fencing: every write the controller makes is a multi whose first op checks /controller_epoch
// at the znode version this controller's election wrote. Once another broker has won an
// election that version is gone, the check fails, nothing in the multi is applied, and the
// controller deactivates itself and calls `on_fenced` (the election then resigns). Partition
// state writes are also conditional on the state znode's version, so a leader's ISR change
// made meanwhile is re-read rather than overwritten.
//
// What it reacts to while active: /brokers/ids (broker death and return: leaders move to a live
// ISR member, an RF=1 partition goes offline and comes back with its broker), /brokers/topics
// (topics written by others), /admin/delete_topics (deletion requests), /isr_change_notification
// (leaders' ISR changes), /admin/reassign_partitions (replica moves), and a periodic
// preferred-leader check. On activation it reads the whole state, repairs what the failover left
// (partitions led by dead brokers, partitions never initialised, reassignments under way) and
// sends every broker the full picture.
//
// Election: a new leader comes from the ISR. Only when no ISR member is live, and
// unclean.leader.election.enable is true (the topic's /config/topics override, else the
// broker's), does any live replica lead; such elections are logged as warnings and counted.
//
// Reassignment, as ZK-mode Kafka before KIP-455: for each valid entry of
// /admin/reassign_partitions (others are logged and dropped from the znode) the replicas become
// target + leaving ones and the leader epoch is bumped, in one write, and every replica is told;
// the leader adds the new replicas to the ISR as they catch up (isr_updater). Once every target
// replica is in the ISR, the leader moves into the target if it is leaving, the ISR and the
// assignment shrink to the target (one write, leader epoch + 1), the leaving replicas get
// StopReplica(delete), and the entry leaves the znode (deleted when empty). A new controller
// re-reads the znode and carries on.
//
// Threads: everything here runs on the coordination thread, which must be the zk_client's post
// target; the channel is called there too. Construct before zk_client::start(); destroy only
// after zk_client::close() and coordination_thread::stop().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/errc.h"
#include "common/topic_partition.h"
#include "coordination/cluster_model.h"
#include "coordination/controller_channel.h"
#include "coordination/coordination_thread.h"
#include "coordination/leader_selection.h"
#include "coordination/replica_assignment.h"
#include "coordination/topic_creation.h"
#include "coordination/zk_client.h"

namespace gregor::coordination {

struct controller_config {
    int32_t broker_id = -1;
    int32_t default_partitions = 1;            // num.partitions
    int32_t default_replication_factor = 1;    // default.replication.factor
    bool unclean_leader_election = false;      // unclean.leader.election.enable
    bool auto_leader_rebalance = true;         // auto.leader.rebalance.enable
    std::chrono::milliseconds leader_imbalance_check_interval{300000};  // leader.imbalance.check.interval.seconds
    int32_t leader_imbalance_per_broker_percentage = 10;                // leader.imbalance.per.broker.percentage
    std::optional<uint64_t> assignment_seed;   // fixes the assignment's random start (tests)
    std::chrono::milliseconds retry_backoff{1000};
};

class controller final : private session_listener {
public:
    // `zk`, `thread` and `channel` must outlive this object. `on_fenced` is posted to the
    // coordination thread when a write finds this controller deposed.
    controller(zk_client& zk, coordination_thread& thread, controller_config config, controller_channel& channel,
               std::function<void()> on_fenced);
    ~controller() override;

    controller(const controller&) = delete;
    controller& operator=(const controller&) = delete;

    // --- all below: coordination thread only ------------------------------------------------

    // Won the election with this epoch; epoch_zk_version is the fence for every write.
    void activate(int32_t epoch, int32_t epoch_zk_version);
    // Lost the seat (resigned, session expired, or fenced): forget the cache, write nothing.
    void deactivate();
    bool active() const noexcept { return active_; }
    int32_t epoch() const noexcept { return epoch_; }
    // Unclean leader elections written by this controller in any of its terms. Any thread.
    uint64_t unclean_elections() const noexcept { return unclean_elections_.load(); }

    // Creates topics (or only checks them, with validate_only): name rules, existence and
    // '.'/'_' collisions, counts against the live brokers, Kafka's replica assignment; writes
    // /brokers/topics/<t> and /config/topics/<t> in one fenced multi, initialises every
    // partition's state and tells the brokers. Errors per topic, with Kafka's codes and
    // messages; not_controller when not active.
    std::vector<topic_result> create_topics(const std::vector<new_topic>& topics, bool validate_only);

    // Marks topics for deletion (/admin/delete_topics/<t>) and starts deleting them at once.
    // A topic is gone from ZooKeeper once every broker hosting a replica has been told to
    // delete it; a broker that is down gets told when it returns.
    std::vector<topic_result> delete_topics(const std::vector<std::string>& names);

    // Grows a topic to `total` partitions, assigning the new ones as Kafka's createPartitions.
    status create_partitions(const std::string& topic, int32_t total);

    // A broker asks to shut down: moves the leadership of its partitions to other ISR members
    // and takes it out of ISRs. Returns the partitions it still leads (no other replica could).
    result<std::vector<topic_partition>> controlled_shutdown(int32_t broker_id);

    // The partitions as the controller last wrote or read them (tests, diagnostics).
    std::vector<partition_info> partitions() const;

private:
    struct live_broker {
        broker_info info;
        int64_t czxid = 0;  // tells a restarted broker from one that never left
    };
    struct topic_entry {
        std::string id;
        replica_map replicas;
        int32_t zk_version = 0;
    };
    struct deletion {
        std::set<int32_t> stopped;  // brokers told to delete their replicas
        bool announced = false;     // brokers told to drop the topic from metadata
        bool waiting_logged = false;
    };
    // Decides a partition's next state from its current one (nullopt: none yet); nullopt: no change.
    using decide_fn =
        std::function<std::optional<partition_state>(const topic_partition&, const std::optional<partition_state>&)>;

    void on_session_established(bool new_session) override;

    // Event handlers, each run through run().
    zk_status load_and_publish();
    zk_status on_broker_change();
    zk_status on_topic_change();
    zk_status on_delete_topics();
    zk_status on_isr_change();
    zk_status on_reassign_change();
    zk_status check_preferred_leaders();
    void run(const char* what, const std::function<zk_status()>& step);

    // Reading ZooKeeper into the cache.
    zk_result<std::map<int32_t, live_broker>> read_live_brokers();
    zk_status load_topic(const std::string& topic);
    zk_status reload_state(const topic_partition& tp);

    // Writing, always fenced.
    zk_multi_result fenced_multi(std::vector<zk_op> ops);
    zk_status fenced_multi_chunked(const std::vector<zk_op>& ops);
    zk_status ensure_partition_parents(const std::string& topic, const std::vector<int32_t>& partitions);
    zk_result<std::vector<topic_partition>> update_states(const std::vector<topic_partition>& tps,
                                                          const decide_fn& decide);
    zk_status initialise_partitions(const std::vector<topic_partition>& tps,
                                    std::vector<topic_partition>& initialised);
    zk_status process_deletions();
    zk_status finish_deletion(const std::string& topic);

    // Leader election for partitions whose leader or ISR members may have died (broker change,
    // failover): clean, or unclean where the topic's policy allows it (counted and logged).
    zk_result<std::vector<topic_partition>> elect_leaders(const std::vector<topic_partition>& tps,
                                                          const broker_set& live);
    // unclean.leader.election.enable of each topic among `tps` with a partition that has no live
    // ISR member (only those need it): the topic's override, else the broker's.
    zk_result<std::map<std::string, bool>> unclean_policies(const std::vector<topic_partition>& tps,
                                                            const broker_set& live);

    // Reassignment steps. check_reassignment: why an entry cannot be carried out (ok if it can).
    status check_reassignment(const topic_partition& tp, const std::vector<int32_t>& target) const;
    // Writes target + leaving replicas with leader_epoch + 1 and tells the replicas.
    zk_status start_reassignments(const std::vector<topic_partition>& tps);
    // One fenced multi: the topic's assignment becomes `next` and each of `states` is written
    // (conditional on its version); on success the cache follows and `states` carry their new
    // znode versions.
    zk_multi_result write_assignment(const std::string& topic, topic_entry& entry, replica_map next,
                                     std::vector<std::pair<topic_partition, partition_state>>& states);
    // Completes every reassignment whose target replicas are all in the ISR; drops those whose
    // topic went away.
    zk_status advance_reassignments();
    // Removes these partitions' entries from /admin/reassign_partitions (the znode when none is
    // left; an unreadable one whole).
    zk_status remove_reassignment_entries(const std::set<topic_partition>& tps);
    topic_result create_topic(const new_topic& t, bool validate_only);
    void fenced();

    // Telling brokers.
    std::vector<int32_t> live_ids() const;
    broker_set live_set() const;
    std::vector<broker_info> live_infos() const;
    std::optional<partition_info> info(const topic_partition& tp) const;
    // LeaderAndIsr for `changed` to their live replicas, then UpdateMetadata to every live
    // broker (also sent when only the broker set or deleted topics changed).
    void publish(const std::vector<topic_partition>& changed, bool brokers_changed,
                 const std::vector<std::string>& deleted_topics = {});
    // UpdateMetadata and LeaderAndIsr, both full, to each of `brokers`.
    void send_full_state(const std::vector<int32_t>& brokers);
    void send_leader_and_isr(int32_t broker, std::vector<partition_info> partitions, bool full);

    // Helpers over the cache.
    const std::vector<int32_t>* replicas_of(const topic_partition& tp) const;
    std::vector<topic_partition> all_partitions(bool include_deleting) const;
    // A failed write as a Kafka error. `activation` is activation_ when the request began: if
    // the controller was fenced (or resigned) since, the answer is not_controller.
    status error_from(const zk_status& s, uint64_t activation) const;
    void schedule_rebalance();

    zk_client& zk_;
    coordination_thread& thread_;
    controller_config config_;
    controller_channel& channel_;
    std::function<void()> on_fenced_;
    std::vector<zk_client::watch_id> watches_;
    std::mt19937_64 rng_;

    bool active_ = false;
    int32_t epoch_ = 0;
    int32_t epoch_zk_version_ = -1;
    uint64_t activation_ = 0;    // bumps on (de)activation; timers of an older one do nothing
    bool resync_needed_ = false; // a step failed midway: reload everything when possible
    bool resync_pending_ = false;

    std::map<int32_t, live_broker> live_;
    std::map<std::string, topic_entry> topics_;
    std::map<topic_partition, partition_state> states_;
    std::map<std::string, deletion> deleting_;
    std::set<int32_t> shutting_down_;
    std::map<topic_partition, std::vector<int32_t>> reassigning_;  // partition -> target replicas
    std::atomic<uint64_t> unclean_elections_{0};
};

}  // namespace gregor::coordination
