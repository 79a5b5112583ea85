// Three real gregor-server processes on a real ZooKeeper, and the faults of a cluster (issue 5):
// the controller SIGKILLed (another is elected, the epoch grows); a partition leader SIGKILLed
// (with RF=1 its partition is offline until it returns, with its data); the controller stopped
// (SIGSTOP) past its session timeout and then continued (it loses the seat and writes
// nothing); ZooKeeper restarted (the brokers reconnect and the cluster is intact); a broker
// started with a live broker's id (it exits, naming the id); a topic deleted while one of its
// brokers is down and re-created (empty, a new id, no directory left behind); a broker shut
// down with SIGTERM (exit 0, its partitions offline until it returns).
//
// Sessions are 6 s. Waits for what the session timeout governs are bounded by the session
// timeout plus 5 s: a failover slower than that fails; the actual figures belong to bench/.
// The measured times are recorded as test properties (in ctest's and gtest's XML output).
#include <algorithm>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "coordination/zk_paths.h"
#include "tests/integration/cluster_test_support.h"
#include "tests/support/zookeeper_server.h"

namespace gregor::integration {
namespace {

namespace zk_paths = coordination::zk_paths;
using clock_type = std::chrono::steady_clock;
using test_support::broker_options;
using test_support::zookeeper_server;

int16_t code(errc e) { return static_cast<int16_t>(e); }

std::string name_of(int16_t c) { return errc_name(static_cast<errc>(c)); }

int64_t elapsed_ms(clock_type::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - since).count();
}

// How long a failover governed by the session timeout may take here.
std::chrono::milliseconds failover_limit(const cluster& c) { return c.session_timeout() + 5s; }

// The leader of each partition as its state znode says (-1: none, -2: no state yet).
std::map<int32_t, int32_t> leaders_in_zookeeper(cluster& c, const std::string& topic, int32_t partitions) {
    std::map<int32_t, int32_t> out;
    for (int32_t p = 0; p < partitions; ++p) {
        auto st = c.partition_state(topic, p);
        out[p] = st ? st->leader : -2;
    }
    return out;
}

// The partition of `leaders` that `broker` leads; -1 if none.
int32_t partition_led_by(const std::map<int32_t, int32_t>& leaders, int32_t broker) {
    for (const auto& [p, l] : leaders) {
        if (l == broker) return p;
    }
    return -1;
}

// The broker of `c` that is neither `a` nor `b`.
int32_t other_than(cluster& c, int32_t a, int32_t b) {
    for (int32_t id : c.ids()) {
        if (id != a && id != b) return id;
    }
    return -1;
}

// Produces `values` as one batch to the partition on broker `id`.
native::produce_response::partition produce_on(cluster& c, int32_t id, const std::string& topic, int32_t partition,
                                               const std::vector<std::string>& values) {
    raw_connection conn(c.broker(id).port());
    return produce(conn, topic, partition, make_batch(values));
}

// Every value of the partition from offset 0, fetched from broker `id` once it serves it.
std::vector<std::string> values_on(cluster& c, int32_t id, const std::string& topic, int32_t partition) {
    raw_connection conn(c.broker(id).port());
    await_served(conn, topic, partition, 20s);
    auto f = fetch(conn, topic, partition, 0);
    if (f.error_code != 0) throw std::runtime_error("fetch: " + name_of(f.error_code) + " " + f.error_message);
    return f.values();
}

// A topic of `partitions` partitions with RF=1 on the cluster; returns its leaders as
// ZooKeeper has them (empty when not every partition has one in time), after checking that
// every broker learns them (a failure, but the test goes on with ZooKeeper's answer).
std::map<int32_t, int32_t> create_spread_topic(cluster& c, const std::string& topic, int32_t partitions) {
    auto t = c.create_topic(topic, partitions, 1);
    EXPECT_EQ(t.error_code, 0) << name_of(t.error_code) << ": " << t.error_message;
    std::map<int32_t, int32_t> leaders;
    const bool led = await_condition(
        [&] {
            leaders = leaders_in_zookeeper(c, topic, partitions);
            return std::all_of(leaders.begin(), leaders.end(), [](const auto& l) { return l.second >= 0; });
        },
        15s);
    EXPECT_TRUE(led) << "not every partition of " << topic << " has a leader: " << ::testing::PrintToString(leaders);
    if (!led) return {};
    EXPECT_EQ(c.await_leaders_everywhere(topic, partitions, 15s), leaders)
        << "not every broker learnt the leaders of " << topic << " that ZooKeeper has: "
        << ::testing::PrintToString(leaders) << "\n" << c.describe(topic);
    return leaders;
}

// The last of the cluster's brokers that is not `id`.
int32_t other_than(const cluster& c, int32_t id) {
    int32_t other = -1;
    for (int32_t b : c.ids()) {
        if (b != id) other = b;
    }
    return other;
}

// Waits up to the failover limit for a controller other than `old`; -1 if none came. Records
// how long it took from `since` (the fault) as a test property.
int32_t await_replacement(cluster& c, int32_t old, clock_type::time_point since) {
    int32_t elected = -1;
    const bool replaced = await_condition(
        [&] {
            elected = c.controller_in_zookeeper();
            return elected >= 0 && elected != old;
        },
        failover_limit(c));
    ::testing::Test::RecordProperty("controller_failover_ms", std::to_string(elapsed_ms(since)));
    return replaced ? elected : -1;
}

TEST(cluster_faults, ControllerKilledAnotherBrokerIsElectedWithAHigherEpoch) {
    cluster c;
    const int32_t old = c.await_controller([](int32_t) { return true; }, 20s);
    ASSERT_GE(old, 0) << c.describe();
    const int32_t epoch = c.controller_epoch();
    ASSERT_GE(epoch, 1);

    c.kill(old);
    const int32_t elected = await_replacement(c, old, clock_type::now());
    ASSERT_GE(elected, 0) << "no new controller within " << failover_limit(c).count() << " ms of SIGKILL\n"
                          << c.describe();
    EXPECT_GT(c.controller_epoch(), epoch);

    // Every live broker names the new controller and no longer lists the dead broker.
    EXPECT_EQ(c.await_controller([&](int32_t id) { return id == elected; }, 10s), elected) << c.describe();
    const auto live = c.up_ids();
    EXPECT_TRUE(await_condition(
        [&] {
            for (int32_t id : live) {
                std::vector<int32_t> listed;
                try {
                    for (const auto& b : c.metadata_from(id, std::vector<std::string>{}).brokers) listed.push_back(b.node_id);
                } catch (const std::exception&) {
                    return false;
                }
                std::sort(listed.begin(), listed.end());
                if (listed != live) return false;
            }
            return true;
        },
        10s))
        << c.describe();

    // The new controller does its job: a topic over the two live brokers gets leaders, known
    // everywhere, and is served.
    auto leaders = create_spread_topic(c, "after-failover", 2);
    ASSERT_EQ(leaders.size(), 2u);
    for (const auto& [p, leader] : leaders) {
        EXPECT_NE(leader, old);
        auto r = produce_on(c, leader, "after-failover", p, {"v" + std::to_string(p)});
        EXPECT_EQ(r.error_code, 0) << r.error_message;
        EXPECT_EQ(values_on(c, leader, "after-failover", p), std::vector<std::string>{"v" + std::to_string(p)});
    }
}

TEST(cluster_faults, PartitionLeaderKilledItsPartitionIsOfflineUntilItReturnsWithItsData) {
    cluster c;
    const std::string topic = "spread";
    auto leaders = create_spread_topic(c, topic, 3);
    ASSERT_EQ(leaders.size(), 3u);
    std::set<int32_t> distinct;
    for (const auto& [p, l] : leaders) distinct.insert(l);
    EXPECT_EQ(distinct.size(), 3u) << "3 partitions on 3 brokers: each leads one";
    for (const auto& [p, leader] : leaders) {
        auto r = produce_on(c, leader, topic, p, {"before-" + std::to_string(p)});
        ASSERT_EQ(r.error_code, 0) << r.error_message;
    }

    // A broker that leads a partition and is not the controller (so this is not a failover).
    const int32_t controller = c.controller_in_zookeeper();
    int32_t victim = -1;
    int32_t lost = -1;
    for (const auto& [p, l] : leaders) {
        if (l != controller) {
            victim = l;
            lost = p;
        }
    }
    ASSERT_GE(victim, 0);
    const auto before = c.partition_state(topic, lost);
    ASSERT_TRUE(before.has_value());

    c.kill(victim);
    const auto killed_at = clock_type::now();
    const bool offline = c.await_leader_everywhere(topic, lost, -1, failover_limit(c));
    ::testing::Test::RecordProperty("partition_offline_ms", std::to_string(elapsed_ms(killed_at)));
    ASSERT_TRUE(offline) << topic << "-" << lost << " is not offline everywhere within " << failover_limit(c).count()
                         << " ms of its leader's SIGKILL\n" << c.describe(topic);
    auto st = c.partition_state(topic, lost);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->leader, -1);

