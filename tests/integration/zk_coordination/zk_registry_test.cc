// broker_registry against a real ZooKeeper: the ephemeral /brokers/ids/<id> with Kafka's JSON,
// the live broker set as brokers come and go, re-registration after session expiry or a
// deleted znode, and a broker.id taken by another live session.
#include <gtest/gtest.h>

#include <mutex>

#include "coordination/broker_registry.h"
#include "coordination/zk_paths.h"
#include "tests/support/shared_zookeeper.h"
#include "tests/support/zookeeper_server.h"

namespace gregor::coordination {
namespace {

using namespace std::chrono_literals;
using test_support::eventually;

class recording_listener : public broker_registry::listener {
public:
    void on_cluster_id(const std::string& id) override {
        std::lock_guard lock(mu_);
        cluster_id_ = id;
    }
    void on_registered() override {
        std::lock_guard lock(mu_);
        ++registrations_;
    }
    void on_registration_failed(const std::string& message) override {
        std::lock_guard lock(mu_);
        failure_ = message;
    }
    void on_live_brokers_changed(const std::vector<broker_info>& brokers) override {
        std::lock_guard lock(mu_);
        live_ = brokers;
    }
    std::vector<int32_t> live_ids() const {
        std::lock_guard lock(mu_);
        std::vector<int32_t> ids;
        for (const auto& b : live_) ids.push_back(b.id);
        return ids;
    }
    int registrations() const {
        std::lock_guard lock(mu_);
        return registrations_;
    }
    std::string failure() const {
        std::lock_guard lock(mu_);
        return failure_;
    }
    std::string cluster_id() const {
        std::lock_guard lock(mu_);
        return cluster_id_;
    }

private:
    mutable std::mutex mu_;
    std::string cluster_id_;
    int registrations_ = 0;
    std::string failure_;
    std::vector<broker_info> live_;
};

broker_info broker(int32_t id) {
    broker_info b;
    b.id = id;
    b.endpoints = {{"PLAINTEXT", "PLAINTEXT", "127.0.0.1", 9091 + id}};
    b.rack = "r" + std::to_string(id % 2);
    return b;
}

// One broker's coordination stack, torn down in the order the components require.
struct registry_node {
    registry_node(const std::string& connect, int32_t id, std::chrono::milliseconds conflict_timeout = 0ms) {
        zk_client_config zc;
        zc.connect = connect;
        zc.session_timeout = 6s;
        zk = std::make_unique<zk_client>(zc, thread.poster());
        broker_registry_config rc;
        rc.self = broker(id);
        rc.conflict_timeout = conflict_timeout;
        rc.retry_backoff = 100ms;
        registry = std::make_unique<broker_registry>(*zk, thread, rc, listener);
        zk->start();
    }
    ~registry_node() { stop(); }
    void stop() {
        if (!zk) return;
        zk->close();
        thread.stop();
        registry.reset();
        zk.reset();
    }

    coordination_thread thread;
    recording_listener listener;
    std::unique_ptr<zk_client> zk;
    std::unique_ptr<broker_registry> registry;
};

TEST(BrokerRegistry, RegistersAnEphemeralZnodeWithKafkasJson) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    registry_node node(zk, 1);
    ASSERT_TRUE(eventually([&] { return node.listener.registrations() == 1; }));
    ASSERT_TRUE(eventually([&] { return node.listener.live_ids() == std::vector<int32_t>{1}; }));

    auto znode = node.zk->get("/brokers/ids/1");
    ASSERT_TRUE(znode.ok());
    EXPECT_EQ(znode->stat.ephemeral_owner, node.zk->session_id());
    auto decoded = zk_paths::decode_broker(1, znode->data);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->host, "127.0.0.1");
    EXPECT_EQ(decoded->port, 9092);
    EXPECT_EQ(decoded->rack, "r1");
    EXPECT_EQ(decoded->endpoints, broker(1).endpoints);

    // The top-level layout and the cluster id are in place.
    for (const auto& p : zk_paths::persistent_paths()) EXPECT_TRUE(node.zk->exists(p)->has_value()) << p;
    EXPECT_EQ(node.listener.cluster_id().size(), 22u);
    auto id = node.zk->get("/cluster/id");
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(*zk_paths::decode_cluster_id(id->data), node.listener.cluster_id());
}

TEST(BrokerRegistry, LiveSetFollowsBrokersComingAndGoing) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    registry_node a(zk, 1), b(zk, 2), c(zk, 3);
    const std::vector<int32_t> all{1, 2, 3};
    for (auto* n : {&a, &b, &c}) ASSERT_TRUE(eventually([&] { return n->listener.live_ids() == all; }));
    EXPECT_EQ(a.listener.cluster_id(), c.listener.cluster_id());

    b.stop();  // a clean close removes the ephemeral at once
    const std::vector<int32_t> left{1, 3};
    EXPECT_TRUE(eventually([&] { return a.listener.live_ids() == left; }));
    EXPECT_TRUE(eventually([&] { return c.listener.live_ids() == left; }));
}

TEST(BrokerRegistry, RegistersAgainAfterSessionExpiry) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    registry_node node(zk, 7);
    ASSERT_TRUE(eventually([&] { return node.listener.registrations() == 1; }));
    const int64_t old_session = node.zk->session_id();
    ASSERT_TRUE(test_support::expire_session(zk, *node.zk));

    ASSERT_TRUE(eventually([&] { return node.listener.registrations() == 2; }));
    EXPECT_NE(node.zk->session_id(), old_session);
    auto znode = node.zk->get("/brokers/ids/7");
    ASSERT_TRUE(znode.ok());
    EXPECT_EQ(znode->stat.ephemeral_owner, node.zk->session_id());
}

TEST(BrokerRegistry, DeletedRegistrationIsRestored) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    registry_node node(zk, 4);
    ASSERT_TRUE(eventually([&] { return node.listener.registrations() == 1; }));
    ASSERT_TRUE(node.zk->remove("/brokers/ids/4").ok());
    ASSERT_TRUE(eventually([&] { return node.listener.registrations() == 2; }));
    EXPECT_TRUE(node.zk->exists("/brokers/ids/4")->has_value());
}

TEST(BrokerRegistry, DuplicateBrokerIdIsRefusedWithAClearError) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    registry_node first(zk, 1);
    ASSERT_TRUE(eventually([&] { return first.listener.registrations() == 1; }));

    registry_node second(zk, 1, /*conflict_timeout=*/1500ms);
    ASSERT_TRUE(eventually([&] { return !second.listener.failure().empty(); }));
    EXPECT_NE(second.listener.failure().find("broker.id 1 is already registered by another broker"),
              std::string::npos)
        << second.listener.failure();
    EXPECT_EQ(second.listener.registrations(), 0);
    EXPECT_EQ(first.zk->get("/brokers/ids/1")->stat.ephemeral_owner, first.zk->session_id());
}

TEST(BrokerRegistry, TakesTheIdOnceTheOtherSessionEnds) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    registry_node old_process(zk, 1);
    ASSERT_TRUE(eventually([&] { return old_process.listener.registrations() == 1; }));

    registry_node restarted(zk, 1);  // waits without a deadline
    ASSERT_TRUE(eventually([&] { return restarted.zk->connected(); }));
    EXPECT_EQ(restarted.listener.registrations(), 0);
    old_process.stop();
    ASSERT_TRUE(eventually([&] { return restarted.listener.registrations() == 1; }));
    EXPECT_EQ(restarted.zk->get("/brokers/ids/1")->stat.ephemeral_owner, restarted.zk->session_id());
}

}  // namespace
}  // namespace gregor::coordination
