// zk_client against a real ZooKeeper: the blocking calls and their error values, watches,
// multi with a failing version check, chroot creation, an ensemble that is down at start,
// session expiry (a new session, listeners told) and a server restart (the same session kept).
#include <gtest/gtest.h>

#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <mutex>

#include "common/logger.h"
#include "coordination/coordination_thread.h"
#include "coordination/zk_client.h"
#include "tests/support/shared_zookeeper.h"
#include "tests/support/zookeeper_server.h"

namespace gregor::coordination {
namespace {

using namespace std::chrono_literals;
using test_support::eventually;
using test_support::zookeeper_server;

// Records what a client tells its session listeners.
class recording_listener : public session_listener {
public:
    void on_session_expired() override {
        std::lock_guard lock(mu_);
        events_.push_back("expired");
    }
    void on_session_established(bool new_session) override {
        std::lock_guard lock(mu_);
        events_.push_back(new_session ? "new" : "same");
    }
    std::vector<std::string> events() const {
        std::lock_guard lock(mu_);
        return events_;
    }
    size_t count(const std::string& e) const {
        auto all = events();
        return static_cast<size_t>(std::count(all.begin(), all.end(), e));
    }

private:
    mutable std::mutex mu_;
    std::vector<std::string> events_;
};

zk_client_config config_for(const std::string& connect) {
    zk_client_config c;
    c.connect = connect;
    c.session_timeout = 6s;
    c.unreachable_log_interval = 200ms;
    return c;
}

// Tests that leave ZooKeeper running share the ctest run's server, each in its own chroot.
class ZkClient : public ::testing::Test {
protected:
    void SetUp() override {
        client_ = std::make_unique<zk_client>(config_for(zk_), thread_.poster());
        client_->add_session_listener(&listener_);
        client_->start();
        ASSERT_TRUE(client_->wait_connected(10s));
    }

