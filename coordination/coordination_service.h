// The broker's one handle on ZooKeeper: owns the coordination thread, the ZooKeeper session,
// the broker registry, the controller election, the controller and the topic-config manager,
// and is where their work crosses to the broker's event loop.
//
// The broker passes `post`, which enqueues a task on its event loop. Every listener call,
// every controller_channel call and every `done` callback runs through it, so the broker sees
// all of them on its loop, in the order they happened. Nothing here blocks that loop: the
// requests below return at once, do their ZooKeeper work on the coordination thread, and
// answer through `done`.
//
// Lifetime: start() once; stop() closes the session, so this broker's /brokers/ids znode (and
// /controller, if it holds it) vanish at once, then joins the coordination thread. stop() may
// block for up to a ZooKeeper round trip, so call it from the broker's shutdown path rather
// than from a task on the loop. After stop() no more calls are posted; requests made after it
// are dropped without an answer. `listener`, `channel` and whatever `post` feeds must outlive
// this object.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/errc.h"
#include "common/topic_partition.h"
#include "coordination/broker_registry.h"
#include "coordination/cluster_model.h"
#include "coordination/config_manager.h"
#include "coordination/controller.h"
#include "coordination/controller_channel.h"
#include "coordination/controller_election.h"
#include "coordination/coordination_thread.h"
#include "coordination/isr_updater.h"
#include "coordination/zk_client.h"

namespace gregor::coordination {

struct coordination_config {
    broker_info self;                 // broker.id, advertised listeners as endpoints, broker.rack
    zk_client_config zookeeper;       // zookeeper.connect, zookeeper.session.timeout.ms
    controller_config controller;     // its broker_id is taken from self.id
    // How long a registration of this broker.id by another session may stand before
    // on_registration_failed (see broker_registry.h); zero: keep waiting.
    std::chrono::milliseconds registration_conflict_timeout{0};
};

// What the broker hears about the cluster; each call on the broker's event loop.
class coordination_listener {
public:
    virtual ~coordination_listener() = default;
    virtual void on_cluster_id(const std::string& cluster_id) { (void)cluster_id; }
    // broker.id is held by another live session: the broker should refuse to run.
    virtual void on_registration_failed(const std::string& message) { (void)message; }
    virtual void on_live_brokers_changed(const std::vector<broker_info>& brokers) { (void)brokers; }
    // -1 while no controller is known.
    virtual void on_controller_changed(int32_t controller_id) { (void)controller_id; }
    // Another broker (or this one) changed a topic's config; apply it to local logs.
    virtual void on_topic_config_changed(const std::string& topic, const topic_config& config) {
        (void)topic;
        (void)config;
    }
};

class coordination_service {
public:
    template <typename T>
    using callback = std::function<void(T)>;

    coordination_service(coordination_config config, post_fn post, coordination_listener& listener,
                         controller_channel& channel);
    ~coordination_service();  // stop()

    coordination_service(const coordination_service&) = delete;
    coordination_service& operator=(const coordination_service&) = delete;

    void start();
    void stop();

    // Snapshots, readable from any thread.
    bool is_controller() const noexcept { return is_controller_.load(); }
    int32_t controller_id() const noexcept { return controller_id_.load(); }
    bool zookeeper_connected() const noexcept { return zk_.connected(); }
    // Unclean leader elections this broker's controller has made since the broker started
    // (Kafka's UncleanLeaderElectionsPerSec, as a count).
    uint64_t unclean_elections() const noexcept { return controller_->unclean_elections(); }

