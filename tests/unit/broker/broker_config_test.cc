// server.properties as the broker reads it: Kafka's named listeners
// (listeners, advertised.listeners, listener.security.protocol.map, inter.broker.listener.name)
// and every way a listener configuration is refused.
#include <gtest/gtest.h>

#include "broker/broker_config.h"

namespace gregor::broker {
namespace {

result<broker_config> parse(properties p) {
    p.emplace("zookeeper.connect", "127.0.0.1:2181");
    std::vector<std::string> warnings;
    return broker_config::from_properties(p, warnings);
}

// The refusal's message for `p`; fails the test when `p` is accepted.
std::string refusal(properties p) {
    auto c = parse(std::move(p));
    if (c) {
        ADD_FAILURE() << "accepted";
        return {};
    }
    EXPECT_EQ(c.error().code, errc::invalid_config);
    return c.error().message;
}

::testing::AssertionResult contains(const std::string& message, const std::string& text) {
    if (message.find(text) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "'" << message << "' does not contain '" << text << "'";
}

const properties kTwoListeners = {
    {"listeners", "INTERNAL://:29092,EXTERNAL://:9092"},
    {"advertised.listeners", "INTERNAL://broker-1:29092,EXTERNAL://localhost:9092"},
    {"listener.security.protocol.map", "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"},
    {"inter.broker.listener.name", "INTERNAL"},
};

properties with(properties p, const std::string& key, const std::string& value) {
    p[key] = value;
    return p;
}

TEST(BrokerConfigListeners, DefaultIsOnePlaintextListenerOn9092) {
    auto c = parse({});
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_EQ(c->listeners.size(), 1u);
    EXPECT_EQ(c->listeners[0].name, "PLAINTEXT");
    EXPECT_EQ(c->listeners[0].port, 9092);
    EXPECT_EQ(c->inter_broker_listener_name, "PLAINTEXT");
    EXPECT_EQ(c->listener_security_protocol_map, (std::map<std::string, std::string>{{"PLAINTEXT", "PLAINTEXT"}}));
    EXPECT_EQ(c->advertised().name, "PLAINTEXT");
}

TEST(BrokerConfigListeners, NamedListenersWithTheirAdvertisedEndpoints) {
    auto c = parse(kTwoListeners);
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_EQ(c->listeners.size(), 2u);
    EXPECT_EQ(c->listeners[0].to_string(), "INTERNAL://:29092");
    EXPECT_EQ(c->listeners[1].to_string(), "EXTERNAL://:9092");
    ASSERT_EQ(c->advertised_listeners.size(), 2u);
    EXPECT_EQ(c->advertised_listeners[0].to_string(), "INTERNAL://broker-1:29092");
    EXPECT_EQ(c->advertised_listeners[1].to_string(), "EXTERNAL://localhost:9092");
    EXPECT_EQ(c->inter_broker_listener_name, "INTERNAL");
    EXPECT_EQ(c->advertised().to_string(), "INTERNAL://broker-1:29092");
    EXPECT_EQ(c->listener_security_protocol_map.at("EXTERNAL"), "PLAINTEXT");
}

TEST(BrokerConfigListeners, NamesAndProtocolsAreCaseInsensitiveAsInKafka) {
    auto c = parse({{"listeners", "internal://127.0.0.1:29092, External://127.0.0.1:9092"},
                    {"listener.security.protocol.map", "Internal:plaintext,EXTERNAL:PlainText"},
                    {"inter.broker.listener.name", "internal"}});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->listeners[0].name, "INTERNAL");
    EXPECT_EQ(c->listeners[1].name, "EXTERNAL");
    EXPECT_EQ(c->inter_broker_listener_name, "INTERNAL");
    EXPECT_EQ(c->advertised().port, 29092);
}

TEST(BrokerConfigListeners, AdvertisedListenersDefaultToListeners) {
    auto p = kTwoListeners;
    p.erase("advertised.listeners");
    p["listeners"] = "INTERNAL://10.0.0.1:29092,EXTERNAL://10.0.0.2:9092";
    auto c = parse(p);
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_EQ(c->advertised_listeners.size(), 2u);
    EXPECT_EQ(c->advertised_listeners[0].to_string(), "INTERNAL://10.0.0.1:29092");
    EXPECT_EQ(c->advertised_listeners[1].to_string(), "EXTERNAL://10.0.0.2:9092");
}

TEST(BrokerConfigListeners, AListenerMayStayUnadvertised) {
    auto c = parse(with(kTwoListeners, "advertised.listeners", "INTERNAL://broker-1:29092"));
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->listeners.size(), 2u);
    ASSERT_EQ(c->advertised_listeners.size(), 1u);
    EXPECT_EQ(c->advertised_listeners[0].name, "INTERNAL");
}

TEST(BrokerConfigListeners, UnusedMapEntriesAreAccepted) {
    auto c = parse(with(kTwoListeners, "listener.security.protocol.map",
                        "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,SPARE:PLAINTEXT"));
    ASSERT_TRUE(c) << c.error().message;
}

TEST(BrokerConfigListeners, SeveralListenersMayAskForAnyFreePort) {
    auto c = parse({{"listeners", "A://127.0.0.1:0,B://127.0.0.1:0"},
                    {"listener.security.protocol.map", "A:PLAINTEXT,B:PLAINTEXT"},
                    {"inter.broker.listener.name", "A"}});
    ASSERT_TRUE(c) << c.error().message;
}

TEST(BrokerConfigListeners, ListenerKeysAreNotReportedAsUnused) {
    properties p = kTwoListeners;
    p.emplace("zookeeper.connect", "127.0.0.1:2181");
    std::vector<std::string> warnings;
    ASSERT_TRUE(broker_config::from_properties(p, warnings));
    EXPECT_TRUE(warnings.empty()) << warnings.front();
}

TEST(BrokerConfigListeners, ListenerNotInTheMapIsRefused) {
    const auto m = refusal(with(kTwoListeners, "listener.security.protocol.map", "INTERNAL:PLAINTEXT"));
    EXPECT_TRUE(contains(m, "configuration listeners"));
    EXPECT_TRUE(contains(m, "listener EXTERNAL is not in listener.security.protocol.map"));
}

TEST(BrokerConfigListeners, WithoutAMapOnlyPlaintextIsKnown) {
    const auto m = refusal({{"listeners", "INTERNAL://:29092"}, {"inter.broker.listener.name", "INTERNAL"}});
    EXPECT_TRUE(contains(m, "'INTERNAL://:29092' for configuration listeners"));
    EXPECT_TRUE(contains(m, "not in listener.security.protocol.map (which maps only PLAINTEXT unless set)"));
    // Kafka's SSL listener is refused the same way: there is no SSL in Gregor.
    EXPECT_TRUE(contains(refusal({{"listeners", "SSL://:9093"}}), "listener SSL is not in"));
}

TEST(BrokerConfigListeners, SecurityProtocolsOtherThanPlaintextAreRefused) {
    for (const char* protocol : {"SSL", "SASL_PLAINTEXT", "SASL_SSL", "NOPE"}) {
        const std::string map = std::string("INTERNAL:PLAINTEXT,EXTERNAL:") + protocol;
        const auto m = refusal(with(kTwoListeners, "listener.security.protocol.map", map));
        EXPECT_TRUE(contains(m, "invalid value '" + map + "' for configuration listener.security.protocol.map"));
        EXPECT_TRUE(contains(m, std::string("listener EXTERNAL has security protocol ") + protocol +
                                "; only PLAINTEXT is supported"));
    }
}

TEST(BrokerConfigListeners, MalformedOrDuplicateMapEntriesAreRefused) {
    for (const char* map : {"INTERNAL", "INTERNAL:", ":PLAINTEXT", ","}) {
        const auto m = refusal(with(kTwoListeners, "listener.security.protocol.map", map));
        EXPECT_TRUE(contains(m, "configuration listener.security.protocol.map")) << map;
    }
    const auto twice = refusal(with(kTwoListeners, "listener.security.protocol.map",
                                    "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,internal:PLAINTEXT"));
    EXPECT_TRUE(contains(twice, "listener INTERNAL is mapped twice"));
}

TEST(BrokerConfigListeners, DuplicateListenerNamesAreRefused) {
    const auto listeners = refusal(with(kTwoListeners, "listeners", "INTERNAL://:29092,internal://:29093"));
    EXPECT_TRUE(contains(listeners, "configuration listeners: listener INTERNAL is given twice"));
    const auto advertised = refusal(with(kTwoListeners, "advertised.listeners", "INTERNAL://a:1,INTERNAL://b:2"));
    EXPECT_TRUE(contains(advertised, "configuration advertised.listeners: listener INTERNAL is given twice"));
}

TEST(BrokerConfigListeners, DuplicatePortsAreRefused) {
    const auto m = refusal(with(kTwoListeners, "listeners", "INTERNAL://127.0.0.1:9092,EXTERNAL://10.0.0.1:9092"));
    EXPECT_TRUE(contains(m, "configuration listeners"));
    EXPECT_TRUE(contains(m, "port 9092 is used by two listeners"));
}

TEST(BrokerConfigListeners, AdvertisedPortsMayRepeatOnDifferentHosts) {
    auto c = parse(with(kTwoListeners, "advertised.listeners", "INTERNAL://broker-1:9092,EXTERNAL://localhost:9092"));
    ASSERT_TRUE(c) << c.error().message;
}

TEST(BrokerConfigListeners, AdvertisedNameMustBeAListener) {
    const auto m = refusal(with(kTwoListeners, "advertised.listeners", "INTERNAL://broker-1:29092,OTHER://x:1"));
    EXPECT_TRUE(contains(m, "configuration advertised.listeners"));
    EXPECT_TRUE(contains(m, "listener OTHER is not one of listeners (INTERNAL, EXTERNAL)"));
}

TEST(BrokerConfigListeners, InterBrokerListenerMustBeAdvertised) {
    auto m = refusal(with(kTwoListeners, "inter.broker.listener.name", "REPLICATION"));
    EXPECT_TRUE(contains(m, "invalid value 'REPLICATION' for configuration inter.broker.listener.name"));
    EXPECT_TRUE(contains(m, "must name an advertised listener (INTERNAL, EXTERNAL)"));
    // The default, PLAINTEXT, is no listener here.
    auto no_name = kTwoListeners;
    no_name.erase("inter.broker.listener.name");
    EXPECT_TRUE(contains(refusal(no_name), "'PLAINTEXT' for configuration inter.broker.listener.name"));
    // A listener that is not advertised cannot be reached by other brokers.
    m = refusal(with(kTwoListeners, "advertised.listeners", "EXTERNAL://localhost:9092"));
    EXPECT_TRUE(contains(m, "must name an advertised listener (EXTERNAL)"));
}

TEST(BrokerConfigListeners, MalformedListenersAreRefused) {
    for (const char* bad : {"", "127.0.0.1:9092", "://:9092", "PLAINTEXT://127.0.0.1", "PLAINTEXT://:port",
                            "PLAINTEXT://:70000", "PLAINTEXT://:-1"}) {
        const auto m = refusal({{"listeners", bad}});
        EXPECT_TRUE(contains(m, std::string("invalid value '") + bad + "' for configuration listeners")) << bad;
    }
}

TEST(BrokerConfigListeners, IPv6HostsInBrackets) {
    auto c = parse({{"listeners", "PLAINTEXT://[::1]:9092"}});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->listeners[0].host, "::1");
}

