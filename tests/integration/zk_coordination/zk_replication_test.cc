// Coordination for replication against a real ZooKeeper, brokers in one process with a
// recording channel: a leader's own ISR writes (the znode, the notification, the controller's
// UpdateMetadata, conflicts with the controller's writes, retried writes), unclean leader
// election with the broker's setting and a topic's override, and partition reassignment from
// the request to StopReplica, with bad requests and a controller failover midway. The tests
// play the leaders' part: they call update_isr as a leader does once followers catch up.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/zk_coordination/zk_cluster.h"

namespace gregor::coordination {
namespace {

using namespace std::chrono_literals;
using test::broker_node;
using test::observer;
using test_support::eventually;

broker_node* node_with_id(const std::vector<broker_node*>& nodes, int32_t id) {
    for (auto* n : nodes) {
        if (n->id() == id) return n;
    }
    return nullptr;
}

// The partition as the controller last sent it to `broker` in a LeaderAndIsr.
std::optional<partition_info> last_leader_and_isr(const test::recording_channel& ch, int32_t broker,
                                                  const topic_partition& tp) {
    std::optional<partition_info> out;
    for (const auto& [b, r] : ch.leader_and_isr_calls()) {
        if (b != broker) continue;
        for (const auto& p : r.partitions) {
            if (p.tp == tp) out = p;
        }
    }
    return out;
}

// True once every one of `brokers` was sent metadata for `tp` with this ISR and znode version.
bool metadata_reached(const test::recording_channel& ch, const std::vector<int32_t>& brokers,
                      const topic_partition& tp, const std::vector<int32_t>& isr, int32_t zk_version) {
    for (const auto& [targets, u] : ch.update_metadata_calls()) {
        if (targets != brokers) continue;
        for (const auto& p : u.partitions) {
            if (p.tp == tp && p.state.isr == isr && p.state.zk_version == zk_version) return true;
        }
    }
    return false;
}

new_topic assigned(const std::string& name, replica_map assignment, topic_config config = {}) {
    return new_topic{.name = name, .partitions = -1, .replication_factor = -1, .assignment = std::move(assignment),
                     .config = std::move(config)};
}

TEST(IsrUpdate, LeaderWriteReachesTheZnodeAndEveryBrokersMetadata) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2);
    broker_node* ctl = test::await_controller({&a, &b});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return ctl->listener().live().size() == 2; }));
    ASSERT_TRUE(ctl->create_topics({assigned("isr", {{0, {1, 2}}})}).at(0).error.ok());
    observer o(zk);
    const topic_partition tp{"isr", 0};

    // Broker 2 fell behind: leader 1 shrinks the ISR with the state its LeaderAndIsr gave it.
    auto given = last_leader_and_isr(ctl->channel(), 1, tp);
    ASSERT_TRUE(given.has_value());
    partition_state shrunk = given->state;
    shrunk.isr = {1};
    auto version = a.update_isr(tp, shrunk);
    ASSERT_TRUE(version.ok()) << version.error().message;
    EXPECT_EQ(*version, given->state.zk_version + 1);
    auto written = o.zk().get(zk_paths::partition_state_path("isr", 0));
    ASSERT_TRUE(written.ok());
    EXPECT_EQ(written->stat.version, *version);
    EXPECT_EQ(nlohmann::json::parse(written->data),
              nlohmann::json::parse(R"({"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]})"));

    // The controller hears of it, tells every live broker, and keeps the new znode version.
    EXPECT_TRUE(eventually([&] { return metadata_reached(ctl->channel(), {1, 2}, tp, {1}, *version); }));
    EXPECT_TRUE(eventually([&] { return o.zk().get_children("/isr_change_notification")->empty(); }));

    // Caught up again: the leader expands the ISR from the version it now holds.
    partition_state expanded = shrunk;
    expanded.zk_version = *version;
    expanded.isr = {1, 2};
    auto again = a.update_isr(tp, expanded);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_TRUE(eventually([&] { return metadata_reached(ctl->channel(), {1, 2}, tp, {1, 2}, *again); }));
}

