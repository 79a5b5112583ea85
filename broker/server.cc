#include "broker/server.h"

#include <chrono>
#include <set>

#include "broker/event_loop.h"
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

}  // namespace

// The broker's side of coordination: what the controller decided arrives here (on the event
// loop) and is applied to the metadata cache and the replica manager; topic requests go the
// other way. Requests for other brokers come with the cluster issue's inter-broker channel.
struct server::impl final : coordination::coordination_listener,
                            coordination::controller_channel,
                            topic_admin {
    impl(const broker_config& c, const properties& p) : config(c), props(p), loop(c.num_io_threads) {}

    broker_config config;
    properties props;
    event_loop loop;
    std::unique_ptr<storage::log_manager> logs;
    metadata_cache metadata;
    std::unique_ptr<replica_manager> replicas;
    std::unique_ptr<coordination::coordination_service> coordination;
    std::unique_ptr<native_handler> native;
    std::unique_ptr<net::listener> listener;
    uint16_t bound_port = 0;
    std::atomic<int32_t> newest_controller_epoch{0};

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
    }
    void on_live_brokers_changed(const std::vector<coordination::broker_info>& brokers) override {
        std::map<int32_t, broker_endpoint> m;
        for (const auto& b : brokers) m[b.id] = {b.id, b.host, b.port, b.rack.value_or("")};
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

    // ---- controller_channel (this broker only, for now)
    void leader_and_isr(int32_t broker_id, const coordination::leader_and_isr_request& r) override {
        if (broker_id != config.broker_id) {
            logger()->warn("LeaderAndIsr for broker {} not delivered: inter-broker requests come with the "
                           "cluster release", broker_id);
            return;
        }
        if (stale(r.controller_epoch)) return;
        std::set<std::string> new_here;
        for (const auto& p : r.partitions) {
            if (p.state.leader != config.broker_id) continue;
            if (!replicas->get(p.tp)) new_here.insert(p.tp.topic);
            status s = replicas->become_leader(p.tp, p.state.leader_epoch, p.replicas, p.state.isr,
                                               log_config_of(p.tp.topic));
            if (!s.ok()) logger()->error("cannot lead {}: {}", p.tp.dir_name(), s.message);
        }
        if (!new_here.empty()) load_topic_configs({new_here.begin(), new_here.end()});
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
    void update_metadata(const std::vector<int32_t>& broker_ids, const coordination::metadata_update& u) override {
        if (std::find(broker_ids.begin(), broker_ids.end(), config.broker_id) == broker_ids.end()) return;
        if (stale(u.controller_epoch)) return;
        std::map<int32_t, broker_endpoint> brokers;
        for (const auto& b : u.live_brokers) brokers[b.id] = {b.id, b.host, b.port, b.rack.value_or("")};
        metadata.set_brokers(std::move(brokers), u.controller_id);
        if (u.full) {
            auto snap = metadata.snapshot();
            for (const auto& [name, _] : snap->topics) {
                const bool listed = std::any_of(u.partitions.begin(), u.partitions.end(),
                                                [&](const auto& p) { return p.tp.topic == name; });
                if (!listed) metadata.remove_topic(name);
            }
        }
        for (const auto& p : u.partitions) {
            metadata.set_partition(p.tp, p.topic_id, {p.state.leader, p.state.leader_epoch, p.replicas, p.state.isr});
        }
        for (const auto& t : u.deleted_topics) metadata.remove_topic(t);
    }
    void stop_replica(int32_t broker_id, const coordination::stop_replica_request& r) override {
        if (broker_id != config.broker_id || stale(r.controller_epoch)) return;
        for (const auto& tp : r.partitions) replicas->stop_replica(tp, r.delete_partitions);
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
};

server::server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

server::~server() {
    if (impl_) shutdown().ignore_error();
}

uint16_t server::port() const { return impl_->bound_port; }

result<std::unique_ptr<server>> server::start(const broker_config& config, const properties& props) {
    auto i = std::make_unique<impl>(config, props);
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

    i->replicas = std::make_unique<replica_manager>(i->loop, *i->logs, config.broker_id);
    i->loop.start();

    coordination::coordination_config cc;
    cc.self.id = config.broker_id;
    cc.self.host = config.advertised().host;
    cc.self.port = config.advertised().port;
    if (!config.rack.empty()) cc.self.rack = config.rack;
    for (const auto& l : config.advertised_listeners) {
        cc.self.endpoints.push_back({l.name, "PLAINTEXT", l.host, l.port});
    }
    cc.zookeeper.connect = config.zookeeper_connect;
    cc.zookeeper.session_timeout = std::chrono::milliseconds(config.zookeeper_session_timeout_ms);
    cc.controller.default_partitions = config.num_partitions;
    cc.controller.default_replication_factor = config.default_replication_factor;
    cc.controller.unclean_leader_election = config.unclean_leader_election_enable;
    cc.controller.auto_leader_rebalance = config.auto_leader_rebalance_enable;
    cc.controller.leader_imbalance_check_interval =
        std::chrono::milliseconds(config.leader_imbalance_check_interval_seconds * 1000);

    i->native = std::make_unique<native_handler>(i->config, i->props, i->metadata, *i->replicas, *i);
    const auto& l = config.listeners.front();
    i->listener = std::make_unique<net::listener>(
        i->loop, l.host, l.port,
        net::connection_limits{config.socket_request_max_bytes, config.connections_max_idle_ms, config.request_timeout_ms},
        *i->native);
    auto port = i->listener->start();
    if (!port) {
        i->loop.stop();
        return port.error();
    }
    i->bound_port = *port;
    i->replicas->start_retention(config.log_retention_check_interval_ms);

    // Only now that the port answers may ZooKeeper tell the cluster where this broker is.
    // Coordination's calls must reach the broker one at a time and in the order they were made
    // (coordination_service.h): through a strand, never the bare multi-threaded loop, where an
    // UpdateMetadata could overtake the LeaderAndIsr sent before it (a created topic then had a
    // leader in Metadata but no partition here: NOT_LEADER_OR_FOLLOWER to the first produce).
    auto coordination_strand = i->loop.make_strand();
    i->coordination = std::make_unique<coordination::coordination_service>(
        cc, [coordination_strand](std::function<void()> task) { coordination_strand->post(std::move(task)); },
        *i, *i);
    i->coordination->start();
    logger()->info("broker {} listening on {}:{}", config.broker_id, l.host.empty() ? "0.0.0.0" : l.host, *port);
    return std::unique_ptr<server>(new server(std::move(i)));
}

status server::shutdown() {
    if (!impl_) return {};
    auto i = std::move(impl_);
    logger()->info("shutting down: no new connections; finishing requests in flight");
    i->listener->stop(i->config.request_timeout_ms);
    i->coordination->stop();
    i->loop.stop();
    status s = i->logs->shutdown();
    if (s.ok()) logger()->info("shut down cleanly");
    return s;
}

}  // namespace gregor::broker
