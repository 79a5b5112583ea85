// Named listeners on a real gregor-server: a broker listening on two ports under two listener
// names answers Metadata on each with its endpoint on that listener (advertised under another
// host name and port), registers every endpoint in ZooKeeper with the inter-broker listener's as
// its host/port, and a broker that lacks a client's listener is left out of what that client is
// told, its partitions reported without a leader.
#include <algorithm>

#include <gtest/gtest.h>

#include "coordination/coordination_thread.h"
#include "coordination/zk_client.h"
#include "coordination/zk_paths.h"
#include "tests/integration/broker_test_support.h"
#include "tests/support/shared_zookeeper.h"
#include "tests/support/zookeeper_server.h"

namespace gregor::integration {
namespace {

using test_support::broker_options;
using test_support::free_port;
using test_support::shared_zookeeper;

int16_t code(errc e) { return static_cast<int16_t>(e); }

// A broker with INTERNAL on `internal` (advertised as localhost, same port: the readiness check
// of broker_process looks for its port there) and, unless `external` is 0, EXTERNAL on
// `external`, advertised as external.test:19092, which nothing listens on: only Metadata may
// tell it.
std::unique_ptr<broker_process> start_two_listener_broker(int32_t id, const std::string& zk, uint16_t internal,
                                                          uint16_t external) {
    const std::string in = std::to_string(internal);
    broker_options o;
    o.broker_id = id;
    o.zookeeper_connect = zk;
    o.port = internal;
    o.properties = {
        {"listeners", "INTERNAL://127.0.0.1:" + in},
        {"advertised.listeners", "INTERNAL://localhost:" + in},
        {"listener.security.protocol.map", "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"},
        {"inter.broker.listener.name", "INTERNAL"},
    };
    if (external != 0) {
        o.properties["listeners"] += ",EXTERNAL://127.0.0.1:" + std::to_string(external);
        o.properties["advertised.listeners"] += ",EXTERNAL://external.test:19092";
    }
    return std::make_unique<broker_process>(std::move(o));
}

const native::metadata_response::broker* find_broker(const native::metadata_response& m, int32_t id) {
    auto it = std::find_if(m.brokers.begin(), m.brokers.end(), [&](const auto& b) { return b.node_id == id; });
    return it == m.brokers.end() ? nullptr : &*it;
}

TEST(listeners, MetadataAnswersWithTheEndpointOfTheListenerTheRequestCameIn) {
    const uint16_t internal = free_port();
    const uint16_t external = free_port();
    auto broker = start_two_listener_broker(0, shared_zookeeper::isolated_connect(), internal, external);

    raw_connection on_internal(internal);
    raw_connection on_external(external);
    ASSERT_EQ(create_topic(on_internal, "both-ways").error_code, 0);

    auto via_internal = metadata(on_internal, std::vector<std::string>{"both-ways"});
    ASSERT_EQ(via_internal.brokers.size(), 1u);
    EXPECT_EQ(via_internal.brokers[0].node_id, 0);
    EXPECT_EQ(via_internal.brokers[0].host, "localhost");
    EXPECT_EQ(via_internal.brokers[0].port, internal);

    auto via_external = metadata(on_external, std::vector<std::string>{"both-ways"});
    ASSERT_EQ(via_external.brokers.size(), 1u);
    EXPECT_EQ(via_external.brokers[0].node_id, 0);
    EXPECT_EQ(via_external.brokers[0].host, "external.test");
    EXPECT_EQ(via_external.brokers[0].port, 19092);
    ASSERT_EQ(via_external.topics.size(), 1u);
    ASSERT_EQ(via_external.topics[0].partitions.size(), 1u);
    EXPECT_EQ(via_external.topics[0].partitions[0].leader, 0);

    // Both listeners serve every request, not only Metadata.
    auto r = produce(on_external, "both-ways", 0, make_batch({"in through EXTERNAL"}));
    ASSERT_EQ(r.error_code, 0) << r.error_message;
    EXPECT_EQ(fetch(on_internal, "both-ways", 0, 0).values(), std::vector<std::string>{"in through EXTERNAL"});
}

TEST(listeners, RegistrationListsEveryEndpointWithTheInterBrokerOneAsHostAndPort) {
    const std::string zk = shared_zookeeper::isolated_connect();
    const uint16_t internal = free_port();
    auto broker = start_two_listener_broker(3, zk, internal, free_port());

    coordination::coordination_thread thread;
    coordination::zk_client_config c;
    c.connect = zk;
    coordination::zk_client client(c, thread.poster());
    client.start();
    ASSERT_TRUE(client.wait_connected(10s));
    auto node = client.get(coordination::zk_paths::broker_path(3));
    ASSERT_TRUE(node) << node.status().message();
    auto info = coordination::zk_paths::decode_broker(3, node->data);
    ASSERT_TRUE(info) << node->data;
    EXPECT_EQ(info->host, "localhost");
    EXPECT_EQ(info->port, internal);
    const std::vector<coordination::endpoint> expected = {
        {"INTERNAL", "PLAINTEXT", "localhost", internal},
        {"EXTERNAL", "PLAINTEXT", "external.test", 19092},
    };
    EXPECT_EQ(info->endpoints, expected) << node->data;
}

TEST(listeners, BrokerWithoutTheListenerIsLeftOutAndItsPartitionsHaveNoLeaderThere) {
    const std::string zk = shared_zookeeper::isolated_connect();
    const uint16_t external = free_port();
    auto both = start_two_listener_broker(0, zk, free_port(), external);
    auto internal_only = start_two_listener_broker(1, zk, free_port(), 0);

    raw_connection on_internal(both->port());
    ASSERT_TRUE(test_support::eventually([&] { return metadata(on_internal, std::nullopt).brokers.size() == 2; }, 30s));
    auto all = metadata(on_internal, std::nullopt);
    ASSERT_EQ(all.brokers.size(), 2u);
    ASSERT_GE(all.controller_id, 0);

    // One partition on each broker, created through the controller.
    raw_connection on_controller(all.controller_id == 0 ? both->port() : internal_only->port());
    native::create_topics_request req;
    req.topics.push_back({"split", -1, -1, {{0, {0}}, {1, {1}}}, {}});
    req.timeout_ms = 15000;
    auto created = on_controller.call(native::api_key::create_topics, req, 20s).as<native::create_topics_response>();
    ASSERT_EQ(created.topics.size(), 1u);
    ASSERT_EQ(created.topics[0].error_code, 0) << created.topics[0].error_message;

    raw_connection on_external(external);
    native::metadata_response via_external;
    ASSERT_TRUE(test_support::eventually([&] {
        via_external = metadata(on_external, std::vector<std::string>{"split"});
        return via_external.topics.size() == 1 && via_external.topics[0].partitions.size() == 2;
    }, 30s));
    ASSERT_EQ(via_external.brokers.size(), 1u);
    EXPECT_EQ(via_external.brokers[0].node_id, 0);
    EXPECT_EQ(via_external.brokers[0].host, "external.test");
    for (const auto& p : via_external.topics[0].partitions) {
        SCOPED_TRACE("partition " + std::to_string(p.partition));
        if (p.partition == 0) {
            EXPECT_EQ(p.leader, 0);
            EXPECT_EQ(p.error_code, 0);
        } else {
            EXPECT_EQ(p.leader, -1);
            EXPECT_EQ(p.error_code, code(errc::leader_not_available));
            EXPECT_EQ(p.replicas, std::vector<int32_t>{1});
        }
    }

    // On the listener both brokers have, both are told, each with its own endpoint.
    auto via_internal = metadata(on_internal, std::vector<std::string>{"split"});
    ASSERT_NE(find_broker(via_internal, 1), nullptr);
    EXPECT_EQ(find_broker(via_internal, 1)->port, internal_only->port());
    EXPECT_EQ(find_broker(via_internal, 0)->port, both->port());
}

}  // namespace
}  // namespace gregor::integration
