#include "broker/server.h"

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "broker/cluster/controller_channel_manager.h"
#include "broker/cluster/inter_broker_requests.h"
#include "broker/event_loop.h"
#include "broker/listener_endpoints.h"
#include "broker/metadata_cache.h"
#include "broker/net/listener.h"
#include "broker/protocol/native/native_handler.h"
#include "broker/replication/replica_manager.h"
#include "broker/storage/log_manager.h"
#include "broker/topic_admin.h"
#include "broker/topic_config.h"
#include "common/logger.h"
#include "coordination/coordination_service.h"

namespace gregor::broker {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("broker");
    return l;
}

constexpr std::chrono::milliseconds kLeaderPoll{20};
constexpr std::chrono::milliseconds kConflictMargin{3000};

}  // namespace

// The broker's side of coordination: what the controller decided arrives here (on the event
// loop) and is applied to the metadata cache and the replica manager; topic requests go the
// other way. The controller's requests for other brokers leave through `channel`; theirs
// arrive through the native handler (inter_broker_requests).
struct server::impl final : coordination::coordination_listener,
                            coordination::controller_channel,
                            inter_broker_requests,
                            topic_admin {
    impl(const broker_config& c, const properties& p) : config(c), props(p), loop(c.num_io_threads) {}

    broker_config config;
    properties props;
    event_loop loop;
    std::unique_ptr<storage::log_manager> logs;
    metadata_cache metadata;
    std::unique_ptr<replica_manager> replicas;
    std::unique_ptr<coordination::coordination_service> coordination;
    // One handler and one listener per configured listener, in the order of `listeners`.
    std::vector<std::unique_ptr<native_handler>> natives;
    std::vector<std::unique_ptr<net::listener>> listeners;
    uint16_t bound_port = 0;  // the first listener's
    std::atomic<int32_t> newest_controller_epoch{0};
    std::unique_ptr<controller_channel_manager> channel;
    std::shared_ptr<event_loop::strand> coordination_strand;
    std::function<void(const std::string&)> on_fatal;
    std::atomic<bool> registration_failed{false};

    // Asks the controller to move this broker's leaderships elsewhere before it goes, as Kafka's
    // controlled shutdown: up to controlled.shutdown.max.retries attempts, each after
    // controlled.shutdown.retry.backoff.ms. Failing that, the broker stops anyway; the
    // controller then moves leaderships when the broker's registration vanishes. Main thread.
    void controlled_shutdown_self() {
        for (int32_t attempt = 0; attempt <= config.controlled_shutdown_max_retries; ++attempt) {
            if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(config.controlled_shutdown_retry_backoff_ms));
            auto r = ask_controller_to_shut_down();
            if (r) {
                logger()->info("controlled shutdown done; {} partition(s) stay led here until the broker stops "
                               "(no other replica can take them)", r->size());
                return;
            }
            logger()->warn("controlled shutdown attempt {} failed: {}", attempt + 1, r.error().message);
        }
        logger()->warn("proceeding to an uncontrolled shutdown: the controller will move leaderships once this "
                       "broker's registration is gone");
    }
    result<std::vector<topic_partition>> ask_controller_to_shut_down() {
        const int32_t controller_id = coordination->controller_id();
        if (controller_id < 0) return status(errc::not_controller, "no controller is known");
        if (controller_id == config.broker_id) {
            // Shared: a late answer after the timeout must still find its promise.
            auto answer = std::make_shared<std::promise<result<std::vector<topic_partition>>>>();
            auto done = answer->get_future();
            coordination->controlled_shutdown(config.broker_id, [answer](result<std::vector<topic_partition>> r) {
                answer->set_value(std::move(r));
            });
            if (done.wait_for(std::chrono::milliseconds(config.controller_socket_timeout_ms)) != std::future_status::ready) {
                return status(errc::request_timed_out, "the controller did not answer");
            }
            return done.get();
        }
        // The metadata cache has every live broker's endpoints by listener, from /brokers/ids.
        const auto snap = metadata.snapshot();
        const auto b = snap->brokers.find(controller_id);
        if (b == snap->brokers.end()) {
            return status(errc::broker_not_available, "controller " + std::to_string(controller_id) + " is not registered");
        }
        const auto at = b->second.endpoints.find(config.inter_broker_listener_name);
        if (at == b->second.endpoints.end()) {
            return status(errc::broker_not_available, "controller " + std::to_string(controller_id) + " has no " +
                                                          config.inter_broker_listener_name + " endpoint");
        }
        return channel->controlled_shutdown({at->second.first, static_cast<uint16_t>(at->second.second)}, config.broker_id);
    }

    // Drops requests of a controller older than the newest this broker has heard from.
    bool stale(int32_t controller_epoch) {
        int32_t seen = newest_controller_epoch.load();
        while (controller_epoch > seen && !newest_controller_epoch.compare_exchange_weak(seen, controller_epoch)) {
        }
        if (controller_epoch < seen) {
            logger()->warn("ignoring a request from a deposed controller (epoch {} < {})", controller_epoch, seen);
            return true;
        }
        return false;
    }

    storage::log_config log_config_of(const std::string& topic) {
        auto snap = metadata.snapshot();
        auto it = snap->topics.find(topic);
        auto c = topic_log_config(config, it == snap->topics.end() ? topic_overrides{} : it->second.configs);
        return c ? *c : config.log;
    }

    // ---- coordination_listener
    void on_registration_failed(const std::string& message) override {
        logger()->error("{}", message);
        registration_failed = true;
        if (on_fatal) on_fatal(message);
    }
    void on_live_brokers_changed(const std::vector<coordination::broker_info>& brokers) override {
        std::map<int32_t, broker_endpoint> m;
        for (const auto& b : brokers) m[b.id] = to_broker_endpoint(b);
        metadata.set_brokers(std::move(m), metadata.snapshot()->controller_id);
    }
    void on_controller_changed(int32_t controller_id) override { metadata.set_controller(controller_id); }
    void on_topic_config_changed(const std::string& topic, const coordination::topic_config& c) override {
        metadata.set_topic_configs(topic, c);
        if (auto lc = topic_log_config(config, c)) {
            replicas->update_topic_config(topic, *lc);
        } else {
            logger()->warn("topic {} has an invalid config in ZooKeeper: {}", topic, lc.error().message);
        }
    }

    // ---- controller_channel: the controller's requests, to this broker in-process and to the
    // others over the network (controller_channel_manager).
    void live_brokers_changed(const std::vector<coordination::broker_info>& live) override {
        std::vector<coordination::broker_info> others;
        for (const auto& b : live) {
            if (b.id != config.broker_id) others.push_back(b);
        }
        channel->set_live_brokers(others);
    }
    void leader_and_isr(int32_t broker_id, const coordination::leader_and_isr_request& r) override {
        if (broker_id != config.broker_id) return channel->leader_and_isr(broker_id, r);
        if (auto applied = apply_leader_and_isr(r); !applied) logger()->warn("{}", applied.error().message);
    }
    void update_metadata(const std::vector<int32_t>& broker_ids, const coordination::metadata_update& u) override {
        for (const int32_t id : broker_ids) {
            if (id != config.broker_id) channel->update_metadata(id, u);
        }
        if (std::find(broker_ids.begin(), broker_ids.end(), config.broker_id) == broker_ids.end()) return;
        if (status s = apply_update_metadata(u); !s.ok()) logger()->warn("{}", s.message);
    }
    void stop_replica(int32_t broker_id, const coordination::stop_replica_request& r) override {
        if (broker_id != config.broker_id) return channel->stop_replica(broker_id, r);
        if (auto applied = apply_stop_replica(r); !applied) logger()->warn("{}", applied.error().message);
    }

    // ---- inter_broker_requests: the same requests from a controller on another broker. They
    // join the coordination strand, so that they apply in order with what this broker's own
    // controller decided.
    void leader_and_isr(coordination::leader_and_isr_request r,
                        std::function<void(result<partition_errors>)> done) override {
        coordination_strand->post([this, r = std::move(r), done = std::move(done)] { done(apply_leader_and_isr(r)); });
    }
    void update_metadata(coordination::metadata_update u, std::function<void(status)> done) override {
        coordination_strand->post([this, u = std::move(u), done = std::move(done)] { done(apply_update_metadata(u)); });
    }
    void stop_replica(coordination::stop_replica_request r,
                      std::function<void(result<partition_errors>)> done) override {
        coordination_strand->post([this, r = std::move(r), done = std::move(done)] { done(apply_stop_replica(r)); });
    }
    void controlled_shutdown(int32_t broker_id,
                             std::function<void(result<std::vector<topic_partition>>)> done) override {
        coordination->controlled_shutdown(broker_id, std::move(done));
    }

    // ---- applying the controller's requests (coordination strand)
    status stale_request(const char* api, int32_t controller_id, int32_t controller_epoch) {
        return {errc::stale_controller_epoch, std::string(api) + " from controller " + std::to_string(controller_id) +
                                                  " with epoch " + std::to_string(controller_epoch) +
                                                  " ignored: a newer controller has spoken (epoch " +
                                                  std::to_string(newest_controller_epoch.load()) + ")"};
    }

    result<partition_errors> apply_leader_and_isr(const coordination::leader_and_isr_request& r) {
        if (stale(r.controller_epoch)) return stale_request("LeaderAndIsr", r.controller_id, r.controller_epoch);
        partition_errors errors;
        std::set<std::string> new_here;
        std::set<topic_partition> listed;
        for (const auto& p : r.partitions) {
            listed.insert(p.tp);
            const bool leads = p.state.leader == config.broker_id;
            if (!leads && std::find(p.replicas.begin(), p.replicas.end(), config.broker_id) == p.replicas.end()) {
                errors.emplace_back(p.tp, status(errc::unknown_topic_or_partition,
                                                 "broker " + std::to_string(config.broker_id) + " is not a replica of " +
                                                     p.tp.dir_name()));
                continue;
            }
            if (!replicas->get(p.tp)) new_here.insert(p.tp.topic);
            const leadership l{p.state.leader, p.state.leader_epoch, p.replicas, p.state.isr, p.state.zk_version,
                               p.state.controller_epoch};
            status s = leads ? replicas->become_leader(p.tp, l, log_config_of(p.tp.topic))
                             : replicas->become_follower(p.tp, l, leader_address(r, p.state.leader),
                                                         log_config_of(p.tp.topic));
            if (!s.ok()) {
                logger()->error("cannot {} {}: {}", leads ? "lead" : "follow", p.tp.dir_name(), s.message);
                errors.emplace_back(p.tp, s);
            }
        }
        if (r.full) {
            // Not assigned here any more (e.g. its topic went while this broker was down, and
            // was created again elsewhere): stop serving it, and keep its log for the operator,
            // as Kafka does with a stray log.
            for (const auto& tp : replicas->hosted()) {
                if (listed.contains(tp)) continue;
                logger()->warn("{} is no longer assigned to this broker; it stops serving it (the log stays on disk)",
                               tp.dir_name());
                replicas->stop_replica(tp, /*delete_log=*/false);
            }
        }
        if (!new_here.empty()) load_topic_configs({new_here.begin(), new_here.end()});
        return errors;
    }
    // Where followers fetch from: the leader's inter-broker endpoint, as the request lists it.
    std::optional<client::broker_address> leader_address(const coordination::leader_and_isr_request& r, int32_t leader) {
        for (const auto& b : r.leaders) {
            if (b.id != leader) continue;
            auto [host, port] = endpoint_for(b, config.inter_broker_listener_name).value_or(std::pair{b.host, b.port});
            return client::broker_address{host, static_cast<uint16_t>(port)};
        }
        if (leader >= 0) logger()->warn("LeaderAndIsr names leader {} without its endpoint", leader);
        return std::nullopt;
    }
    // A topic's overrides live in /config/topics/<t>; change notifications report only later
    // changes. So a topic new to this broker (just created, or this broker just started) has
    // them read once, and applied to the metadata cache and the logs as a change would be.
    void load_topic_configs(std::vector<std::string> topics) {
        coordination->describe_topic_configs(topics, [this, topics](std::vector<result<coordination::topic_config>> r) {
            auto snap = metadata.snapshot();
            for (size_t i = 0; i < topics.size() && i < r.size(); ++i) {
                // A topic deleted meanwhile must not come back as an empty entry.
                if (r[i] && snap->topics.contains(topics[i])) on_topic_config_changed(topics[i], *r[i]);
            }
        });
    }
    status apply_update_metadata(const coordination::metadata_update& u) {
        if (stale(u.controller_epoch)) return stale_request("UpdateMetadata", u.controller_id, u.controller_epoch);
        std::map<int32_t, broker_endpoint> brokers;
        for (const auto& b : u.live_brokers) brokers[b.id] = to_broker_endpoint(b);
        metadata.set_brokers(std::move(brokers), u.controller_id);
        std::vector<metadata_cache::partition_update> partitions;
        partitions.reserve(u.partitions.size());
        for (const auto& p : u.partitions) {
            partitions.push_back({p.tp, p.topic_id, {p.state.leader, p.state.leader_epoch, p.replicas, p.state.isr}});
        }
        metadata.update_partitions(partitions, u.full, u.deleted_topics);
        return {};
    }
    result<partition_errors> apply_stop_replica(const coordination::stop_replica_request& r) {
        if (stale(r.controller_epoch)) return stale_request("StopReplica", r.controller_id, r.controller_epoch);
        for (const auto& tp : r.partitions) replicas->stop_replica(tp, r.delete_partitions);
        return partition_errors{};
    }

    // ---- topic_admin
    // Answers once every partition of `names` has a leader in the metadata cache (or, with
    // `gone`, once the topics have left it), or at the deadline with request_timed_out.
    void await_topics(std::vector<topic_result> results, bool gone,
                      std::chrono::steady_clock::time_point deadline,
                      std::function<void(std::vector<topic_result>)> done) {
        auto snap = metadata.snapshot();
        bool ready = true;
        for (const auto& r : results) {
            if (!r.error.ok()) continue;
            auto it = snap->topics.find(r.name);
            if (gone) {
                ready = ready && it == snap->topics.end();
            } else {
                ready = ready && it != snap->topics.end() && !it->second.partitions.empty() &&
                        std::all_of(it->second.partitions.begin(), it->second.partitions.end(),
                                    [](const auto& p) { return p.second.leader >= 0; });
            }
        }
        if (ready) return done(std::move(results));
        if (std::chrono::steady_clock::now() >= deadline) {
            for (auto& r : results) {
                if (r.error.ok()) {
                    r.error = {errc::request_timed_out,
                               gone ? "topic " + r.name + " is marked for deletion but not yet gone"
                                    : "topic " + r.name + " was created but not all partitions have a leader yet"};
                }
            }
            return done(std::move(results));
        }
        loop.run_after(kLeaderPoll, [this, results = std::move(results), gone, deadline, done = std::move(done)]() mutable {
            await_topics(std::move(results), gone, deadline, std::move(done));
        });
    }

    void create_topics(std::vector<new_topic> topics, int32_t timeout_ms, bool validate_only,
                       std::function<void(std::vector<topic_result>)> done) override {
        std::vector<coordination::new_topic> req;
        for (auto& t : topics) {
            coordination::new_topic n;
            n.name = t.name;
            if (t.assignment.empty()) {
                n.partitions = t.partitions;
                n.replication_factor = t.replication_factor;
            }
            for (auto& [p, brokers] : t.assignment) n.assignment[p] = brokers;
            n.config = t.configs;
            req.push_back(std::move(n));
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
        coordination->create_topics(std::move(req), validate_only,
            [this, deadline, validate_only, timeout_ms, done = std::move(done)](std::vector<coordination::topic_result> r) mutable {
                std::vector<topic_result> out;
                for (auto& x : r) out.push_back({x.name, x.error});
                if (validate_only || timeout_ms <= 0) return done(std::move(out));
                await_topics(std::move(out), false, deadline, std::move(done));
            });
    }

    void delete_topics(std::vector<std::string> names, int32_t timeout_ms,
                       std::function<void(std::vector<topic_result>)> done) override {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
        coordination->delete_topics(std::move(names),
            [this, deadline, timeout_ms, done = std::move(done)](std::vector<coordination::topic_result> r) mutable {
                std::vector<topic_result> out;
                for (auto& x : r) out.push_back({x.name, x.error});
                if (timeout_ms <= 0) return done(std::move(out));
                await_topics(std::move(out), true, deadline, std::move(done));
            });
    }

    void create_partitions(std::string topic, int32_t count, int32_t timeout_ms, bool validate_only,
                           std::function<void(status)> done) override {
        auto snap = metadata.snapshot();
        auto it = snap->topics.find(topic);
        if (it == snap->topics.end()) return done({errc::unknown_topic_or_partition, "unknown topic " + topic});
        const auto current = static_cast<int32_t>(it->second.partitions.size());
        if (count <= current) {
            return done({errc::invalid_partitions, "topic " + topic + " has " + std::to_string(current) +
                                                       " partitions; the new count must be larger, not " +
                                                       std::to_string(count)});
        }
        if (validate_only) return done({});
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
        coordination->create_partitions(topic, count,
            [this, topic, count, deadline, done = std::move(done)](status s) mutable {
                if (!s.ok()) return done(s);
                await_partition_count(topic, count, deadline, std::move(done));
            });
    }

    // Answers once `topic` has `count` partitions with leaders in the metadata cache.
    void await_partition_count(const std::string& topic, int32_t count, std::chrono::steady_clock::time_point deadline,
                               std::function<void(status)> done) {
        auto snap = metadata.snapshot();
        auto it = snap->topics.find(topic);
        const bool ready = it != snap->topics.end() && static_cast<int32_t>(it->second.partitions.size()) >= count &&
                           std::all_of(it->second.partitions.begin(), it->second.partitions.end(),
                                       [](const auto& p) { return p.second.leader >= 0; });
        if (ready) return done({});
        if (std::chrono::steady_clock::now() >= deadline) {
            return done({errc::request_timed_out, "partitions of " + topic + " were added but not all have a leader yet"});
        }
        loop.run_after(kLeaderPoll, [this, topic, count, deadline, done = std::move(done)]() mutable {
            await_partition_count(topic, count, deadline, std::move(done));
        });
    }

    void alter_topic_config(std::string topic, std::vector<config_change> changes, bool validate_only,
                            std::function<void(status)> done) override {
        coordination->describe_topic_configs({topic},
            [this, topic, changes = std::move(changes), validate_only, done = std::move(done)](
                std::vector<result<coordination::topic_config>> current) mutable {
                if (current.empty() || !current[0]) {
                    return done(current.empty() ? status(errc::unknown_server_error, "no answer") : current[0].error());
                }
                coordination::topic_config after = *current[0];
                for (const auto& c : changes) {
                    if (c.value) {
                        after[c.name] = *c.value;
                    } else {
                        after.erase(c.name);
                    }
                }
                if (status s = validate_topic_config(config, after); !s.ok() || validate_only) return done(s);
                coordination->alter_topic_config(topic, after, std::move(done));
            });
    }

    // ---- topic_admin: replica moves. The coordination layer checks a whole request and writes
    // nothing when one partition fails, so a request of several partitions refused for one
    // partition's sake is asked for again partition by partition: each gets its own answer, as
    // Kafka answers per partition. The answers and the deadline all run on the coordination
    // strand, one at a time.
    struct reassignment_call {
        std::function<void(std::map<topic_partition, status>)> done;  // empty once answered
        std::map<topic_partition, status> answers;
        size_t expected = 0;
        std::shared_ptr<event_loop::timer> deadline;

        void answer(const topic_partition& tp, status s) {
            if (!done) return;
            answers.emplace(tp, std::move(s));
            if (answers.size() == expected) finish();
        }
        void finish() {
            if (!done) return;
            auto answered = std::move(done);
            done = nullptr;
            if (deadline) deadline->cancel();
            deadline.reset();
            answered(std::move(answers));
        }
    };
    static bool refused_for_a_partition(errc e) {
        return e == errc::invalid_replica_assignment || e == errc::unknown_topic_or_partition ||
               e == errc::reassignment_in_progress;
    }

    void reassign_partitions(replica_targets targets, int32_t timeout_ms,
                             std::function<void(std::map<topic_partition, status>)> done) override {
        auto call = std::make_shared<reassignment_call>();
        call->done = std::move(done);
        call->expected = targets.size();
        if (timeout_ms > 0) {
            call->deadline = loop.run_after(
                std::chrono::milliseconds(timeout_ms),
                [call, targets] {
                    for (const auto& [tp, _] : targets) {
                        call->answers.try_emplace(tp, errc::request_timed_out,
                                                  "ZooKeeper did not confirm the reassignment of " + tp.dir_name() +
                                                      " in time; it may still start: list the reassignments to see");
                    }
                    call->finish();
                },
                coordination_strand);
        }
        coordination->reassign_partitions(targets, [this, call, targets](status s) {
            if (s.ok() || targets.size() == 1 || !refused_for_a_partition(s.code)) {
                for (const auto& [tp, _] : targets) call->answer(tp, s);
                return;
            }
            for (const auto& [tp, replicas] : targets) {
                coordination->reassign_partitions({{tp, replicas}},
                                                  [call, tp](status one) { call->answer(tp, std::move(one)); });
            }
        });
    }

    void list_partition_reassignments(std::function<void(result<replica_targets>)> done) override {
        coordination->list_reassignments(std::move(done));
    }
};

