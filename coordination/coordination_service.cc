#include "coordination/coordination_service.h"

#include <set>

#include "coordination/topic_name.h"
#include "coordination/zk_paths.h"

namespace gregor::coordination {

// Each adapter turns a component's coordination-thread callback into a task on the broker's
// loop, copying what it carries.

class coordination_service::registry_adapter final : public broker_registry::listener {
public:
    explicit registry_adapter(coordination_service& s) : s_(s) {}
    void on_cluster_id(const std::string& id) override {
        s_.post_([l = &s_.listener_, id] { l->on_cluster_id(id); });
    }
    void on_registration_failed(const std::string& message) override {
        s_.post_([l = &s_.listener_, message] { l->on_registration_failed(message); });
    }
    void on_live_brokers_changed(const std::vector<broker_info>& brokers) override {
        s_.post_([l = &s_.listener_, brokers] { l->on_live_brokers_changed(brokers); });
    }

private:
    coordination_service& s_;
};

class coordination_service::election_adapter final : public controller_election::listener {
public:
    explicit election_adapter(coordination_service& s) : s_(s) {}
    void on_became_controller(int32_t epoch, int32_t epoch_zk_version) override {
        s_.is_controller_ = true;
        s_.controller_->activate(epoch, epoch_zk_version);
    }
    void on_resigned() override {
        s_.is_controller_ = false;
        s_.controller_->deactivate();
    }
    void on_controller_changed(int32_t id) override {
        s_.controller_id_ = id;
        s_.post_([l = &s_.listener_, id] { l->on_controller_changed(id); });
    }

private:
    coordination_service& s_;
};

class coordination_service::channel_adapter final : public controller_channel {
public:
    channel_adapter(coordination_service& s, controller_channel& broker) : s_(s), broker_(broker) {}
    void live_brokers_changed(const std::vector<broker_info>& live) override {
        s_.post_([b = &broker_, live] { b->live_brokers_changed(live); });
    }
    void leader_and_isr(int32_t broker_id, const leader_and_isr_request& request) override {
        s_.post_([b = &broker_, broker_id, request] { b->leader_and_isr(broker_id, request); });
    }
    void update_metadata(const std::vector<int32_t>& broker_ids, const metadata_update& update) override {
        s_.post_([b = &broker_, broker_ids, update] { b->update_metadata(broker_ids, update); });
    }
    void stop_replica(int32_t broker_id, const stop_replica_request& request) override {
        s_.post_([b = &broker_, broker_id, request] { b->stop_replica(broker_id, request); });
    }

private:
    coordination_service& s_;
    controller_channel& broker_;
};

class coordination_service::config_adapter final : public config_manager::listener {
public:
    explicit config_adapter(coordination_service& s) : s_(s) {}
    void on_topic_config_changed(const std::string& topic, const topic_config& config) override {
        s_.post_([l = &s_.listener_, topic, config] { l->on_topic_config_changed(topic, config); });
    }

private:
    coordination_service& s_;
};

namespace {

status zk_error(const zk_status& s) {
    if (is_connection_error(s.code())) return {errc::request_timed_out, "ZooKeeper did not answer: " + s.message()};
    return {errc::unknown_server_error, s.message()};
}

controller_config with_id(controller_config c, int32_t id) {
    c.broker_id = id;
    return c;
}

}  // namespace

coordination_service::coordination_service(coordination_config config, post_fn post, coordination_listener& listener,
                                           controller_channel& channel)
    : post_(std::move(post)),
      listener_(listener),
      defaults_(config.controller),
      rng_(config.controller.assignment_seed ? *config.controller.assignment_seed : std::random_device{}()),
      thread_("coordination"),
      zk_(config.zookeeper, thread_.poster()),
      registry_listener_(std::make_unique<registry_adapter>(*this)),
      election_listener_(std::make_unique<election_adapter>(*this)),
      channel_(std::make_unique<channel_adapter>(*this, channel)),
      config_listener_(std::make_unique<config_adapter>(*this)) {
    const int32_t id = config.self.id;
    broker_registry_config rc;
    rc.self = std::move(config.self);
    rc.conflict_timeout = config.registration_conflict_timeout;
    registry_ = std::make_unique<broker_registry>(zk_, thread_, std::move(rc), *registry_listener_);
    election_ = std::make_unique<controller_election>(zk_, thread_, id, *election_listener_);
    controller_ = std::make_unique<controller>(zk_, thread_, with_id(config.controller, id), *channel_,
                                               [this] { election_->resign(); });
    configs_ = std::make_unique<config_manager>(zk_, thread_, *config_listener_);
    isr_ = std::make_unique<isr_updater>(zk_, thread_, id, std::chrono::milliseconds(50), config.controller.retry_backoff);
}

coordination_service::~coordination_service() { stop(); }

void coordination_service::start() { zk_.start(); }

void coordination_service::stop() {
    zk_.close();
    thread_.stop();
    is_controller_ = false;
}

template <typename T>
void coordination_service::request(std::function<T()> work, callback<T> done) {
    thread_.post([this, work = std::move(work), done = std::move(done)]() mutable {
        post_([done = std::move(done), answer = work()]() mutable { done(std::move(answer)); });
    });
}

void coordination_service::create_topics(std::vector<new_topic> topics, bool validate_only,
                                         callback<std::vector<topic_result>> done) {
    request<std::vector<topic_result>>(
        [this, topics = std::move(topics), validate_only] { return controller_->create_topics(topics, validate_only); },
        std::move(done));
}

void coordination_service::delete_topics(std::vector<std::string> names, callback<std::vector<topic_result>> done) {
    request<std::vector<topic_result>>([this, names = std::move(names)] { return controller_->delete_topics(names); },
                                       std::move(done));
}

void coordination_service::create_partitions(std::string topic, int32_t total, callback<status> done) {
    request<status>([this, topic = std::move(topic), total] { return controller_->create_partitions(topic, total); },
                    std::move(done));
}

void coordination_service::controlled_shutdown(int32_t broker_id,
                                               callback<result<std::vector<topic_partition>>> done) {
    request<result<std::vector<topic_partition>>>(
        [this, broker_id] { return controller_->controlled_shutdown(broker_id); }, std::move(done));
}

void coordination_service::auto_create_topics(std::vector<std::string> names,
                                              callback<std::vector<topic_result>> done) {
    request<std::vector<topic_result>>(
        [this, names = std::move(names)] {
            std::vector<topic_result> out;
            if (controller_->active()) {
                std::vector<new_topic> topics(names.size());
                for (size_t i = 0; i < names.size(); ++i) topics[i].name = names[i];
                return controller_->create_topics(topics, /*validate_only=*/false);
            }
            for (const auto& n : names) out.push_back(create_topic_directly(n));
            return out;
        },
        std::move(done));
}

topic_result coordination_service::create_topic_directly(const std::string& name) {
    topic_result r;
    r.name = name;
    auto failed = [&](const zk_status& s) {
        r.error = is_connection_error(s.code()) ? status(errc::request_timed_out, "ZooKeeper did not answer: " + s.message())
                                                : status(errc::unknown_server_error, s.message());
        return r;
    };
    if (r.error = validate_topic_name(name); !r.error.ok()) return r;
    auto existing = zk_.get_children(zk_paths::topics_path());
    if (!existing) return failed(existing.status());
    for (const auto& other : *existing) {
        if (topic_names_collide(name, other)) {
            r.error = {errc::invalid_topic_exception, "Topic '" + name + "' collides with existing topic: " + other};
            return r;
        }
    }
    std::vector<broker_placement> placements;
    for (const auto& b : registry_->live_brokers()) placements.push_back({b.id, b.rack});
    new_topic t;
    t.name = name;
    auto planned = plan_replicas(t, placements, defaults_.default_partitions, defaults_.default_replication_factor, rng_);
    if (!planned) {
        r.error = planned.error();
        return r;
    }
    auto config_stat = zk_.exists(zk_paths::topic_config_path(name));
    if (!config_stat) return failed(config_stat.status());
    const auto config_version = config_stat->has_value() ? std::optional<int32_t>((*config_stat)->version) : std::nullopt;
    const std::string id = zk_paths::new_uuid();
    auto written = zk_.multi(topic_creation_ops(name, id, *planned, {}, config_version));
    if (!written.ok()) {
        if (written.code == zk_errc::node_exists && written.failed_op == 0) {
            r.error = {errc::topic_already_exists, "Topic '" + name + "' already exists."};
            return r;
        }
        return failed(zk_status(written.code, written.message));
    }
    r.topic_id = id;
    r.partitions = static_cast<int32_t>(planned->size());
    r.replication_factor = static_cast<int32_t>(planned->begin()->second.size());
    return r;
}

void coordination_service::describe_topic_configs(std::vector<std::string> topics,
                                                  callback<std::vector<result<topic_config>>> done) {
    request<std::vector<result<topic_config>>>(
        [this, topics = std::move(topics)] {
            std::vector<result<topic_config>> out;
            for (const auto& t : topics) out.push_back(configs_->read_topic_config(t));
            return out;
        },
        std::move(done));
}

void coordination_service::alter_topic_config(std::string topic, topic_config config, callback<status> done) {
    request<status>([this, topic = std::move(topic), config = std::move(config)] {
        return configs_->write_topic_config(topic, config);
    }, std::move(done));
}

void coordination_service::update_isr(topic_partition tp, partition_state state, callback<result<int32_t>> done) {
    request<result<int32_t>>([this, tp = std::move(tp), state = std::move(state)] { return isr_->update(tp, state); },
                             std::move(done));
}

void coordination_service::reassign_partitions(partition_reassignments target, callback<status> done) {
    request<status>([this, target = std::move(target)] { return write_reassignments(target); }, std::move(done));
}

void coordination_service::list_reassignments(callback<result<partition_reassignments>> done) {
    request<result<partition_reassignments>>([this] { return read_reassignments(); }, std::move(done));
}

status coordination_service::check_reassignment(const partition_reassignments& target) {
    if (target.empty()) return {errc::invalid_replica_assignment, "The reassignment names no partition."};
    std::map<std::string, topic_assignment> topics;
    for (const auto& [tp, replicas] : target) {
        const std::string named = "Reassignment of " + tp.dir_name() + ": ";
        auto topic = topics.find(tp.topic);
        if (topic == topics.end()) {
            auto node = zk_.get(zk_paths::topic_path(tp.topic));
            if (node.code() == zk_errc::no_node) {
                return {errc::unknown_topic_or_partition, named + "topic '" + tp.topic + "' does not exist."};
            }
            if (!node) return zk_error(node.status());
            auto assignment = zk_paths::decode_topic_assignment(node->data);
            if (!assignment) return zk_error(assignment.status());
            auto deleting = zk_.exists(zk_paths::delete_topic_path(tp.topic));
            if (!deleting) return zk_error(deleting.status());
            if (deleting->has_value()) {
                return {errc::unknown_topic_or_partition, named + "topic '" + tp.topic + "' is marked for deletion."};
            }
            topic = topics.emplace(tp.topic, std::move(*assignment)).first;
        }
        const auto current = topic->second.partitions.find(tp.partition);
        if (current == topic->second.partitions.end()) {
            return {errc::unknown_topic_or_partition, named + "partition " + std::to_string(tp.partition) +
                                                          " of topic '" + tp.topic + "' does not exist."};
        }
        // A current replica counts as known while its broker is down: it may stay.
        std::vector<int32_t> known = current->second;
        for (const auto& b : registry_->live_brokers()) known.push_back(b.id);
        if (auto s = validate_reassignment_target(replicas, known); !s.ok()) return {s.code, named + s.message + "."};
    }
    return {};
}

status coordination_service::write_reassignments(const partition_reassignments& target) {
    if (auto s = check_reassignment(target); !s.ok()) return s;
    const std::string path = zk_paths::reassign_partitions_path();
    // Merged into the request already there; a concurrent writer makes the conditional write
    // fail, and the next round sees its entries.
    for (int round = 0; round < 5; ++round) {
        auto node = zk_.get(path);
        if (!node && node.code() != zk_errc::no_node) return zk_error(node.status());
        partition_reassignments merged;
        if (node) {
            auto entries = zk_paths::decode_reassignment(node->data);
            if (!entries) return zk_error(entries.status());
            merged.insert(entries->begin(), entries->end());
        }
        for (const auto& [tp, replicas] : target) {
            if (merged.contains(tp)) {
                return {errc::reassignment_in_progress, "A reassignment of " + tp.dir_name() + " is already in progress."};
            }
        }
        merged.insert(target.begin(), target.end());
        const std::string data = zk_paths::encode_reassignment(merged);
        const zk_status written = node ? zk_.set(path, data, node->stat.version).status()
                                       : zk_.create(path, data, create_mode::persistent, /*create_parents=*/true).status();
        if (written.ok()) return {};
        const bool raced = written.code() == zk_errc::bad_version || written.code() == zk_errc::node_exists ||
                           written.code() == zk_errc::no_node;
        if (!raced) return zk_error(written);
    }
    return {errc::request_timed_out, "/admin/reassign_partitions kept changing; retry the request."};
}

result<partition_reassignments> coordination_service::read_reassignments() {
    auto node = zk_.get(zk_paths::reassign_partitions_path());
    if (node.code() == zk_errc::no_node) return partition_reassignments{};
    if (!node) return zk_error(node.status());
    auto entries = zk_paths::decode_reassignment(node->data);
    if (!entries) return zk_error(entries.status());
    return partition_reassignments(entries->begin(), entries->end());
}

}  // namespace gregor::coordination