    // Destroyed bottom-up: the client, then the thread (joined), then what it called.
    const std::string zk_ = test_support::shared_zookeeper::isolated_connect();
    recording_listener listener_;
    coordination_thread thread_;
    std::unique_ptr<zk_client> client_;
};

TEST_F(ZkClient, BasicOperationsReturnZooKeeperOutcomesAsValues) {
    zk_client& c = *client_;
    auto created = c.create("/a", "one", create_mode::persistent);
    ASSERT_TRUE(created.ok()) << created.status().message();
    EXPECT_EQ(*created, "/a");
    EXPECT_EQ(c.create("/a", "again", create_mode::persistent).code(), zk_errc::node_exists);
    EXPECT_EQ(c.create("/missing/child", "", create_mode::persistent).code(), zk_errc::no_node);

    auto node = c.get("/a");
    ASSERT_TRUE(node.ok());
    EXPECT_EQ(node->data, "one");
    EXPECT_EQ(node->stat.version, 0);
    EXPECT_EQ(node->stat.ephemeral_owner, 0);

    auto stat = c.set("/a", "two", 0);
    ASSERT_TRUE(stat.ok());
    EXPECT_EQ(stat->version, 1);
    EXPECT_EQ(c.set("/a", "stale", 0).code(), zk_errc::bad_version);
    EXPECT_EQ(c.get("/a")->data, "two");

    ASSERT_TRUE(c.create("/a/b", "", create_mode::persistent).ok());
    ASSERT_TRUE(c.create("/a/c", "", create_mode::persistent).ok());
    auto kids = c.get_children("/a");
    ASSERT_TRUE(kids.ok());
    std::sort(kids->begin(), kids->end());
    EXPECT_EQ(*kids, (std::vector<std::string>{"b", "c"}));
    EXPECT_EQ(c.remove("/a").code(), zk_errc::not_empty);

    auto tree = c.subtree("/a");
    ASSERT_TRUE(tree.ok());
    ASSERT_EQ(tree->size(), 3u);
    EXPECT_EQ(tree->back(), "/a");
    for (const auto& p : *tree) ASSERT_TRUE(c.remove(p).ok()) << p;

    auto gone = c.exists("/a");
    ASSERT_TRUE(gone.ok());
    EXPECT_FALSE(gone->has_value());
    EXPECT_EQ(c.get("/a").code(), zk_errc::no_node);
    EXPECT_EQ(c.remove("/a").code(), zk_errc::no_node);
    EXPECT_TRUE(c.subtree("/a")->empty());
}

TEST_F(ZkClient, CreateParentsAndEnsurePath) {
    zk_client& c = *client_;
    ASSERT_TRUE(c.create("/x/y/z", "leaf", create_mode::persistent, /*create_parents=*/true).ok());
    EXPECT_EQ(c.get("/x/y/z")->data, "leaf");
    EXPECT_TRUE(c.ensure_path("/x/y/z").ok());  // already there
    EXPECT_TRUE(c.ensure_path("/p/q").ok());
    EXPECT_TRUE(c.exists("/p/q")->has_value());
}

TEST_F(ZkClient, EphemeralBelongsToTheSessionAndSequentialGetsASuffix) {
    zk_client& c = *client_;
    ASSERT_TRUE(c.create("/e", "", create_mode::ephemeral).ok());
    EXPECT_EQ(c.get("/e")->stat.ephemeral_owner, c.session_id());
    EXPECT_NE(c.session_id(), 0);

    ASSERT_TRUE(c.ensure_path("/seq").ok());
    auto first = c.create("/seq/item_", "", create_mode::persistent_sequential);
    auto second = c.create("/seq/item_", "", create_mode::persistent_sequential);
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_EQ(*first, "/seq/item_0000000000");
    EXPECT_EQ(*second, "/seq/item_0000000001");

    // Another session sees the ephemeral vanish when this one closes.
    coordination_thread other_thread;
    zk_client other(config_for(zk_), other_thread.poster());
    other.start();
    ASSERT_TRUE(other.wait_connected(10s));
    EXPECT_TRUE(other.exists("/e")->has_value());
    client_->close();
    EXPECT_FALSE(other.exists("/e")->has_value());
    EXPECT_EQ(client_->get("/seq").code(), zk_errc::closing);  // calls after close() fail at once
}

TEST_F(ZkClient, WatchesFireOnceOnTheCoordinationThread) {
    zk_client& c = *client_;
    std::mutex mu;
    std::vector<std::string> seen;
    auto record = [&](const watch_event& e) {
        EXPECT_TRUE(thread_.in_this_thread());
        static const char* names[] = {"created", "deleted", "data_changed", "children_changed"};
        std::lock_guard lock(mu);
        seen.push_back(e.path + " " + names[static_cast<int>(e.type)]);
    };
    auto seen_now = [&] {
        std::lock_guard lock(mu);
        return seen;
    };
    const auto w1 = c.watch("/w", record);
    const auto w2 = c.watch("/w/kid", record);

    ASSERT_TRUE(c.exists("/w", /*watch=*/true).ok());  // arms a creation watch
    ASSERT_TRUE(c.create("/w", "", create_mode::persistent).ok());
    ASSERT_TRUE(eventually([&] { return seen_now().size() == 1; }));
    EXPECT_EQ(seen_now()[0], "/w created");

    ASSERT_TRUE(c.get("/w", true).ok());
    ASSERT_TRUE(c.set("/w", "v1").ok());
    ASSERT_TRUE(c.set("/w", "v2").ok());  // one-shot: the watch was not re-armed
    ASSERT_TRUE(c.get_children("/w", true).ok());
    ASSERT_TRUE(c.create("/w/kid", "", create_mode::persistent).ok());
    ASSERT_TRUE(eventually([&] { return seen_now().size() == 3; }));
    EXPECT_EQ(seen_now()[1], "/w data_changed");
    EXPECT_EQ(seen_now()[2], "/w children_changed");

    ASSERT_TRUE(c.get("/w/kid", true).ok());
    ASSERT_TRUE(c.remove("/w/kid").ok());
    ASSERT_TRUE(eventually([&] { return seen_now().size() == 4; }));
    EXPECT_EQ(seen_now()[3], "/w/kid deleted");
    // `record` refers to locals of this test; the client outlives them.
    c.unwatch(w1);
    c.unwatch(w2);
}

TEST_F(ZkClient, MultiCommitsAllOrNothing) {
    zk_client& c = *client_;
    ASSERT_TRUE(c.create("/fence", "1", create_mode::persistent).ok());
    ASSERT_TRUE(c.create("/state", "old", create_mode::persistent).ok());
    ASSERT_TRUE(c.set("/fence", "2").ok());  // version 1 now

    // A stale fence version: nothing is written, and the result names op 0.
    const std::vector<zk_op> stale = {zk_op::check("/fence", 0), zk_op::set("/state", "new"),
                                      zk_op::create("/made", "x")};
    auto failed = c.multi(stale);
    EXPECT_FALSE(failed.ok());
    EXPECT_EQ(failed.code, zk_errc::bad_version);
    EXPECT_EQ(failed.failed_op, 0);
    EXPECT_EQ(c.get("/state")->data, "old");
    EXPECT_FALSE(c.exists("/made")->has_value());

    // A failure in a later op names that op.
    const std::vector<zk_op> exists_already = {zk_op::check("/fence", 1), zk_op::create("/state", "")};
    auto second = c.multi(exists_already);
    EXPECT_EQ(second.code, zk_errc::node_exists);
    EXPECT_EQ(second.failed_op, 1);

    const std::vector<zk_op> good = {zk_op::check("/fence", 1), zk_op::set("/state", "new", 0),
                                     zk_op::create("/made_", "x", create_mode::persistent_sequential),
                                     zk_op::remove("/fence", 1)};
    auto ok = c.multi(good);
    ASSERT_TRUE(ok.ok()) << ok.message;
    ASSERT_EQ(ok.results.size(), 4u);
    EXPECT_EQ(ok.results[1].stat.version, 1);
    // The suffix is the parent's child-change counter, ten digits.
    EXPECT_EQ(ok.results[2].created_path.rfind("/made_", 0), 0u);
    EXPECT_EQ(ok.results[2].created_path.size(), std::string("/made_0000000000").size());
    EXPECT_EQ(c.get("/state")->data, "new");
    EXPECT_FALSE(c.exists("/fence")->has_value());
}

TEST(ZkClientChroot, MissingChrootIsCreated) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    coordination_thread thread;
    zk_client rooted(config_for(zk + "/gregor/cluster-a"), thread.poster());
    rooted.start();
    ASSERT_TRUE(rooted.wait_connected(10s));
    ASSERT_TRUE(rooted.create("/inside", "x", create_mode::persistent).ok());

