// Test fixtures for whole-broker coordination: a broker's coordination_service with a
// stand-in event loop, a channel and a listener that record what they are told, and an
// observer session to read ZooKeeper as an operator would.
#pragma once

#include <future>
#include <mutex>

#include "coordination/coordination_service.h"
#include "coordination/zk_paths.h"
#include "tests/support/shared_zookeeper.h"
#include "tests/support/zookeeper_server.h"

namespace gregor::coordination::test {

using namespace std::chrono_literals;

class recording_channel : public controller_channel {
public:
    void leader_and_isr(int32_t broker_id, const leader_and_isr_request& r) override {
        std::lock_guard lock(mu_);
        leader_and_isr_.emplace_back(broker_id, r);
    }
    void update_metadata(const std::vector<int32_t>& broker_ids, const metadata_update& u) override {
        std::lock_guard lock(mu_);
        update_metadata_.emplace_back(broker_ids, u);
    }
    void stop_replica(int32_t broker_id, const stop_replica_request& r) override {
        std::lock_guard lock(mu_);
        stop_replica_.emplace_back(broker_id, r);
    }
    std::vector<std::pair<int32_t, leader_and_isr_request>> leader_and_isr_calls() const {
        std::lock_guard lock(mu_);
        return leader_and_isr_;
    }
    std::vector<std::pair<std::vector<int32_t>, metadata_update>> update_metadata_calls() const {
        std::lock_guard lock(mu_);
        return update_metadata_;
    }
    std::vector<std::pair<int32_t, stop_replica_request>> stop_replica_calls() const {
        std::lock_guard lock(mu_);
        return stop_replica_;
    }
    void clear() {
        std::lock_guard lock(mu_);
        leader_and_isr_.clear();
        update_metadata_.clear();
        stop_replica_.clear();
    }

private:
    mutable std::mutex mu_;
    std::vector<std::pair<int32_t, leader_and_isr_request>> leader_and_isr_;
    std::vector<std::pair<std::vector<int32_t>, metadata_update>> update_metadata_;
    std::vector<std::pair<int32_t, stop_replica_request>> stop_replica_;
};

class recording_listener : public coordination_listener {
public:
    void on_controller_changed(int32_t id) override {
        std::lock_guard lock(mu_);
        controller_ = id;
    }
    void on_live_brokers_changed(const std::vector<broker_info>& brokers) override {
        std::lock_guard lock(mu_);
        live_.clear();
        for (const auto& b : brokers) live_.push_back(b.id);
    }
    void on_topic_config_changed(const std::string& topic, const topic_config& config) override {
        std::lock_guard lock(mu_);
        configs_[topic] = config;
    }
    int32_t controller() const {
        std::lock_guard lock(mu_);
        return controller_;
    }
    std::vector<int32_t> live() const {
        std::lock_guard lock(mu_);
        return live_;
    }
    std::map<std::string, topic_config> configs() const {
        std::lock_guard lock(mu_);
        return configs_;
    }

private:
    mutable std::mutex mu_;
    int32_t controller_ = -1;
    std::vector<int32_t> live_;
    std::map<std::string, topic_config> configs_;
};

// One broker's coordination, with a thread standing in for its event loop.
class broker_node {
public:
    broker_node(const std::string& connect, int32_t id, controller_config cc = {}) : id_(id) {
        coordination_config c;
        c.self.id = id;
        c.self.endpoints = {{"PLAINTEXT", "PLAINTEXT", "127.0.0.1", 19000 + id}};
        c.zookeeper.connect = connect;
        c.zookeeper.session_timeout = 6s;
        if (!cc.assignment_seed) cc.assignment_seed = 1;
        cc.retry_backoff = 200ms;
        c.controller = cc;
        service_ = std::make_unique<coordination_service>(c, loop_.poster(), listener_, channel_);
        service_->start();
    }
    ~broker_node() { stop(); }
    void stop() {
        if (!service_) return;
        service_->stop();
        loop_.stop();
        service_.reset();
    }

    int32_t id() const { return id_; }
    coordination_service& service() { return *service_; }
    recording_channel& channel() { return channel_; }
    recording_listener& listener() { return listener_; }
    bool running() const { return service_ != nullptr; }
    bool is_controller() const { return service_ && service_->is_controller(); }

