// A cluster of real gregor-server processes for fault tests: N brokers (ids first_id ..
// first_id + N - 1) in one ZooKeeper chroot, an observer session reading that chroot as an
// operator would, and the moves a fault test makes: find the controller (/controller) and a
// partition's leader (Metadata from a broker that is up), SIGKILL / SIGSTOP / SIGCONT / SIGTERM
// a broker, start it again on the same directory and port, and wait for a condition with a
// deadline (never a fixed sleep). A broker is "up" while its process runs and is not stopped
// with SIGSTOP; calls that talk to brokers skip the others, and every call is bounded.
// Not thread-safe: drive it from the test's main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/broker_test_support.h"
#include "tests/integration/zk_coordination/zk_cluster.h"

namespace gregor::integration {

struct cluster_options {
    int32_t size = 3;
    int32_t first_id = 1;
    // Empty: a fresh chroot on the shared ZooKeeper (named after the running test).
    std::string zookeeper_connect;
    // Into every broker's server.properties (over broker_process's defaults).
    std::map<std::string, std::string> properties;
    std::chrono::milliseconds session_timeout{6000};  // zookeeper.session.timeout.ms
    // Adjusts each broker's options before its first start, after the above are applied: an
    // address or a network namespace of its own, properties for one broker only.
    std::function<void(test_support::broker_options&)> customize_broker;
};

class cluster {
public:
    // Starts every broker at once and returns when each is registered and every broker's
    // Metadata lists all of them and names a controller; throws std::runtime_error otherwise.
    explicit cluster(cluster_options options = {});
    ~cluster();
    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;

    std::chrono::milliseconds session_timeout() const noexcept { return options_.session_timeout; }
    const std::string& zookeeper_connect() const noexcept { return options_.zookeeper_connect; }
    std::vector<int32_t> ids() const;
    broker_process& broker(int32_t id);
    bool up(int32_t id);            // running and not stopped
    std::vector<int32_t> up_ids();  // the brokers that are up, ascending

    // ---- ZooKeeper, through the observer session
    coordination::test::observer& zk() { return *observer_; }
    int32_t controller_in_zookeeper();  // /controller's brokerid; -1 when there is none
    int32_t controller_epoch();         // /controller_epoch; -1 when unreadable
    std::set<int32_t> registered_ids();  // the children of /brokers/ids
    std::optional<coordination::partition_state> partition_state(const std::string& topic, int32_t partition);
    bool exists(const std::string& path) { return observer_->exists(path); }

    // ---- Metadata
    // From one broker (throws when it does not answer).
    native::metadata_response metadata_from(int32_t id,
                                            std::optional<std::vector<std::string>> topics = std::nullopt);
    // The partition's leader in `id`'s Metadata; -1 when it has none, -2 when `id` does not know
    // the partition or does not answer.
    int32_t leader_in(int32_t id, const std::string& topic, int32_t partition);

    // ---- waiting
    // Waits until /controller names a broker for which `accept` holds and every broker that is
    // up names that broker in its Metadata; returns it, or -1 after `limit`.
    int32_t await_controller(const std::function<bool(int32_t)>& accept, std::chrono::milliseconds limit);
    // Waits until every broker that is up reports `leader` (-1: none) for the partition.
    bool await_leader_everywhere(const std::string& topic, int32_t partition, int32_t leader,
                                 std::chrono::milliseconds limit);
    // Waits until every broker that is up knows the topic with a leader for each of its
    // `partitions`, and they agree; returns partition -> leader (empty after `limit`).
    std::map<int32_t, int32_t> await_leaders_everywhere(const std::string& topic, int32_t partitions,
                                                        std::chrono::milliseconds limit);
    // A one-line-per-broker picture for failure messages: up or not, the controller and leaders
    // it reports for `topic` (when given), plus /controller and /brokers/ids.
    std::string describe(const std::string& topic = {});

    // ---- faults
    void kill(int32_t id);       // SIGKILL and reap
    void pause(int32_t id);      // SIGSTOP
    void resume(int32_t id);     // SIGCONT
    int terminate(int32_t id);   // SIGTERM; the exit code (see broker_process::terminate)
    // Starts a broker that is not running again (same directory and port) and waits until it
    // is registered.
    void start(int32_t id, std::chrono::milliseconds timeout = 60s);

    // ---- topics, through whichever broker /controller names (retried on NOT_CONTROLLER and
    // on a controller that does not answer, up to `limit`)
    native::create_topics_response::topic create_topic(const std::string& name, int32_t partitions,
                                                       int16_t replication_factor = 1,
                                                       std::chrono::milliseconds limit = 30s);
    // The same for a topic spelled out in full: replica assignments, topic configs.
    native::create_topics_response::topic create_topic(const native::create_topics_request::topic& spec,
                                                       std::chrono::milliseconds limit = 30s);
    native::delete_topics_response::topic delete_topic(const std::string& name, std::chrono::milliseconds limit = 30s);

private:
    cluster_options options_;
    std::map<int32_t, std::unique_ptr<broker_process>> brokers_;
    std::set<int32_t> paused_;
    std::unique_ptr<coordination::test::observer> observer_;
};

// Polls `cond` every 50 ms (each poll may open connections to every broker: a gentler pace than
// test_support::eventually's 10 ms) until it holds or `limit` passes; returns its last value.
template <typename F>
bool await_condition(F cond, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > deadline) return cond();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

}  // namespace gregor::integration
