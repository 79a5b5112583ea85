// The controller through coordination_service, against a real ZooKeeper and several brokers in
// one process: topic creation and deletion with their znodes and JSON, Kafka's errors,
// leadership on broker death and return, controller failover resending the state, the epoch
// fence stopping a deposed controller, controlled shutdown, preferred leaders, added
// partitions, topic configs and ISR change notifications.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/zk_coordination/zk_cluster.h"

namespace gregor::coordination {
namespace {

using namespace std::chrono_literals;
using test::broker_node;
using test::observer;
using test_support::eventually;

bool has_leader_and_isr_for(const test::recording_channel& ch, int32_t broker, const std::string& topic) {
    for (const auto& [b, r] : ch.leader_and_isr_calls()) {
        if (b != broker) continue;
        for (const auto& p : r.partitions) {
            if (p.tp.topic == topic) return true;
        }
    }
    return false;
}

TEST(Controller, CreatedTopicHasKafkasZnodesAndBrokersAreTold) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node node(zk, 1);
    ASSERT_EQ(test::await_controller({&node}), &node);

    auto r = node.create_topic("orders", 3, 1, {{"retention.ms", "60000"}});
    ASSERT_TRUE(r.error.ok()) << r.error.message;
    EXPECT_EQ(r.partitions, 3);
    EXPECT_EQ(r.replication_factor, 1);
    EXPECT_EQ(r.topic_id.size(), 22u);

    observer o(zk);
    auto topic = o.zk().get("/brokers/topics/orders");
    ASSERT_TRUE(topic.ok());
    const auto j = nlohmann::json::parse(topic->data);
    EXPECT_EQ(j["version"], 3);
    EXPECT_EQ(j["partitions"], nlohmann::json::parse(R"({"0":[1],"1":[1],"2":[1]})"));
    EXPECT_EQ(j["topic_id"], r.topic_id);
    auto config = o.zk().get("/config/topics/orders");
    ASSERT_TRUE(config.ok());
    EXPECT_EQ(nlohmann::json::parse(config->data),
              nlohmann::json::parse(R"({"version":1,"config":{"retention.ms":"60000"}})"));
    for (int32_t p = 0; p < 3; ++p) {
        auto state = o.zk().get(zk_paths::partition_state_path("orders", p));
        ASSERT_TRUE(state.ok()) << p;
        EXPECT_EQ(nlohmann::json::parse(state->data),
                  nlohmann::json::parse(R"({"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]})"));
    }

    // LeaderAndIsr for the new partitions, and UpdateMetadata to every live broker.
    ASSERT_TRUE(eventually([&] { return has_leader_and_isr_for(node.channel(), 1, "orders"); }));
    bool metadata = false;
    for (const auto& [targets, u] : node.channel().update_metadata_calls()) {
        for (const auto& p : u.partitions) metadata |= p.tp.topic == "orders" && targets == std::vector<int32_t>{1};
    }
    EXPECT_TRUE(metadata);
}

TEST(Controller, RefusesBadTopicsWithKafkasErrors) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2);
    broker_node* c = test::await_controller({&a, &b});
    ASSERT_NE(c, nullptr);
    broker_node& other = c == &a ? b : a;
    ASSERT_TRUE(eventually([&] { return c->listener().live().size() == 2; }));

    EXPECT_EQ(c->create_topic("bad name", 1, 1).error.code, errc::invalid_topic_exception);
    EXPECT_EQ(c->create_topic("zero", 0, 1).error.code, errc::invalid_partitions);
    auto rf = c->create_topic("wide", 1, 3);
    EXPECT_EQ(rf.error.code, errc::invalid_replication_factor);
    EXPECT_EQ(rf.error.message, "Replication factor: 3 larger than available brokers: 2.");
    ASSERT_TRUE(c->create_topic("a.b", 1, 2).error.ok());
    EXPECT_EQ(c->create_topic("a.b", 1, 1).error.code, errc::topic_already_exists);
    EXPECT_EQ(c->create_topic("a_b", 1, 1).error.code, errc::invalid_topic_exception);
    EXPECT_EQ(other.create_topic("elsewhere", 1, 1).error.code, errc::not_controller);

    new_topic dry{.name = "dry", .partitions = 4, .replication_factor = 2, .assignment = {}, .config = {}};
    auto checked = c->create_topics({dry}, /*validate_only=*/true).at(0);
    EXPECT_TRUE(checked.error.ok());
    EXPECT_EQ(checked.partitions, 4);
    new_topic manual{.name = "manual", .partitions = -1, .replication_factor = -1,
                     .assignment = {{0, {2, 1}}, {1, {1, 2}}}, .config = {}};
    EXPECT_TRUE(c->create_topics({manual}).at(0).error.ok());
    manual.name = "manual-bad";
    manual.assignment = {{0, {2, 9}}};
    EXPECT_EQ(c->create_topics({manual}).at(0).error.code, errc::invalid_replica_assignment);

    observer o(zk);
    EXPECT_FALSE(o.exists("/brokers/topics/dry"));
    EXPECT_FALSE(o.exists("/brokers/topics/wide"));
    EXPECT_EQ(o.assignment("manual")->partitions, (replica_map{{0, {2, 1}}, {1, {1, 2}}}));
    EXPECT_EQ(o.state("manual", 0)->leader, 2);
}