server::server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

server::~server() {
    if (impl_) shutdown().ignore_error();
}

uint16_t server::port() const { return impl_->bound_port; }

result<std::unique_ptr<server>> server::start(const broker_config& config, const properties& props,
                                             std::function<void(const std::string&)> on_fatal) {
    auto i = std::make_unique<impl>(config, props);
    i->on_fatal = std::move(on_fatal);
    logger()->info("starting broker {} (log.dirs {}, zookeeper.connect {})", config.broker_id,
                   config.log_dirs.front().string(), config.zookeeper_connect);

    storage::log_manager_config lm;
    lm.log_dirs = config.log_dirs;
    lm.defaults = config.log;
    lm.recovery_threads_per_dir = config.num_recovery_threads_per_data_dir;
    lm.checkpoint_interval_ms = config.log_flush_offset_checkpoint_interval_ms;
    auto logs = storage::log_manager::open(lm);
    if (!logs) return logs.error();
    i->logs = std::move(*logs);

    replica_manager_options ro;
    ro.broker_id = config.broker_id;
    ro.replica_lag_time_max_ms = config.replica_lag_time_max_ms;
    ro.write_isr = [raw = i.get()](const topic_partition& tp, const coordination::partition_state& state,
                                   std::function<void(result<int32_t>)> done) {
        raw->coordination->update_isr(tp, state, std::move(done));
    };
    ro.fetcher.broker_id = config.broker_id;
    ro.fetcher.max_wait_ms = config.replica_fetch_wait_max_ms;
    ro.fetcher.min_bytes = config.replica_fetch_min_bytes;
    ro.fetcher.partition_max_bytes = config.replica_fetch_max_bytes;
    ro.fetcher.response_max_bytes = config.replica_fetch_response_max_bytes;
    ro.fetcher.backoff = std::chrono::milliseconds(config.replica_fetch_backoff_ms);
    ro.fetcher.socket_timeout = std::chrono::milliseconds(config.replica_socket_timeout_ms);
    i->replicas = std::make_unique<replica_manager>(i->loop, *i->logs, std::move(ro));
    i->loop.start();

    coordination::coordination_config cc;
    cc.self.id = config.broker_id;
    cc.self.host = config.advertised().host;
    cc.self.port = config.advertised().port;
    if (!config.rack.empty()) cc.self.rack = config.rack;
    for (const auto& l : config.advertised_listeners) {
        cc.self.endpoints.push_back({l.name, config.listener_security_protocol_map.at(l.name), l.host, l.port});
    }
    cc.zookeeper.connect = config.zookeeper_connect;
    cc.zookeeper.session_timeout = std::chrono::milliseconds(config.zookeeper_session_timeout_ms);
    cc.controller.default_partitions = config.num_partitions;
    cc.controller.default_replication_factor = config.default_replication_factor;
    cc.controller.unclean_leader_election = config.unclean_leader_election_enable;
    cc.controller.auto_leader_rebalance = config.auto_leader_rebalance_enable;
    cc.controller.leader_imbalance_check_interval =
        std::chrono::milliseconds(config.leader_imbalance_check_interval_seconds * 1000);

    // A registration that another live session holds for longer than a session timeout is not
    // this broker's own previous session (that one expires): a second broker with this id.
    cc.registration_conflict_timeout = std::chrono::milliseconds(config.zookeeper_session_timeout_ms) + kConflictMargin;

    channel_options co;
    co.listener = config.inter_broker_listener_name;
    co.request_timeout = std::chrono::milliseconds(config.controller_socket_timeout_ms);
    i->channel = std::make_unique<controller_channel_manager>(co);
    // Coordination's calls must reach the broker one at a time and in the order they were made
    // (coordination_service.h): through a strand, never the bare multi-threaded loop, where an
    // UpdateMetadata could overtake the LeaderAndIsr sent before it (a created topic then had a
    // leader in Metadata but no partition here: NOT_LEADER_OR_FOLLOWER to the first produce).
    // Other controllers' requests (inter_broker_requests) take the same strand.
    i->coordination_strand = i->loop.make_strand();
    // Created before the listeners (requests may reach it), started after them.
    i->coordination = std::make_unique<coordination::coordination_service>(
        cc, [strand = i->coordination_strand](std::function<void()> task) { strand->post(std::move(task)); }, *i, *i);

    const net::connection_limits limits{config.socket_request_max_bytes, config.connections_max_idle_ms,
                                        config.request_timeout_ms};
    std::string bound;
    for (const auto& l : config.listeners) {
        auto& native = i->natives.emplace_back(
            std::make_unique<native_handler>(l.name, i->config, i->props, i->metadata, *i->replicas, *i, *i));
        auto& listener = i->listeners.emplace_back(std::make_unique<net::listener>(i->loop, l.host, l.port, limits, *native));
        auto port = listener->start();
        if (!port) {
            for (auto& started : i->listeners) started->stop(0);
            i->loop.stop();
            return status(port.error().code, "listener " + l.name + ": " + port.error().message);
        }
        if (i->bound_port == 0) i->bound_port = *port;
        bound += (bound.empty() ? "" : ", ") + l.name + " " + (l.host.empty() ? "0.0.0.0" : l.host) + ":" +
                 std::to_string(*port);
    }
    i->replicas->start_retention(config.log_retention_check_interval_ms);
    i->replicas->start_isr_expiration();

    // Only now that the port answers may ZooKeeper tell the cluster where this broker is.
    i->coordination->start();
    logger()->info("broker {} listening on {}", config.broker_id, bound);
    return std::unique_ptr<server>(new server(std::move(i)));
}

status server::shutdown() {
    if (!impl_) return {};
    auto i = std::move(impl_);
    if (i->config.controlled_shutdown_enable && !i->registration_failed.load()) i->controlled_shutdown_self();
    logger()->info("shutting down: no new connections; finishing requests in flight");
    i->replicas->shutdown();
    {
        // All at once: no listener may accept while another waits for its requests to finish.
        std::vector<std::jthread> stopping;
        for (auto& l : i->listeners) stopping.emplace_back([&l, &i] { l->stop(i->config.request_timeout_ms); });
    }
    i->coordination->stop();
    i->loop.stop();
    status s = i->logs->shutdown();
    if (s.ok()) logger()->info("shut down cleanly");
    return s;
}

}  // namespace gregor::broker