// The follower's fetch settings: Kafka's keys and defaults, invalid values refused by name.
TEST(BrokerConfigReplication, FetchSettingsHaveKafkasDefaultsAndAreRead) {
    auto d = parse({});
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->replica_fetch_wait_max_ms, 500);
    EXPECT_EQ(d->replica_fetch_max_bytes, 1048576);
    EXPECT_EQ(d->replica_fetch_backoff_ms, 1000);
    EXPECT_EQ(d->replica_lag_time_max_ms, 30000);
    auto c = parse({{"replica.fetch.wait.max.ms", "100"},
                    {"replica.fetch.max.bytes", "4096"},
                    {"replica.fetch.response.max.bytes", "65536"},
                    {"replica.fetch.min.bytes", "10"},
                    {"replica.fetch.backoff.ms", "50"},
                    {"replica.socket.timeout.ms", "2000"},
                    {"replica.lag.time.max.ms", "3000"}});
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->replica_fetch_wait_max_ms, 100);
    EXPECT_EQ(c->replica_fetch_max_bytes, 4096);
    EXPECT_EQ(c->replica_fetch_response_max_bytes, 65536);
    EXPECT_EQ(c->replica_fetch_min_bytes, 10);
    EXPECT_EQ(c->replica_fetch_backoff_ms, 50);
    EXPECT_EQ(c->replica_socket_timeout_ms, 2000);
    EXPECT_EQ(c->replica_lag_time_max_ms, 3000);
    EXPECT_TRUE(contains(refusal({{"replica.fetch.max.bytes", "0"}}), "replica.fetch.max.bytes"));
    EXPECT_TRUE(contains(refusal({{"replica.fetch.wait.max.ms", "soon"}}), "replica.fetch.wait.max.ms"));
}

}  // namespace
}  // namespace gregor::broker