TEST(Controller, DeletedTopicLeavesNoZnodesAndCanBeCreatedAgain) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node node(zk, 1);
    ASSERT_NE(test::await_controller({&node}), nullptr);
    auto first = node.create_topic("events", 2, 1);
    ASSERT_TRUE(first.error.ok());

    auto deleted = node.delete_topics({"events", "missing"});
    EXPECT_TRUE(deleted.at(0).error.ok());
    EXPECT_EQ(deleted.at(1).error.code, errc::unknown_topic_or_partition);

    observer o(zk);
    for (const char* path : {"/brokers/topics/events", "/config/topics/events", "/admin/delete_topics/events"}) {
        EXPECT_TRUE(eventually([&] { return !o.exists(path); })) << path;
    }
    bool stopped = false, dropped = false;
    for (const auto& [b, r] : node.channel().stop_replica_calls()) {
        stopped |= b == 1 && r.delete_partitions && r.partitions.size() == 2;
    }
    for (const auto& [targets, u] : node.channel().update_metadata_calls()) {
        dropped |= u.deleted_topics == std::vector<std::string>{"events"};
    }
    EXPECT_TRUE(stopped);
    EXPECT_TRUE(dropped);

    auto again = node.create_topic("events", 1, 1);
    ASSERT_TRUE(again.error.ok()) << again.error.message;
    EXPECT_NE(again.topic_id, first.topic_id);
    EXPECT_EQ(o.state("events", 0)->leader, 1);
}

TEST(Controller, DeletionWaitsForABrokerThatIsDownAndFinishesWhenItReturns) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    auto a = std::make_unique<broker_node>(zk, 1);
    ASSERT_NE(test::await_controller({a.get()}), nullptr);
    auto b = std::make_unique<broker_node>(zk, 2);
    ASSERT_TRUE(eventually([&] { return a->listener().live().size() == 2; }));
    ASSERT_TRUE(a->create_topic("logs", 2, 2).error.ok());

    b->stop();
    ASSERT_TRUE(eventually([&] { return a->listener().live() == std::vector<int32_t>{1}; }));
    ASSERT_TRUE(a->delete_topics({"logs"}).at(0).error.ok());
    observer o(zk);
    std::this_thread::sleep_for(300ms);  // give a wrong implementation time to delete anyway
    EXPECT_TRUE(o.exists("/brokers/topics/logs"));
    EXPECT_TRUE(o.exists("/admin/delete_topics/logs"));
    EXPECT_EQ(a->create_topic("logs", 1, 1).error.code, errc::topic_already_exists);  // marked for deletion

    b = std::make_unique<broker_node>(zk, 2);
    EXPECT_TRUE(eventually([&] { return !o.exists("/brokers/topics/logs"); }));
    EXPECT_FALSE(o.exists("/admin/delete_topics/logs"));
    bool told_returning_broker = false;
    for (const auto& [broker, r] : a->channel().stop_replica_calls()) {
        told_returning_broker |= broker == 2 && r.delete_partitions;
    }
    EXPECT_TRUE(told_returning_broker);
    // The full LeaderAndIsr to the returning broker leaves the topic out.
    for (const auto& [broker, r] : a->channel().leader_and_isr_calls()) {
        if (broker == 2 && r.full) {
            for (const auto& p : r.partitions) EXPECT_NE(p.tp.topic, "logs");
        }
    }
}