TEST(IsrUpdate, ControllersWriteWinsAndTheLeaderGetsInvalidUpdateVersion) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2), c(zk, 3);
    broker_node* ctl = test::await_controller({&a, &b, &c});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return ctl->listener().live().size() == 3; }));
    ASSERT_TRUE(ctl->create_topics({assigned("race", {{0, {1, 2, 3}}})}).at(0).error.ok());
    observer o(zk);
    const topic_partition tp{"race", 0};
    const partition_state known = *o.state("race", 0);

    // The controller moves first: broker 3 shuts down and leaves the ISR.
    ASSERT_TRUE(ctl->controlled_shutdown(3).ok());
    const partition_state controllers = *o.state("race", 0);
    ASSERT_EQ(controllers.isr, (std::vector<int32_t>{1, 2}));

    // The leader, still on the version it knew, drops broker 2.
    partition_state stale = known;
    stale.isr = {1, 3};
    auto refused = a.update_isr(tp, stale);
    EXPECT_EQ(refused.code(), errc::invalid_update_version);
    EXPECT_EQ(*o.state("race", 0), controllers);

    // With the state of the controller's LeaderAndIsr, the leader's write goes through.
    ASSERT_TRUE(eventually([&] {
        auto given = last_leader_and_isr(ctl->channel(), 1, tp);
        return given && given->state.zk_version == controllers.zk_version;
    }));
    partition_state fresh = last_leader_and_isr(ctl->channel(), 1, tp)->state;
    fresh.isr = {1};
    auto accepted = a.update_isr(tp, fresh);
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ(o.state("race", 0)->isr, std::vector<int32_t>{1});
    EXPECT_EQ(o.state("race", 0)->leader_epoch, controllers.leader_epoch);
}

TEST(IsrUpdate, RetriedWriteThatWentThroughAnswersItsVersion) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2);
    broker_node* ctl = test::await_controller({&a, &b});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return ctl->listener().live().size() == 2; }));
    ASSERT_TRUE(ctl->create_topics({assigned("retry", {{0, {1, 2}}})}).at(0).error.ok());
    observer o(zk);
    const topic_partition tp{"retry", 0};

    partition_state wanted = *o.state("retry", 0);
    wanted.isr = {1};
    auto first = a.update_isr(tp, wanted);
    ASSERT_TRUE(first.ok()) << first.error().message;
    // As after a connection loss that hid the first answer: the same write again.
    auto second = a.update_isr(tp, wanted);
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_EQ(*second, *first);

    partition_state other = wanted;
    other.isr = {1, 2};
    EXPECT_EQ(a.update_isr(tp, other).code(), errc::invalid_update_version);
    EXPECT_EQ(b.update_isr(tp, wanted).code(), errc::invalid_request);  // not the leader
    EXPECT_EQ(a.update_isr({"missing", 0}, wanted).code(), errc::unknown_topic_or_partition);
}

// Two brokers; `victim` leads "<topic>" alone in its ISR and dies; the survivor is controller.
struct unclean_setup {
    std::unique_ptr<broker_node> a, b;
    broker_node* ctl = nullptr;
    broker_node* victim = nullptr;
};

void lose_the_only_in_sync_replica(const std::string& zk, const controller_config& cc,
                                   const std::vector<new_topic>& topics_led_by_victim, unclean_setup& s) {
    s.a = std::make_unique<broker_node>(zk, 1, cc);
    s.b = std::make_unique<broker_node>(zk, 2, cc);
    s.ctl = test::await_controller({s.a.get(), s.b.get()});
    ASSERT_NE(s.ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return s.ctl->listener().live().size() == 2; }));
    s.victim = s.ctl == s.a.get() ? s.b.get() : s.a.get();
    observer o(zk);
    for (new_topic t : topics_led_by_victim) {
        t.assignment = {{0, {s.victim->id(), s.ctl->id()}}};
        ASSERT_TRUE(s.ctl->create_topics({t}).at(0).error.ok());
        partition_state alone = *o.state(t.name, 0);
        alone.isr = {s.victim->id()};
        auto v = s.victim->update_isr({t.name, 0}, alone);
        ASSERT_TRUE(v.ok()) << v.error().message;
        ASSERT_TRUE(eventually([&] {
            return metadata_reached(s.ctl->channel(), {1, 2}, {t.name, 0}, {s.victim->id()}, *v);
        }));
    }
    s.victim->stop();
}

