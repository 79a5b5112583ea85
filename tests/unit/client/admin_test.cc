// The admin client against fake brokers: topics created on the controller (following it when
// another broker answers NOT_CONTROLLER), listed, described, deleted; configs described and
// altered incrementally.
#include <gtest/gtest.h>

#include "client/admin.h"
#include "tests/unit/client/fake_cluster.h"

namespace gregor::client {
namespace {

using namespace std::chrono_literals;
using test::fake_cluster;

std::unique_ptr<admin> make(const fake_cluster& c) {
    auto r = admin::create({{"bootstrap.servers", c.bootstrap()}, {"retry.backoff.ms", "20"},
                            {"default.api.timeout.ms", "10000"}});
    EXPECT_TRUE(r) << r.error().message;
    return std::move(*r);
}

TEST(admin, CreateListDescribeDelete) {
    fake_cluster cluster(1);
    auto a = make(cluster);
    new_topic nt;
    nt.name = "orders";
    nt.partitions = 3;
    nt.replication_factor = 1;
    nt.configs = {{"retention.ms", "1000"}};
    auto created = a->create_topics({nt});
    ASSERT_TRUE(created) << created.error().message;
    ASSERT_EQ(created->size(), 1u);
    EXPECT_TRUE((*created)[0].error.ok()) << (*created)[0].error.message;
    EXPECT_EQ((*created)[0].partitions, 3);

    auto again = a->create_topics({nt});
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)[0].error.code, errc::topic_already_exists);

    cluster.create_topic("a-first", 1);
    auto list = a->list_topics();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].name, "a-first");
    EXPECT_EQ((*list)[1].name, "orders");

    auto desc = a->describe_topics({"orders", "nope"});
    ASSERT_TRUE(desc);
    ASSERT_EQ(desc->size(), 2u);
    EXPECT_TRUE((*desc)[0].error.ok());
    EXPECT_EQ((*desc)[0].partitions.size(), 3u);
    EXPECT_EQ((*desc)[1].error.code, errc::unknown_topic_or_partition);

    auto deleted = a->delete_topics({"orders", "nope"});
    ASSERT_TRUE(deleted);
    EXPECT_TRUE((*deleted)[0].error.ok());
    EXPECT_EQ((*deleted)[1].error.code, errc::unknown_topic_or_partition);
    EXPECT_EQ(a->list_topics()->size(), 1u);
}

TEST(admin, CreateFollowsTheController) {
    fake_cluster cluster(2);
    cluster.set_controller(2);
    auto a = make(cluster);
    new_topic nt;
    nt.name = "t";
    auto created = a->create_topics({nt});
    ASSERT_TRUE(created) << created.error().message;
    EXPECT_TRUE((*created)[0].error.ok()) << (*created)[0].error.message;
    // Then the controller moves: the first attempt meets NOT_CONTROLLER, the retry succeeds.
    cluster.set_controller(1);
    nt.name = "u";
    created = a->create_topics({nt});
    ASSERT_TRUE(created);
    EXPECT_TRUE((*created)[0].error.ok()) << (*created)[0].error.message;
}

TEST(admin, DescribeClusterNamesBrokersAndController) {
    fake_cluster cluster(3);
    cluster.set_controller(3);
    auto a = make(cluster);
    auto d = a->describe_cluster();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->controller_id, 3);
    ASSERT_EQ(d->brokers.size(), 3u);
    EXPECT_EQ(d->brokers[1].node_id, 2);
    EXPECT_EQ(d->brokers[1].port, cluster.port(2));
}

TEST(admin, DescribeAndAlterConfigs) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    auto a = make(cluster);
    config_resource res{resource_type::topic, "t"};
    auto altered = a->alter_configs({{res, {{"retention.ms", config_op::kind::set, "5"},
                                            {"x.y", config_op::kind::set, "1"}}}});
    ASSERT_TRUE(altered) << altered.error().message;
    EXPECT_TRUE(altered->at(0).second.ok());
    altered = a->alter_configs({{res, {{"x.y", config_op::kind::remove, std::nullopt}}}});
    ASSERT_TRUE(altered);
    EXPECT_EQ(cluster.topic_configs("t"), (std::map<std::string, std::string>{{"retention.ms", "5"}}));
    auto d = a->describe_configs({res});
    ASSERT_TRUE(d);
    ASSERT_EQ(d->size(), 1u);
    bool saw_override = false, saw_default = false;
    for (const auto& e : (*d)[0].entries) {
        if (e.name == "retention.ms") {
            saw_override = true;
            EXPECT_EQ(e.value, "5");
            EXPECT_FALSE(e.is_default);
        }
        if (e.name == "cleanup.policy") saw_default = e.is_default;
    }
    EXPECT_TRUE(saw_override);
    EXPECT_TRUE(saw_default);
    auto missing = a->describe_configs({{resource_type::topic, "nope"}});
    ASSERT_TRUE(missing);
    EXPECT_EQ((*missing)[0].error.code, errc::unknown_topic_or_partition);
}

TEST(admin, UnreachableClusterTimesOut) {
    fake_cluster cluster(1);
    const std::string address = cluster.bootstrap();
    cluster.kill(1);
    auto r = admin::create({{"bootstrap.servers", address}, {"retry.backoff.ms", "20"}});
    ASSERT_TRUE(r);
    const auto start = std::chrono::steady_clock::now();
    auto list = (*r)->list_topics(false, 500ms);
    ASSERT_FALSE(list);
    EXPECT_TRUE(list.code() == errc::request_timed_out || list.code() == errc::network_exception)
        << list.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace gregor::client