TEST(Controller, LeadershipMovesToAnIsrMemberWhenItsBrokerDies) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2), c(zk, 3);
    broker_node* ctl = test::await_controller({&a, &b, &c});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return ctl->listener().live().size() == 3; }));
    ASSERT_TRUE(ctl->create_topic("replicated", 6, 3).error.ok());

    observer o(zk);
    broker_node* victim = ctl == &a ? &b : &a;  // not the controller: that is another test
    std::map<int32_t, partition_state> before;
    for (int32_t p = 0; p < 6; ++p) before[p] = *o.state("replicated", p);
    victim->stop();

    ASSERT_TRUE(eventually([&] {
        for (int32_t p = 0; p < 6; ++p) {
            auto s = o.state("replicated", p);
            if (!s || s->leader == victim->id() || std::count(s->isr.begin(), s->isr.end(), victim->id())) return false;
        }
        return true;
    }));
    for (int32_t p = 0; p < 6; ++p) {
        auto s = *o.state("replicated", p);
        EXPECT_NE(s.leader, kNoLeader) << p;
        EXPECT_EQ(s.isr.size(), 2u) << p;
        EXPECT_EQ(s.leader_epoch, before[p].leader_epoch + 1) << p;
        if (before[p].leader != victim->id()) {
            EXPECT_EQ(s.leader, before[p].leader) << p;  // only the dead broker's partitions move
        }
    }
}

TEST(Controller, SingleReplicaPartitionGoesOfflineAndReturnsWithItsBroker) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    auto a = std::make_unique<broker_node>(zk, 1);
    ASSERT_NE(test::await_controller({a.get()}), nullptr);
    auto b = std::make_unique<broker_node>(zk, 2);
    ASSERT_TRUE(eventually([&] { return a->listener().live().size() == 2; }));
    new_topic t{.name = "solo", .partitions = -1, .replication_factor = -1,
                .assignment = {{0, {1}}, {1, {2}}}, .config = {}};
    ASSERT_TRUE(a->create_topics({t}).at(0).error.ok());
    observer o(zk);

    b->stop();
    ASSERT_TRUE(eventually([&] { return o.state("solo", 1)->leader == kNoLeader; }));
    auto offline = *o.state("solo", 1);
    EXPECT_EQ(offline.isr, std::vector<int32_t>{2});
    EXPECT_EQ(offline.leader_epoch, 1);
    EXPECT_EQ(o.state("solo", 0)->leader, 1);

    b = std::make_unique<broker_node>(zk, 2);
    ASSERT_TRUE(eventually([&] { return o.state("solo", 1)->leader == 2; }));
    EXPECT_EQ(o.state("solo", 1)->leader_epoch, 2);
    // The returning broker gets the full picture: every partition it hosts.
    ASSERT_TRUE(eventually([&] {
        for (const auto& [broker, r] : a->channel().leader_and_isr_calls()) {
            if (broker == 2 && r.full && r.partitions.size() == 1 && r.partitions[0].tp.partition == 1) return true;
        }
        return false;
    }));
}

TEST(Controller, NewControllerRaisesTheEpochAndResendsEverything) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2), c(zk, 3);
    broker_node* first = test::await_controller({&a, &b, &c});
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(eventually([&] { return first->listener().live().size() == 3; }));
    ASSERT_TRUE(first->create_topic("t", 3, 2).error.ok());
    for (auto* n : {&a, &b, &c}) n->channel().clear();
    const int32_t old_id = first->id();

    first->stop();
    std::vector<broker_node*> rest;
    for (auto* n : {&a, &b, &c}) {
        if (n->id() != old_id) rest.push_back(n);
    }
    broker_node* second = test::await_controller(rest);
    ASSERT_NE(second, nullptr);
    observer o(zk);
    EXPECT_EQ(o.controller_epoch(), 2);

    // Full metadata to both live brokers and a full LeaderAndIsr to each.
    ASSERT_TRUE(eventually([&] {
        bool full_metadata = false;
        for (const auto& [targets, u] : second->channel().update_metadata_calls()) {
            full_metadata |= u.full && u.controller_epoch == 2 && targets.size() == 2 && u.partitions.size() == 3;
        }
        std::set<int32_t> full_lair;
        for (const auto& [broker, r] : second->channel().leader_and_isr_calls()) {
            if (r.full && r.controller_epoch == 2) full_lair.insert(broker);
        }
        return full_metadata && full_lair.size() == 2;
    }));
    for (int32_t p = 0; p < 3; ++p) {
        auto s = *o.state("t", p);
        EXPECT_NE(s.leader, old_id) << p;
        EXPECT_NE(s.leader, kNoLeader) << p;
    }
}

TEST(Controller, DeposedControllerWritesNothing) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node node(zk, 1);
    ASSERT_NE(test::await_controller({&node}), nullptr);
    observer o(zk);

    // Another controller's election, as it looks to this one: /controller_epoch moves on.
    ASSERT_TRUE(o.zk().set("/controller_epoch", "2").ok());
    auto r = node.create_topic("late", 1, 1);
    EXPECT_EQ(r.error.code, errc::not_controller);
    EXPECT_FALSE(o.exists("/brokers/topics/late"));
    EXPECT_FALSE(o.exists("/config/topics/late"));
}