TEST(UncleanElection, AllowedByTheBrokerIsCountedAndATopicMayRefuseIt) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    controller_config cc;
    cc.unclean_leader_election = true;
    unclean_setup s;
    lose_the_only_in_sync_replica(
        zk, cc,
        {assigned("lossy", {}), assigned("strict", {}, {{"unclean.leader.election.enable", "false"}})},
        s);
    ASSERT_FALSE(HasFatalFailure());
    observer o(zk);
    const int32_t survivor = s.ctl->id();

    ASSERT_TRUE(eventually([&] { return o.state("lossy", 0)->leader == survivor; }));
    EXPECT_EQ(o.state("lossy", 0)->isr, std::vector<int32_t>{survivor});
    EXPECT_TRUE(eventually([&] { return s.ctl->service().unclean_elections() == 1u; }));
    ASSERT_TRUE(eventually([&] { return o.state("strict", 0)->leader == kNoLeader; }));
    EXPECT_EQ(o.state("strict", 0)->isr, std::vector<int32_t>{s.victim->id()});
    EXPECT_EQ(s.ctl->service().unclean_elections(), 1u);
}

TEST(UncleanElection, TopicOverrideAllowsItWhereTheBrokerDoesNot) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    unclean_setup s;
    lose_the_only_in_sync_replica(
        zk, {},
        {assigned("clean", {}), assigned("lenient", {}, {{"unclean.leader.election.enable", "TRUE"}})},
        s);
    ASSERT_FALSE(HasFatalFailure());
    observer o(zk);

    ASSERT_TRUE(eventually([&] { return o.state("lenient", 0)->leader == s.ctl->id(); }));
    EXPECT_TRUE(eventually([&] { return s.ctl->service().unclean_elections() == 1u; }));
    ASSERT_TRUE(eventually([&] { return o.state("clean", 0)->leader == kNoLeader; }));
    EXPECT_EQ(s.ctl->service().unclean_elections(), 1u);
}

bool stopped_with_delete(const test::recording_channel& ch, int32_t broker, const topic_partition& tp) {
    for (const auto& [b, r] : ch.stop_replica_calls()) {
        if (b == broker && r.delete_partitions && std::count(r.partitions.begin(), r.partitions.end(), tp)) return true;
    }
    return false;
}