    for (int32_t id : c.up_ids()) {
        SCOPED_TRACE("broker " + std::to_string(id));
        auto m = c.metadata_from(id, std::vector<std::string>{topic});
        ASSERT_EQ(m.topics.size(), 1u);
        for (const auto& p : m.topics[0].partitions) {
            if (p.partition == lost) {
                EXPECT_EQ(p.error_code, code(errc::leader_not_available));
            }
        }
        auto r = produce_on(c, id, topic, lost, {"nowhere"});
        EXPECT_EQ(r.error_code, code(errc::leader_not_available)) << name_of(r.error_code) << " " << r.error_message;
    }
    // The other partitions carry on.
    for (const auto& [p, leader] : leaders) {
        if (p == lost) continue;
        auto r = produce_on(c, leader, topic, p, {"during-" + std::to_string(p)});
        EXPECT_EQ(r.error_code, 0) << r.error_message;
        EXPECT_EQ(r.base_offset, 1);
        EXPECT_EQ(values_on(c, leader, topic, p),
                  (std::vector<std::string>{"before-" + std::to_string(p), "during-" + std::to_string(p)}));
    }

    c.start(victim);
    ASSERT_TRUE(c.await_leader_everywhere(topic, lost, victim, 30s)) << c.describe(topic);
    auto back = c.partition_state(topic, lost);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->leader, victim);
    EXPECT_GT(back->leader_epoch, before->leader_epoch) << "leadership came back without a new leader epoch";
    EXPECT_EQ(values_on(c, victim, topic, lost), std::vector<std::string>{"before-" + std::to_string(lost)});
    auto r = produce_on(c, victim, topic, lost, {"after"});
    EXPECT_EQ(r.error_code, 0) << r.error_message;
    EXPECT_EQ(r.base_offset, 1);
}