TEST(Controller, ControlledShutdownMovesLeadershipAway) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2), c(zk, 3);
    broker_node* ctl = test::await_controller({&a, &b, &c});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return ctl->listener().live().size() == 3; }));
    ASSERT_TRUE(ctl->create_topic("moving", 6, 3).error.ok());
    new_topic solo{.name = "pinned", .partitions = -1, .replication_factor = -1, .assignment = {{0, {2}}}, .config = {}};
    ASSERT_TRUE(ctl->create_topics({solo}).at(0).error.ok());

    auto remaining = ctl->controlled_shutdown(2);
    ASSERT_TRUE(remaining.ok()) << remaining.error().message;
    EXPECT_EQ(*remaining, (std::vector<topic_partition>{{"pinned", 0}}));
    observer o(zk);
    for (int32_t p = 0; p < 6; ++p) {
        auto s = *o.state("moving", p);
        EXPECT_NE(s.leader, 2) << p;
        EXPECT_EQ(std::count(s.isr.begin(), s.isr.end(), 2), 0) << p;
    }
    EXPECT_EQ(ctl->controlled_shutdown(9).error().code, errc::broker_not_available);
}

TEST(Controller, PreferredLeaderTakesOverAgainAfterReturning) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    controller_config cc;
    cc.leader_imbalance_check_interval = 300ms;
    cc.leader_imbalance_per_broker_percentage = 0;
    auto a = std::make_unique<broker_node>(zk, 1, cc);
    ASSERT_NE(test::await_controller({a.get()}), nullptr);
    auto b = std::make_unique<broker_node>(zk, 2, cc);
    ASSERT_TRUE(eventually([&] { return a->listener().live().size() == 2; }));
    new_topic t{.name = "pref", .partitions = -1, .replication_factor = -1, .assignment = {{0, {2, 1}}}, .config = {}};
    ASSERT_TRUE(a->create_topics({t}).at(0).error.ok());
    observer o(zk);
    ASSERT_EQ(o.state("pref", 0)->leader, 2);

    b->stop();
    ASSERT_TRUE(eventually([&] { return o.state("pref", 0)->leader == 1; }));
    // Back in the ISR: the leader's job once replication exists, done by hand here as a leader
    // would (write the state, then notify the controller).
    b = std::make_unique<broker_node>(zk, 2, cc);
    ASSERT_TRUE(eventually([&] { return a->listener().live().size() == 2; }));
    auto s = *o.state("pref", 0);
    s.isr = {1, 2};
    ASSERT_TRUE(o.zk().set(zk_paths::partition_state_path("pref", 0), zk_paths::encode_partition_state(s), s.zk_version).ok());
    ASSERT_TRUE(o.zk().create(zk_paths::isr_change_path_prefix(), zk_paths::encode_isr_change({{"pref", 0}}),
                              create_mode::persistent_sequential).ok());
    EXPECT_TRUE(eventually([&] { return o.state("pref", 0)->leader == 2; }));
}

TEST(Controller, AddedPartitionsAreAssignedAndInitialised) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2);
    broker_node* ctl = test::await_controller({&a, &b});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return ctl->listener().live().size() == 2; }));
    ASSERT_TRUE(ctl->create_topic("grow", 2, 2).error.ok());
    EXPECT_EQ(ctl->create_partitions("grow", 2).code, errc::invalid_partitions);
    EXPECT_EQ(ctl->create_partitions("nope", 3).code, errc::unknown_topic_or_partition);
    ASSERT_TRUE(ctl->create_partitions("grow", 5).ok());

    observer o(zk);
    auto a5 = o.assignment("grow");
    ASSERT_TRUE(a5.has_value());
    EXPECT_EQ(a5->partitions.size(), 5u);
    for (int32_t p = 0; p < 5; ++p) {
        EXPECT_EQ(a5->partitions.at(p).size(), 2u);
        ASSERT_TRUE(o.state("grow", p).has_value()) << p;
    }
}