    zk_client root(config_for(zk), thread.poster());
    root.start();
    ASSERT_TRUE(root.wait_connected(10s));
    auto node = root.get("/gregor/cluster-a/inside");
    ASSERT_TRUE(node.ok()) << node.status().message();
    EXPECT_EQ(node->data, "x");
}

TEST(ZkClientUnreachable, KeepsRetryingUntilZooKeeperStartsAndSaysSo) {
    zookeeper_server zk;  // its own: this test stops and starts it
    zk.stop();
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    logging::get("zookeeper")->sinks().push_back(sink);

    recording_listener listener;
    coordination_thread thread;
    zk_client c(config_for(zk.connect_string() + "/chrooted"), thread.poster());
    c.add_session_listener(&listener);
    c.start();
    auto said_unreachable = [&] {
        for (const auto& line : sink->last_formatted()) {
            if (line.find("ZooKeeper at 127.0.0.1:" + std::to_string(zk.port()) +
                          " is not reachable; retrying") != std::string::npos) {
                return true;
            }
        }
        return false;
    };
    ASSERT_TRUE(eventually(said_unreachable, 10s));
    EXPECT_FALSE(c.connected());

    zk.restart();
    ASSERT_TRUE(c.wait_connected(15s));
    ASSERT_TRUE(eventually([&] { return listener.count("new") == 1; }));
    EXPECT_TRUE(c.create("/ok", "", create_mode::persistent).ok());
    logging::get("zookeeper")->sinks().pop_back();
}

TEST_F(ZkClient, ExpiredSessionIsReplacedAndListenersAreTold) {
    zk_client& c = *client_;
    ASSERT_TRUE(eventually([&] { return listener_.count("new") == 1; }));
    ASSERT_TRUE(c.create("/mine", "", create_mode::ephemeral).ok());
    const int64_t old_session = c.session_id();
    auto creds = c.credentials();
    ASSERT_TRUE(creds.has_value());

    ASSERT_TRUE(test_support::expire_session(zk_, c));
    ASSERT_TRUE(eventually([&] { return listener_.count("expired") == 1 && listener_.count("new") == 2; }));
    EXPECT_TRUE(c.connected());
    EXPECT_NE(c.session_id(), old_session);
    EXPECT_FALSE(c.exists("/mine")->has_value());  // the old session's ephemeral went with it
    EXPECT_TRUE(c.create("/mine", "", create_mode::ephemeral).ok());
}

TEST(ZkClientRestart, ServerRestartKeepsTheSession) {
    zookeeper_server zk;  // its own: this test restarts it
    recording_listener listener;
    coordination_thread thread;
    zk_client c(config_for(zk.connect_string()), thread.poster());
    c.add_session_listener(&listener);
    c.start();
    ASSERT_TRUE(c.wait_connected(10s));
    ASSERT_TRUE(c.create("/mine", "", create_mode::ephemeral).ok());
    const int64_t session = c.session_id();
    zk.restart();
    ASSERT_TRUE(eventually([&] { return listener.count("same") == 1; }, 15s));
    EXPECT_EQ(c.session_id(), session);
    auto node = c.get("/mine");
    ASSERT_TRUE(node.ok()) << node.status().message();
    EXPECT_EQ(node->stat.ephemeral_owner, session);
}

}  // namespace
}  // namespace gregor::coordination