    // The request helpers wait for the answer on the stand-in loop.
    std::vector<topic_result> create_topics(std::vector<new_topic> topics, bool validate_only = false) {
        return wait<std::vector<topic_result>>([&](auto done) {
            service_->create_topics(std::move(topics), validate_only, std::move(done));
        });
    }
    topic_result create_topic(const std::string& name, int32_t partitions, int32_t rf, topic_config config = {}) {
        new_topic t;
        t.name = name;
        t.partitions = partitions;
        t.replication_factor = rf;
        t.config = std::move(config);
        return create_topics({t}).at(0);
    }
    std::vector<topic_result> auto_create_topics(std::vector<std::string> names) {
        return wait<std::vector<topic_result>>(
            [&](auto done) { service_->auto_create_topics(std::move(names), std::move(done)); });
    }
    std::vector<topic_result> delete_topics(std::vector<std::string> names) {
        return wait<std::vector<topic_result>>(
            [&](auto done) { service_->delete_topics(std::move(names), std::move(done)); });
    }
    status create_partitions(const std::string& topic, int32_t total) {
        return wait<status>([&](auto done) { service_->create_partitions(topic, total, std::move(done)); });
    }
    result<std::vector<topic_partition>> controlled_shutdown(int32_t broker) {
        return wait<result<std::vector<topic_partition>>>(
            [&](auto done) { service_->controlled_shutdown(broker, std::move(done)); });
    }
    status alter_topic_config(const std::string& topic, topic_config config) {
        return wait<status>([&](auto done) { service_->alter_topic_config(topic, std::move(config), std::move(done)); });
    }
    std::vector<result<topic_config>> describe_topic_configs(std::vector<std::string> topics) {
        return wait<std::vector<result<topic_config>>>(
            [&](auto done) { service_->describe_topic_configs(std::move(topics), std::move(done)); });
    }
    result<int32_t> update_isr(const topic_partition& tp, const partition_state& state) {
        return wait<result<int32_t>>([&](auto done) { service_->update_isr(tp, state, std::move(done)); });
    }
    status reassign_partitions(partition_reassignments target) {
        return wait<status>([&](auto done) { service_->reassign_partitions(std::move(target), std::move(done)); });
    }
    result<partition_reassignments> list_reassignments() {
        return wait<result<partition_reassignments>>([&](auto done) { service_->list_reassignments(std::move(done)); });
    }

private:
    template <typename T, typename F>
    T wait(F issue) {
        auto promise = std::make_shared<std::promise<T>>();
        auto future = promise->get_future();
        issue([promise](T answer) { promise->set_value(std::move(answer)); });
        if (future.wait_for(30s) != std::future_status::ready) throw std::runtime_error("no answer in 30 s");
        return future.get();
    }

    int32_t id_;
    coordination_thread loop_{"broker-loop"};
    recording_channel channel_;
    recording_listener listener_;
    std::unique_ptr<coordination_service> service_;
};

// Reads ZooKeeper from its own session.
class observer {
public:
    explicit observer(const std::string& connect) : zk_(config(connect), thread_.poster()) {
        zk_.start();
        zk_.wait_connected(10s);
    }
    ~observer() {
        zk_.close();
        thread_.stop();
    }
    zk_client& zk() { return zk_; }
    bool exists(const std::string& path) {
        auto r = zk_.exists(path);
        return r.ok() && r->has_value();
    }
    std::optional<partition_state> state(const std::string& topic, int32_t p) {
        auto node = zk_.get(zk_paths::partition_state_path(topic, p));
        if (!node) return std::nullopt;
        auto s = zk_paths::decode_partition_state(node->data, node->stat.version);
        return s.ok() ? std::optional<partition_state>(*s) : std::nullopt;
    }
    std::optional<topic_assignment> assignment(const std::string& topic) {
        auto node = zk_.get(zk_paths::topic_path(topic));
        if (!node) return std::nullopt;
        auto a = zk_paths::decode_topic_assignment(node->data);
        return a.ok() ? std::optional<topic_assignment>(*a) : std::nullopt;
    }
    int32_t controller_epoch() {
        auto node = zk_.get(zk_paths::controller_epoch_path());
        return node.ok() ? *zk_paths::decode_controller_epoch(node->data) : -1;
    }

private:
    static zk_client_config config(const std::string& connect) {
        zk_client_config c;
        c.connect = connect;
        return c;
    }
    coordination_thread thread_{"observer"};
    zk_client zk_;
};

// The node among `nodes` that is controller, once the live ones agree on it.
inline broker_node* await_controller(const std::vector<broker_node*>& nodes, std::chrono::milliseconds limit = 20s) {
    broker_node* found = nullptr;
    test_support::eventually(
        [&] {
            found = nullptr;
            for (auto* n : nodes) {
                if (n->is_controller()) found = n;
            }
            if (found == nullptr) return false;
            for (auto* n : nodes) {
                if (n->running() && n->listener().controller() != found->id()) return false;
            }
            return true;
        },
        limit);
    return found;
}

}  // namespace gregor::coordination::test
