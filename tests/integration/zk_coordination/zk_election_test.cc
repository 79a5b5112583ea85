// controller_election against a real ZooKeeper: one winner among several brokers, failover
// when the controller's session ends, the epoch growing with each controller, and the epoch
// znode's version fencing a controller that has been replaced.
#include <gtest/gtest.h>

#include <mutex>

#include "coordination/controller_election.h"
#include "coordination/zk_paths.h"
#include "tests/support/shared_zookeeper.h"
#include "tests/support/zookeeper_server.h"

namespace gregor::coordination {
namespace {

using namespace std::chrono_literals;
using test_support::eventually;

class recording_listener : public controller_election::listener {
public:
    void on_became_controller(int32_t epoch, int32_t epoch_zk_version) override {
        std::lock_guard lock(mu_);
        active_ = true;
        epoch_ = epoch;
        epoch_zk_version_ = epoch_zk_version;
        ++wins_;
    }
    void on_resigned() override {
        std::lock_guard lock(mu_);
        active_ = false;
        ++resignations_;
    }
    void on_controller_changed(int32_t id) override {
        std::lock_guard lock(mu_);
        controller_ = id;
    }
    bool active() const { std::lock_guard lock(mu_); return active_; }
    int32_t epoch() const { std::lock_guard lock(mu_); return epoch_; }
    int32_t epoch_zk_version() const { std::lock_guard lock(mu_); return epoch_zk_version_; }
    int32_t controller() const { std::lock_guard lock(mu_); return controller_; }
    int wins() const { std::lock_guard lock(mu_); return wins_; }
    int resignations() const { std::lock_guard lock(mu_); return resignations_; }

private:
    mutable std::mutex mu_;
    bool active_ = false;
    int32_t epoch_ = 0;
    int32_t epoch_zk_version_ = -1;
    int32_t controller_ = -1;
    int wins_ = 0;
    int resignations_ = 0;
};

struct elector_node {
    elector_node(const std::string& connect, int32_t id) : id(id) {
        zk_client_config zc;
        zc.connect = connect;
        zc.session_timeout = 6s;
        zk = std::make_unique<zk_client>(zc, thread.poster());
        election = std::make_unique<controller_election>(*zk, thread, id, listener, 100ms);
        zk->start();
    }
    ~elector_node() { stop(); }
    void stop() {
        if (!zk) return;
        zk->close();
        thread.stop();
        election.reset();
        zk.reset();
    }
    bool stopped() const { return !zk; }

    int32_t id;
    coordination_thread thread;
    recording_listener listener;
    std::unique_ptr<zk_client> zk;
    std::unique_ptr<controller_election> election;
};

int32_t read_epoch(zk_client& zk) {
    auto node = zk.get("/controller_epoch");
    return node.ok() ? *zk_paths::decode_controller_epoch(node->data) : -1;
}

// The single live node that is controller, if the live nodes agree on it.
elector_node* agreed_controller(std::vector<std::unique_ptr<elector_node>>& nodes) {
    elector_node* winner = nullptr;
    for (auto& n : nodes) {
        if (n->stopped()) continue;
        if (n->listener.active()) {
            if (winner != nullptr) return nullptr;
            winner = n.get();
        }
    }
    if (winner == nullptr) return nullptr;
    for (auto& n : nodes) {
        if (!n->stopped() && n->listener.controller() != winner->id) return nullptr;
    }
    return winner;
}

TEST(ControllerElection, LoneBrokerBecomesControllerWithEpochOne) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    elector_node node(zk, 5);
    ASSERT_TRUE(eventually([&] { return node.listener.active(); }));
    EXPECT_EQ(node.listener.epoch(), 1);
    EXPECT_EQ(node.listener.controller(), 5);
    auto znode = node.zk->get("/controller");
    ASSERT_TRUE(znode.ok());
    EXPECT_EQ(*zk_paths::decode_controller(znode->data), 5);
    EXPECT_EQ(znode->stat.ephemeral_owner, node.zk->session_id());
    EXPECT_EQ(read_epoch(*node.zk), 1);
    EXPECT_EQ(node.listener.epoch_zk_version(), node.zk->get("/controller_epoch")->stat.version);
}

TEST(ControllerElection, OneOfThreeWinsAndAnotherTakesOverWhenItsSessionCloses) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    std::vector<std::unique_ptr<elector_node>> nodes;
    for (int32_t id = 1; id <= 3; ++id) nodes.push_back(std::make_unique<elector_node>(zk, id));

    for (int32_t expected_epoch = 1; expected_epoch <= 3; ++expected_epoch) {
        elector_node* controller = nullptr;
        ASSERT_TRUE(eventually([&] { return (controller = agreed_controller(nodes)) != nullptr; }))
            << "no agreed controller for epoch " << expected_epoch;
        EXPECT_EQ(controller->listener.epoch(), expected_epoch);
        EXPECT_EQ(controller->listener.wins(), 1);
        if (expected_epoch == 3) break;
        controller->stop();  // its session closes and /controller with it
    }
    elector_node* last = agreed_controller(nodes);
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(read_epoch(*last->zk), 3);
}

TEST(ControllerElection, SessionExpiryResignsAndTheEpochGrows) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    std::vector<std::unique_ptr<elector_node>> nodes;
    nodes.push_back(std::make_unique<elector_node>(zk, 1));
    ASSERT_TRUE(eventually([&] { return nodes[0]->listener.active(); }));
    nodes.push_back(std::make_unique<elector_node>(zk, 2));
    ASSERT_TRUE(eventually([&] { return nodes[1]->listener.controller() == 1; }));

    ASSERT_TRUE(test_support::expire_session(zk, *nodes[0]->zk));
    ASSERT_TRUE(eventually([&] { return nodes[0]->listener.resignations() == 1; }));
    elector_node* controller = nullptr;
    ASSERT_TRUE(eventually([&] { return (controller = agreed_controller(nodes)) != nullptr; }));
    EXPECT_EQ(controller->listener.epoch(), 2);
}

TEST(ControllerElection, ReplacedControllersEpochVersionNoLongerPasses) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    std::vector<std::unique_ptr<elector_node>> nodes;
    nodes.push_back(std::make_unique<elector_node>(zk, 1));
    ASSERT_TRUE(eventually([&] { return nodes[0]->listener.active(); }));
    const int32_t fence = nodes[0]->listener.epoch_zk_version();
    nodes.push_back(std::make_unique<elector_node>(zk, 2));
    ASSERT_TRUE(nodes[1]->zk->wait_connected(10s));
    ASSERT_TRUE(nodes[0]->zk->create("/state", "by-1", create_mode::persistent).ok());

    // Broker 1 is replaced while it is not looking (its session expires).
    const int64_t old_session = nodes[0]->zk->session_id();
    ASSERT_TRUE(test_support::expire_session(zk, *nodes[0]->zk));
    ASSERT_TRUE(eventually([&] { return nodes[0]->zk->connected() && nodes[0]->zk->session_id() != old_session; }));
    ASSERT_TRUE(eventually([&] { return agreed_controller(nodes) != nullptr; }));

    // A write fenced with broker 1's old epoch version fails and changes nothing.
    const std::vector<zk_op> ops = {zk_op::check("/controller_epoch", fence), zk_op::set("/state", "stale")};
    auto r = nodes[0]->zk->multi(ops);
    EXPECT_EQ(r.code, zk_errc::bad_version);
    EXPECT_EQ(r.failed_op, 0);
    auto state = nodes[0]->zk->get("/state");
    ASSERT_TRUE(state.ok());
    EXPECT_EQ(state->data, "by-1");
}

}  // namespace
}  // namespace gregor::coordination