TEST(Reassignment, ReplicasMoveOnceTheNewOnesAreInSync) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2), c(zk, 3);
    broker_node* ctl = test::await_controller({&a, &b, &c});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return ctl->listener().live().size() == 3; }));
    ASSERT_TRUE(ctl->create_topics({assigned("moving", {{0, {1, 2}}, {1, {1, 2}}})}).at(0).error.ok());
    observer o(zk);
    const topic_partition tp{"moving", 0};
    const partition_state before = *o.state("moving", 0);

    // Any broker takes the request; the znode is Kafka's.
    ASSERT_TRUE(c.reassign_partitions({{tp, {2, 3}}}).ok());
    EXPECT_EQ(nlohmann::json::parse(o.zk().get("/admin/reassign_partitions")->data),
              nlohmann::json::parse(R"({"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[2,3]}]})"));
    auto listed = b.list_reassignments();
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(*listed, (partition_reassignments{{tp, {2, 3}}}));
    EXPECT_EQ(a.reassign_partitions({{tp, {3, 1}}}).code, errc::reassignment_in_progress);

    // First the new replicas join the assignment and every replica is told (leader epoch + 1).
    ASSERT_TRUE(eventually([&] { return o.assignment("moving")->partitions.at(0) == std::vector<int32_t>{2, 3, 1}; }));
    const partition_state during = *o.state("moving", 0);
    EXPECT_EQ(during.leader, 1);
    EXPECT_EQ(during.leader_epoch, before.leader_epoch + 1);
    ASSERT_TRUE(eventually([&] {
        auto given = last_leader_and_isr(ctl->channel(), 3, tp);
        return given && given->replicas == std::vector<int32_t>{2, 3, 1} && given->state.zk_version == during.zk_version;
    }));
    EXPECT_TRUE(o.exists("/admin/reassign_partitions"));

    // Broker 3 caught up: the leader adds it to the ISR, and the move completes.
    partition_state joined = last_leader_and_isr(ctl->channel(), 1, tp)->state;
    joined.isr = {1, 2, 3};
    ASSERT_TRUE(a.update_isr(tp, joined).ok());
    ASSERT_TRUE(eventually([&] { return o.assignment("moving")->partitions.at(0) == std::vector<int32_t>{2, 3}; }));
    const partition_state after = *o.state("moving", 0);
    EXPECT_EQ(after.leader, 2);
    EXPECT_EQ(after.isr, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(after.leader_epoch, during.leader_epoch + 1);
    EXPECT_EQ(o.assignment("moving")->partitions.at(1), (std::vector<int32_t>{1, 2}));
    EXPECT_TRUE(eventually([&] { return stopped_with_delete(ctl->channel(), 1, tp); }));
    EXPECT_TRUE(eventually([&] { return !o.exists("/admin/reassign_partitions"); }));
    ASSERT_TRUE(eventually([&] {
        auto given = last_leader_and_isr(ctl->channel(), 2, tp);
        return given && given->state.leader == 2 && given->replicas == std::vector<int32_t>{2, 3};
    }));
    EXPECT_TRUE(metadata_reached(ctl->channel(), {1, 2, 3}, tp, {2, 3}, after.zk_version));
    EXPECT_TRUE(a.list_reassignments()->empty());
}

TEST(Reassignment, BadRequestsAreRefusedNamingThePartition) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2);
    broker_node* ctl = test::await_controller({&a, &b});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return a.listener().live().size() == 2; }));
    ASSERT_TRUE(ctl->create_topic("t", 2, 1).error.ok());

    auto unknown_topic = a.reassign_partitions({{{"nope", 0}, {1}}});
    EXPECT_EQ(unknown_topic.code, errc::unknown_topic_or_partition);
    EXPECT_NE(unknown_topic.message.find("nope-0"), std::string::npos) << unknown_topic.message;
    EXPECT_EQ(a.reassign_partitions({{{"t", 5}, {1}}}).code, errc::unknown_topic_or_partition);
    auto unknown_broker = a.reassign_partitions({{{"t", 0}, {1}}, {{"t", 1}, {2, 9}}});
    EXPECT_EQ(unknown_broker.code, errc::invalid_replica_assignment);
    EXPECT_NE(unknown_broker.message.find("t-1"), std::string::npos) << unknown_broker.message;
    EXPECT_NE(unknown_broker.message.find('9'), std::string::npos) << unknown_broker.message;
    EXPECT_EQ(a.reassign_partitions({{{"t", 0}, {2, 2}}}).code, errc::invalid_replica_assignment);
    EXPECT_EQ(a.reassign_partitions({{{"t", 0}, {}}}).code, errc::invalid_replica_assignment);
    EXPECT_EQ(a.reassign_partitions({}).code, errc::invalid_replica_assignment);
    observer o(zk);
    EXPECT_FALSE(o.exists("/admin/reassign_partitions"));  // a bad entry stops the whole request
}