TEST(cluster_faults, ControllerPausedPastItsSessionLosesTheSeatAndWritesNothing) {
    cluster c;
    const std::string topic = "fenced";
    ASSERT_EQ(c.create_topic(topic, 3, 1).error_code, 0);
    auto leaders = leaders_in_zookeeper(c, topic, 3);
    const int32_t old = c.await_controller([](int32_t) { return true; }, 20s);
    ASSERT_GE(old, 0) << c.describe();
    const int32_t old_epoch = c.controller_epoch();
    const int32_t old_partition = partition_led_by(leaders, old);
    ASSERT_GE(old_partition, 0) << ::testing::PrintToString(leaders);

    c.pause(old);
    const int32_t elected = await_replacement(c, old, clock_type::now());
    ASSERT_GE(elected, 0) << "no new controller within " << failover_limit(c).count() << " ms of SIGSTOP\n"
                          << c.describe(topic);
    const int32_t epoch = c.controller_epoch();
    EXPECT_GT(epoch, old_epoch);
    // The new controller has taken the paused broker's partition offline.
    ASSERT_TRUE(await_condition(
        [&] {
            auto st = c.partition_state(topic, old_partition);
            return st && st->leader == -1 && st->controller_epoch == epoch;
        },
        10s))
        << c.describe(topic);
    EXPECT_EQ(c.await_controller([&](int32_t id) { return id == elected; }, 10s), elected) << c.describe(topic);

    // What ZooKeeper holds before the old controller runs again.
    std::map<int32_t, coordination::zk_node> snapshot;
    for (int32_t p = 0; p < 3; ++p) {
        auto node = c.zk().zk().get(zk_paths::partition_state_path(topic, p));
        ASSERT_TRUE(node.ok());
        snapshot[p] = *node;
    }
    const size_t seen = c.broker(old).output_since_start().size();
    c.resume(old);

    // It notices it lost the seat ...
    std::string said;
    EXPECT_TRUE(await_condition(
        [&] {
            said = c.broker(old).output_since_start().substr(seen);
            for (const char* line : {"resigned as controller", "lost the controller seat", "is fenced"}) {
                if (said.find(line) != std::string::npos) return true;
            }
            return false;
        },
        20s))
        << "broker " << old << " did not say it lost the controller seat; since SIGCONT it said:\n" << said;
    // ... and comes back as an ordinary broker: registered again, naming the new controller,
    // leading its partition again (the new controller's doing).
    ASSERT_TRUE(await_condition([&] { return c.registered_ids().contains(old); }, 20s)) << c.describe(topic);
    EXPECT_EQ(c.await_controller([&](int32_t id) { return id == elected; }, 20s), elected) << c.describe(topic);
    EXPECT_TRUE(await_condition(
        [&] {
            auto st = c.partition_state(topic, old_partition);
            return st && st->leader == old;
        },
        20s))
        << c.describe(topic);

    // Nothing the old controller could have written: the seat and the epoch are the new
    // controller's, and every state znode changed since SIGCONT carries the new epoch.
    EXPECT_EQ(c.controller_in_zookeeper(), elected);
    EXPECT_EQ(c.controller_epoch(), epoch);
    for (int32_t p = 0; p < 3; ++p) {
        SCOPED_TRACE(topic + "-" + std::to_string(p));
        auto node = c.zk().zk().get(zk_paths::partition_state_path(topic, p));
        ASSERT_TRUE(node.ok());
        auto st = zk_paths::decode_partition_state(node->data, node->stat.version);
        ASSERT_TRUE(st.ok());
        EXPECT_LE(st->controller_epoch, epoch);
        if (node->stat.version != snapshot[p].stat.version) {
            EXPECT_EQ(st->controller_epoch, epoch) << "changed after SIGCONT by a controller of another epoch: "
                                                   << snapshot[p].data << " -> " << node->data;
        } else {
            EXPECT_EQ(node->data, snapshot[p].data);
        }
    }

    // The next fault is the new controller's to handle, and every broker hears of it.
    const int32_t third = other_than(c, old, elected);
    const int32_t third_partition = partition_led_by(leaders, third);
    ASSERT_GE(third_partition, 0);
    c.kill(third);
    EXPECT_TRUE(await_condition(
        [&] {
            auto st = c.partition_state(topic, third_partition);
            return st && st->leader == -1;
        },
        failover_limit(c)))
        << c.describe(topic);
    auto st = c.partition_state(topic, third_partition);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->controller_epoch, epoch);
    EXPECT_TRUE(c.await_leader_everywhere(topic, third_partition, -1, 10s)) << c.describe(topic);
    EXPECT_EQ(c.controller_in_zookeeper(), elected);
    EXPECT_EQ(c.controller_epoch(), epoch);
}