TEST(Controller, TopicConfigChangesReachEveryBroker) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2);
    broker_node* ctl = test::await_controller({&a, &b});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(ctl->create_topic("cfg", 1, 1, {{"cleanup.policy", "delete"}}).error.ok());
    broker_node& other = ctl == &a ? b : a;

    const topic_config changed{{"retention.ms", "1000"}};
    ASSERT_TRUE(other.alter_topic_config("cfg", changed).ok());
    for (auto* n : {&a, &b}) {
        EXPECT_TRUE(eventually([&] { return n->listener().configs().count("cfg") == 1; }));
        EXPECT_EQ(n->listener().configs()["cfg"], changed);
    }
    auto described = ctl->describe_topic_configs({"cfg", "nope"});
    ASSERT_TRUE(described.at(0).ok());
    EXPECT_EQ(*described.at(0), changed);
    EXPECT_EQ(described.at(1).code(), errc::unknown_topic_or_partition);
    EXPECT_EQ(other.alter_topic_config("nope", {}).code, errc::unknown_topic_or_partition);
    observer o(zk);
    auto changes = o.zk().get_children("/config/changes");
    ASSERT_TRUE(changes.ok());
    ASSERT_EQ(changes->size(), 1u);
    EXPECT_EQ(nlohmann::json::parse(o.zk().get("/config/changes/" + changes->at(0))->data),
              nlohmann::json::parse(R"({"version":2,"entity_path":"topics/cfg"})"));
}

TEST(Controller, IsrChangeNotificationRefreshesMetadata) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node a(zk, 1), b(zk, 2);
    broker_node* ctl = test::await_controller({&a, &b});
    ASSERT_NE(ctl, nullptr);
    ASSERT_TRUE(eventually([&] { return ctl->listener().live().size() == 2; }));
    ASSERT_TRUE(ctl->create_topic("isr", 1, 2).error.ok());
    observer o(zk);

    // What a leader does when its ISR shrinks: write the state, then notify.
    auto s = *o.state("isr", 0);
    s.isr = {s.leader};
    ASSERT_TRUE(o.zk().set(zk_paths::partition_state_path("isr", 0), zk_paths::encode_partition_state(s), s.zk_version).ok());
    ASSERT_TRUE(o.zk().create(zk_paths::isr_change_path_prefix(), zk_paths::encode_isr_change({{"isr", 0}}),
                              create_mode::persistent_sequential).ok());

    EXPECT_TRUE(eventually([&] {
        for (const auto& [targets, u] : ctl->channel().update_metadata_calls()) {
            for (const auto& p : u.partitions) {
                if (p.tp == topic_partition{"isr", 0} && p.state.isr == s.isr && targets.size() == 2) return true;
            }
        }
        return false;
    }));
    EXPECT_TRUE(eventually([&] { return o.zk().get_children("/isr_change_notification")->empty(); }));
}

TEST(Controller, TopicAutoCreatedOnAnotherBrokerIsInitialisedByTheController) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    controller_config cc;
    cc.default_partitions = 2;
    cc.default_replication_factor = 2;
    broker_node a(zk, 1, cc), b(zk, 2, cc);
    broker_node* ctl = test::await_controller({&a, &b});
    ASSERT_NE(ctl, nullptr);
    broker_node& other = ctl == &a ? b : a;
    ASSERT_TRUE(eventually([&] { return other.listener().live().size() == 2; }));

    auto created = other.auto_create_topics({"auto", "bad name"});
    ASSERT_TRUE(created.at(0).error.ok()) << created.at(0).error.message;
    EXPECT_EQ(created.at(0).partitions, 2);
    EXPECT_EQ(created.at(0).replication_factor, 2);
    EXPECT_EQ(created.at(1).error.code, errc::invalid_topic_exception);
    EXPECT_EQ(other.auto_create_topics({"auto"}).at(0).error.code, errc::topic_already_exists);

    observer o(zk);
    EXPECT_TRUE(eventually([&] { return o.state("auto", 0).has_value() && o.state("auto", 1).has_value(); }));
    EXPECT_EQ(o.state("auto", 0)->isr.size(), 2u);
    EXPECT_EQ(o.assignment("auto")->topic_id, created.at(0).topic_id);
}

TEST(Controller, TopicWrittenByAnotherToolIsInitialised) {
    const std::string zk = test_support::shared_zookeeper::isolated_connect();
    broker_node node(zk, 1);
    ASSERT_NE(test::await_controller({&node}), nullptr);
    observer o(zk);
    ASSERT_TRUE(o.zk().create("/brokers/topics/external",
                              zk_paths::encode_topic_assignment({"", {{0, {1}}, {1, {1}}}}),
                              create_mode::persistent).ok());
    EXPECT_TRUE(eventually([&] { return o.state("external", 0).has_value() && o.state("external", 1).has_value(); }));
    EXPECT_EQ(o.state("external", 1)->leader, 1);
}

}  // namespace
}  // namespace gregor::coordination