TEST(Reassignment, ControllerDropsBadEntriesWrittenByHand) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2), c(zk, 3);
    broker_node* ctl = test::await_controller({&a, &b, &c});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return ctl->listener().live().size() == 3; }));
    ASSERT_TRUE(ctl->create_topics({assigned("t", {{0, {1, 2}}, {1, {1, 2}}, {2, {1, 2}}, {3, {1, 2}}})}).at(0).error.ok());
    observer o(zk);

    // As an operator's tool might write it: an unknown topic, an unknown broker, a partition
    // listed twice, one already where it is to go, and one good move.
    ASSERT_TRUE(o.zk().create("/admin/reassign_partitions",
                              R"({"version":1,"partitions":[{"topic":"nope","partition":0,"replicas":[1]},)"
                              R"({"topic":"t","partition":0,"replicas":[1,9]},)"
                              R"({"topic":"t","partition":1,"replicas":[2]},{"topic":"t","partition":1,"replicas":[3]},)"
                              R"({"topic":"t","partition":2,"replicas":[1,2]},)"
                              R"({"topic":"t","partition":3,"replicas":[2,3]}]})",
                              create_mode::persistent).ok());
    EXPECT_TRUE(eventually([&] {
        auto left = a.list_reassignments();
        return left.ok() && *left == partition_reassignments{{{"t", 3}, {2, 3}}};
    }));
    ASSERT_TRUE(eventually([&] { return o.assignment("t")->partitions.at(3) == std::vector<int32_t>{2, 3, 1}; }));
    for (int32_t p : {0, 1, 2}) EXPECT_EQ(o.assignment("t")->partitions.at(p), (std::vector<int32_t>{1, 2})) << p;

    // An unreadable request is dropped whole.
    partition_state joined = *o.state("t", 3);
    joined.isr = {1, 2, 3};
    ASSERT_TRUE(a.update_isr({"t", 3}, joined).ok());
    ASSERT_TRUE(eventually([&] { return !o.exists("/admin/reassign_partitions"); }));
    ASSERT_TRUE(o.zk().create("/admin/reassign_partitions", "{not json", create_mode::persistent).ok());
    EXPECT_TRUE(eventually([&] { return !o.exists("/admin/reassign_partitions"); }));
}

TEST(Reassignment, NewControllerCarriesOnWithAReassignmentUnderWay) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node n1(zk, 1), n2(zk, 2), n3(zk, 3), n4(zk, 4);
    const std::vector<broker_node*> all{&n1, &n2, &n3, &n4};
    broker_node* ctl = test::await_controller(all);
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return ctl->listener().live().size() == 4; }));
    std::vector<int32_t> others;  // the brokers that stay: the reassignment lives on them
    for (auto* n : all) {
        if (n != ctl) others.push_back(n->id());
    }
    const int32_t x = others[0], y = others[1], z = others[2];
    ASSERT_TRUE(ctl->create_topics({assigned("far", {{0, {x, y}}})}).at(0).error.ok());
    observer o(zk);
    const topic_partition tp{"far", 0};

    ASSERT_TRUE(node_with_id(all, x)->reassign_partitions({{tp, {y, z}}}).ok());
    ASSERT_TRUE(eventually([&] { return o.assignment("far")->partitions.at(0) == std::vector<int32_t>{y, z, x}; }));

    const int32_t old_controller = ctl->id();
    ctl->stop();
    std::vector<broker_node*> rest;
    for (auto* n : all) {
        if (n->id() != old_controller) rest.push_back(n);
    }
    broker_node* second = test::await_controller(rest);
    ASSERT_NE(second, nullptr);
    EXPECT_TRUE(o.exists("/admin/reassign_partitions"));

    // The leader adds z from the state it last heard of (from the new controller's full LeaderAndIsr).
    ASSERT_TRUE(eventually([&] {
        auto given = last_leader_and_isr(second->channel(), x, tp);
        if (!given) return false;
        partition_state joined = given->state;
        joined.isr = {x, y, z};
        return node_with_id(all, x)->update_isr(tp, joined).ok();
    }));
    ASSERT_TRUE(eventually([&] { return o.assignment("far")->partitions.at(0) == std::vector<int32_t>{y, z}; }));
    EXPECT_EQ(o.state("far", 0)->leader, y);
    EXPECT_EQ(o.state("far", 0)->isr, (std::vector<int32_t>{y, z}));
    EXPECT_TRUE(eventually([&] { return !o.exists("/admin/reassign_partitions"); }));
    EXPECT_TRUE(eventually([&] { return stopped_with_delete(second->channel(), x, tp); }));
}

}  // namespace
}  // namespace gregor::coordination