TEST(cluster_faults, ZookeeperRestartedTheBrokersReconnectAndTheClusterIsIntact) {
    zookeeper_server zk;
    cluster_options o;
    o.zookeeper_connect = zk.connect_string() + "/restarted";
    cluster c(o);
    const std::string topic = "kept";
    auto leaders = create_spread_topic(c, topic, 3);
    ASSERT_EQ(leaders.size(), 3u);
    for (const auto& [p, leader] : leaders) {
        auto r = produce_on(c, leader, topic, p, {"before-" + std::to_string(p)});
        ASSERT_EQ(r.error_code, 0) << r.error_message;
    }

    std::map<int32_t, size_t> seen;  // how much each broker had said before the outage
    for (int32_t id : c.ids()) seen[id] = c.broker(id).output_since_start().size();
    zk.stop();
    for (int32_t id : c.ids()) {
        EXPECT_TRUE(c.broker(id).wait_for_output("Disconnected from ZooKeeper", 20s))
            << "broker " << id << " did not notice ZooKeeper going away";
    }
    zk.restart();

    // Each broker reconnects: to its session if ZooKeeper kept it, else to a new one (and then
    // registers again). Until then its own ZooKeeper calls fail, so wait for it before asking
    // anything of the controller.
    for (int32_t id : c.ids()) {
        std::string said;
        EXPECT_TRUE(await_condition(
            [&] {
                said = c.broker(id).output_since_start().substr(seen[id]);
                return said.find("Reconnected to ZooKeeper") != std::string::npos ||
                       said.find("Connected to ZooKeeper") != std::string::npos;
            },
            30s))
            << "broker " << id << " did not reconnect to ZooKeeper; since the outage it said:\n" << said;
    }
    ASSERT_TRUE(await_condition(
        [&] {
            auto ids = c.ids();
            return c.registered_ids() == std::set<int32_t>(ids.begin(), ids.end());
        },
        30s))
        << c.describe(topic);
    EXPECT_GE(c.await_controller([](int32_t) { return true; }, 30s), 0) << c.describe(topic);
    EXPECT_EQ(leaders_in_zookeeper(c, topic, 3), leaders);
    EXPECT_EQ(c.await_leaders_everywhere(topic, 3, 20s), leaders) << c.describe(topic);
    for (const auto& [p, leader] : leaders) {
        auto r = produce_on(c, leader, topic, p, {"after-" + std::to_string(p)});
        EXPECT_EQ(r.error_code, 0) << r.error_message;
        EXPECT_EQ(values_on(c, leader, topic, p),
                  (std::vector<std::string>{"before-" + std::to_string(p), "after-" + std::to_string(p)}));
    }
    // The controller still works.
    auto more = create_spread_topic(c, "after-restart", 3);
    EXPECT_EQ(more.size(), 3u);
}

