// A broker's endpoints by listener name, as read from its ZooKeeper registration.
#include <gtest/gtest.h>

#include "broker/listener_endpoints.h"

namespace gregor::broker {
namespace {

coordination::broker_info two_listeners() {
    coordination::broker_info b;
    b.id = 2;
    b.host = "broker-2";
    b.port = 29092;
    b.rack = "r1";
    b.endpoints = {{"INTERNAL", "PLAINTEXT", "broker-2", 29092}, {"EXTERNAL", "PLAINTEXT", "localhost", 9093}};
    return b;
}

TEST(ListenerEndpoints, EndpointForEachListener) {
    const auto b = two_listeners();
    EXPECT_EQ(endpoint_for(b, "INTERNAL"), (std::pair<std::string, int32_t>{"broker-2", 29092}));
    EXPECT_EQ(endpoint_for(b, "EXTERNAL"), (std::pair<std::string, int32_t>{"localhost", 9093}));
}

TEST(ListenerEndpoints, NoEndpointOnAnUnknownListener) {
    EXPECT_EQ(endpoint_for(two_listeners(), "PLAINTEXT"), std::nullopt);
    EXPECT_EQ(endpoint_for(coordination::broker_info{}, "PLAINTEXT"), std::nullopt);
}

TEST(ListenerEndpoints, CachedBrokerKeepsEveryEndpointByName) {
    const auto e = to_broker_endpoint(two_listeners());
    EXPECT_EQ(e.id, 2);
    EXPECT_EQ(e.rack, "r1");
    ASSERT_EQ(e.endpoints.size(), 2u);
    EXPECT_EQ(e.endpoints.at("INTERNAL"), (std::pair<std::string, int32_t>{"broker-2", 29092}));
    EXPECT_EQ(e.endpoints.at("EXTERNAL"), (std::pair<std::string, int32_t>{"localhost", 9093}));
}

}  // namespace
}  // namespace gregor::broker