    // --- requests: any thread; `done` runs on the broker's event loop ---------------------------
    // Controller only (others answer not_controller, so that clients go to the controller,
    // as in Kafka). See controller.h for what each does.
    void create_topics(std::vector<new_topic> topics, bool validate_only, callback<std::vector<topic_result>> done);
    void delete_topics(std::vector<std::string> names, callback<std::vector<topic_result>> done);
    void create_partitions(std::string topic, int32_t total, callback<status> done);
    void controlled_shutdown(int32_t broker_id, callback<result<std::vector<topic_partition>>> done);
    // Any broker, for auto.create.topics.enable: topics with the default counts and no config
    // overrides. The controller creates them itself; another broker writes their znodes as
    // ZK-mode Kafka does (unfenced: it is not the controller's write), and the controller
    // initialises their partitions when its /brokers/topics watch fires, so they may be
    // leaderless for a moment (clients retry on LEADER_NOT_AVAILABLE).
    void auto_create_topics(std::vector<std::string> names, callback<std::vector<topic_result>> done);
    // Any broker.
    void describe_topic_configs(std::vector<std::string> topics, callback<std::vector<result<topic_config>>> done);
    void alter_topic_config(std::string topic, topic_config config, callback<status> done);

    // Leader only: writes `state` (this broker as leader, its leader_epoch and controller_epoch
    // as the last LeaderAndIsr gave them, the new isr) to the partition's state znode,
    // conditional on state.zk_version (the version this broker last knew), then tells the
    // controller through /isr_change_notification/isr_change_<seq> (coalesced over ~50 ms) so
    // it refreshes every broker's metadata. `done` gets the znode's new version, or
    // errc::invalid_update_version when the znode moved on (the controller changed leader or
    // ISR: its LeaderAndIsr is on the way), or request_timed_out (ZooKeeper did not answer:
    // retry with the same state). See isr_updater.h.
    void update_isr(topic_partition tp, partition_state state, callback<result<int32_t>> done);

    // Any broker: validates and writes /admin/reassign_partitions, which the controller carries
    // out (controller.h). Nothing is written if an entry fails: invalid_replica_assignment (empty,
    // a broker twice, a broker that is neither registered nor a current replica),
    // unknown_topic_or_partition (no such topic or partition, or the topic is being deleted), or
    // reassignment_in_progress (one is running for the same partition); the message names the
    // partition.
    void reassign_partitions(partition_reassignments target, callback<status> done);
    // Any broker: partitions currently being reassigned, with their target replicas.
    void list_reassignments(callback<result<partition_reassignments>> done);

private:
    class registry_adapter;
    class election_adapter;
    class channel_adapter;
    class config_adapter;

    // Runs `work` on the coordination thread and hands its result to `done` on the broker's loop.
    template <typename T>
    void request(std::function<T()> work, callback<T> done);
    // Coordination thread: a topic created by a broker that is not the controller.
    topic_result create_topic_directly(const std::string& name);
    // Coordination thread: the halves of reassign_partitions and list_reassignments.
    status check_reassignment(const partition_reassignments& target);
    status write_reassignments(const partition_reassignments& target);
    result<partition_reassignments> read_reassignments();

    post_fn post_;
    coordination_listener& listener_;
    controller_config defaults_;  // the topic defaults, for auto-creation
    std::mt19937_64 rng_;         // coordination thread only
    std::atomic<bool> is_controller_{false};
    std::atomic<int32_t> controller_id_{-1};

    // Declaration order is construction order: the thread and the session first, then the
    // components, which register with the session before it starts and hear of a new session
    // in this order: the registry registers this broker before the election may make it
    // controller, so the new controller finds itself among the live brokers.
    coordination_thread thread_;
    zk_client zk_;
    std::unique_ptr<registry_adapter> registry_listener_;
    std::unique_ptr<election_adapter> election_listener_;
    std::unique_ptr<channel_adapter> channel_;
    std::unique_ptr<config_adapter> config_listener_;
    std::unique_ptr<broker_registry> registry_;
    std::unique_ptr<controller_election> election_;
    std::unique_ptr<controller> controller_;
    std::unique_ptr<config_manager> configs_;
    std::unique_ptr<isr_updater> isr_;
};

}  // namespace gregor::coordination