TEST(cluster_faults, BrokerStartedWithARegisteredIdExitsNamingTheId) {
    cluster c;
    const std::string topic = "owned";
    auto leaders = create_spread_topic(c, topic, 3);
    ASSERT_EQ(leaders.size(), 3u);
    const int32_t controller = c.controller_in_zookeeper();
    const int32_t taken = other_than(c, controller);
    const int32_t partition = partition_led_by(leaders, taken);
    ASSERT_GE(partition, 0);
    auto registration = c.zk().zk().get(zk_paths::broker_path(taken));
    ASSERT_TRUE(registration.ok());

    broker_options o;
    o.broker_id = taken;
    o.zookeeper_connect = c.zookeeper_connect();
    o.properties = {{"zookeeper.session.timeout.ms", std::to_string(c.session_timeout().count())}};
    broker_process impostor(o, broker_process::ready_level::started);
    const auto exit_code = impostor.wait_exit(c.session_timeout() + 10s);
    ASSERT_TRUE(exit_code.has_value()) << "a second broker " << taken << " still runs after "
                                       << (c.session_timeout() + 10s).count() << " ms:\n"
                                       << impostor.output_since_start();
    EXPECT_NE(*exit_code, 0);
    const std::string said = impostor.output_since_start();
    EXPECT_NE(said.find("broker.id " + std::to_string(taken) + " is already registered by another broker"),
              std::string::npos)
        << said;

    // The first broker keeps its registration and its partition, and everyone still sends
    // clients to it.
    auto now = c.zk().zk().get(zk_paths::broker_path(taken));
    ASSERT_TRUE(now.ok());
    EXPECT_EQ(now->stat.ephemeral_owner, registration->stat.ephemeral_owner);
    EXPECT_EQ(now->data, registration->data);
    EXPECT_TRUE(c.broker(taken).running());
    for (int32_t id : c.up_ids()) {
        auto m = c.metadata_from(id);
        EXPECT_EQ(m.controller_id, controller);
        for (const auto& b : m.brokers) {
            if (b.node_id == taken) {
                EXPECT_EQ(b.port, c.broker(taken).port()) << "in broker " << id << "'s Metadata";
            }
        }
    }
    auto r = produce_on(c, taken, topic, partition, {"still mine"});
    EXPECT_EQ(r.error_code, 0) << r.error_message;
    EXPECT_EQ(values_on(c, taken, topic, partition), std::vector<std::string>{"still mine"});
}

TEST(cluster_faults, TopicDeletedWhileABrokerIsDownIsGoneEverywhereAndRecreatedEmpty) {
    cluster c;
    const std::string topic = "recycled";
    auto leaders = create_spread_topic(c, topic, 3);
    ASSERT_EQ(leaders.size(), 3u);
    for (const auto& [p, leader] : leaders) {
        auto r = produce_on(c, leader, topic, p, {"old-" + std::to_string(p), "old-" + std::to_string(p) + "b"});
        ASSERT_EQ(r.error_code, 0) << r.error_message;
    }
    const std::string old_id = c.metadata_from(c.ids().front(), std::vector<std::string>{topic}).topics.at(0).topic_id;
    ASSERT_FALSE(old_id.empty());
    for (const auto& [p, leader] : leaders) {
        ASSERT_EQ(topic_dirs(c.broker(leader).log_dir(), topic),
                  std::vector<std::string>{topic + "-" + std::to_string(p)});
    }

    // A broker hosting a partition goes down, and the cluster knows it before the deletion.
    const int32_t controller = c.controller_in_zookeeper();
    const int32_t down = other_than(c, controller);
    c.kill(down);
    ASSERT_TRUE(await_condition([&] { return !c.registered_ids().contains(down); }, failover_limit(c)));
    ASSERT_TRUE(c.await_leader_everywhere(topic, partition_led_by(leaders, down), -1, 10s)) << c.describe(topic);

    auto deleted = c.delete_topic(topic);
    EXPECT_EQ(deleted.error_code, 0) << name_of(deleted.error_code) << ": " << deleted.error_message;
    for (int32_t id : c.up_ids()) {
        EXPECT_TRUE(await_condition([&] { return topic_dirs(c.broker(id).log_dir(), topic).empty(); }, 15s))
            << "broker " << id << " keeps " << ::testing::PrintToString(topic_dirs(c.broker(id).log_dir(), topic));
        EXPECT_TRUE(await_condition(
            [&] {
                auto m = c.metadata_from(id, std::vector<std::string>{topic});
                return m.topics.size() == 1 && m.topics[0].error_code == code(errc::unknown_topic_or_partition);
            },
            10s))
            << c.describe(topic);
    }
    // Not done while a broker that hosts it is away, and the name is not free meanwhile (a new
    // topic could otherwise meet the old one's log on the returning broker).
    EXPECT_TRUE(c.exists(zk_paths::delete_topic_path(topic)));
    EXPECT_FALSE(topic_dirs(c.broker(down).log_dir(), topic).empty());
    auto early = c.create_topic(topic, 3, 1);
    EXPECT_EQ(early.error_code, code(errc::topic_already_exists)) << name_of(early.error_code) << ": " << early.error_message;

    c.start(down);
    EXPECT_TRUE(await_condition([&] { return topic_dirs(c.broker(down).log_dir(), topic).empty(); }, 20s))
        << "broker " << down << " keeps " << ::testing::PrintToString(topic_dirs(c.broker(down).log_dir(), topic));
    EXPECT_TRUE(await_condition(
        [&] { return !c.exists(zk_paths::delete_topic_path(topic)) && !c.exists(zk_paths::topic_path(topic)); }, 20s))
        << "the deletion of " << topic << " did not complete after broker " << down << " returned";

    // The same name again: a new topic, empty everywhere.
    auto fresh = create_spread_topic(c, topic, 3);
    ASSERT_EQ(fresh.size(), 3u);
    for (int32_t id : c.up_ids()) {
        auto m = c.metadata_from(id, std::vector<std::string>{topic});
        ASSERT_EQ(m.topics.size(), 1u);
        EXPECT_FALSE(m.topics[0].topic_id.empty());
        EXPECT_NE(m.topics[0].topic_id, old_id) << "broker " << id << " reports the deleted topic's id";
    }
    for (const auto& [p, leader] : fresh) {
        SCOPED_TRACE(topic + "-" + std::to_string(p) + " on broker " + std::to_string(leader));
        raw_connection conn(c.broker(leader).port());
        await_served(conn, topic, p, 20s);
        EXPECT_EQ(list_offset(conn, topic, p, native::kLatestTimestamp).offset, 0);
        EXPECT_EQ(list_offset(conn, topic, p, native::kEarliestTimestamp).offset, 0);
        auto empty = fetch(conn, topic, p, 0);
        EXPECT_EQ(empty.error_code, 0) << empty.error_message;
        EXPECT_EQ(empty.high_watermark, 0);
        EXPECT_TRUE(empty.batches.empty());
        auto r = produce(conn, topic, p, make_batch({"new-" + std::to_string(p)}));
        EXPECT_EQ(r.error_code, 0) << r.error_message;
        EXPECT_EQ(r.base_offset, 0);
        EXPECT_EQ(fetch(conn, topic, p, 0).values(), std::vector<std::string>{"new-" + std::to_string(p)});
    }
}

TEST(cluster_faults, SigtermTakesTheBrokersPartitionsOfflineUntilItReturns) {
    cluster c;
    const std::string topic = "graceful";
    auto leaders = create_spread_topic(c, topic, 3);
    ASSERT_EQ(leaders.size(), 3u);
    for (const auto& [p, leader] : leaders) {
        ASSERT_EQ(produce_on(c, leader, topic, p, {"before-" + std::to_string(p)}).error_code, 0);
    }
    const int32_t controller = c.controller_in_zookeeper();
    const int32_t leaving = other_than(c, controller);
    const int32_t partition = partition_led_by(leaders, leaving);
    ASSERT_GE(partition, 0);

    const size_t controller_seen = c.broker(controller).output_since_start().size();
    EXPECT_EQ(c.terminate(leaving), 0);
    const auto stopped_at = clock_type::now();
    // A clean exit ends the session at once: no wait for its expiry.
    const bool offline = c.await_leader_everywhere(topic, partition, -1, c.session_timeout() / 2);
    ::testing::Test::RecordProperty("partition_offline_after_sigterm_ms", std::to_string(elapsed_ms(stopped_at)));
    EXPECT_TRUE(offline) << c.describe(topic);
    auto st = c.partition_state(topic, partition);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->leader, -1);
    EXPECT_NE(c.broker(controller).output_since_start().substr(controller_seen).find("asks for a controlled shutdown"),
              std::string::npos)
        << "broker " << leaving << " did not ask the controller for a controlled shutdown";
    for (const auto& [p, leader] : leaders) {
        if (p == partition) continue;
        EXPECT_EQ(produce_on(c, leader, topic, p, {"during"}).error_code, 0);
    }

    c.start(leaving);
    ASSERT_TRUE(c.await_leader_everywhere(topic, partition, leaving, 30s)) << c.describe(topic);
    EXPECT_EQ(values_on(c, leaving, topic, partition), std::vector<std::string>{"before-" + std::to_string(partition)});
}

}  // namespace
}  // namespace gregor::integration
