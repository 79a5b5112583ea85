// Client settings from Kafka's property names: defaults, accepted spellings, and the errors a
// user sees for a bad value (Kafka's ConfigException wording).
#include <gtest/gtest.h>

#include "client/config.h"

namespace gregor::client {
namespace {

using namespace std::chrono_literals;

properties base(properties extra = {}) {
    extra.emplace("bootstrap.servers", "localhost:9092");
    return extra;
}

TEST(config, ProducerDefaultsAreKafkas) {
    auto c = producer_config::parse(base());
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->acks, -1);
    EXPECT_EQ(c->linger, 5ms);
    EXPECT_EQ(c->batch_size, 16384u);
    EXPECT_EQ(c->retries, INT32_MAX);
    EXPECT_EQ(c->retry_backoff, 100ms);
    EXPECT_EQ(c->delivery_timeout, 120000ms);
    EXPECT_EQ(c->request_timeout, 30000ms);
    EXPECT_EQ(c->max_in_flight, 5);
    EXPECT_EQ(c->partitioner, partitioner_kind::round_robin);
    ASSERT_EQ(c->bootstrap_servers.size(), 1u);
    EXPECT_EQ(c->bootstrap_servers[0], (broker_address{"localhost", 9092}));
    EXPECT_TRUE(c->warnings.empty());
}

TEST(config, AcksAcceptsAllMinusOneZeroOne) {
    EXPECT_EQ(producer_config::parse(base({{"acks", "all"}}))->acks, -1);
    EXPECT_EQ(producer_config::parse(base({{"acks", "ALL"}}))->acks, -1);
    EXPECT_EQ(producer_config::parse(base({{"acks", "-1"}}))->acks, -1);
    EXPECT_EQ(producer_config::parse(base({{"acks", "0"}}))->acks, 0);
    EXPECT_EQ(producer_config::parse(base({{"acks", "1"}}))->acks, 1);
}

TEST(config, BadAcksIsRefusedWithKafkasMessage) {
    auto c = producer_config::parse(base({{"acks", "2"}}));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.code(), errc::invalid_config);
    EXPECT_EQ(c.error().message,
              "Invalid value 2 for configuration acks: String must be one of: all, -1, 0, 1");
}

TEST(config, NonNumericValueNamesKeyValueAndType) {
    auto c = producer_config::parse(base({{"linger.ms", "soon"}}));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().message,
              "Invalid value soon for configuration linger.ms: Not a number of type LONG");
    auto b = producer_config::parse(base({{"batch.size", "16k"}}));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().message,
              "Invalid value 16k for configuration batch.size: Not a number of type INT");
}

TEST(config, OutOfRangeValueIsRefused) {
    auto c = producer_config::parse(base({{"linger.ms", "-1"}}));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().message,
              "Invalid value -1 for configuration linger.ms: Value must be at least 0");
    auto m = producer_config::parse(base({{"max.in.flight.requests.per.connection", "0"}}));
    ASSERT_FALSE(m);
    auto big = producer_config::parse(base({{"retries", "99999999999"}}));
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().message.find("Value must be no more than 2147483647"), std::string::npos);
}

TEST(config, MissingBootstrapServersIsRefused) {
    auto c = producer_config::parse({});
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().message,
              "Missing required configuration \"bootstrap.servers\" which has no default value.");
}

TEST(config, BootstrapServersParseHostsPortsAndIpv6) {
    auto l = parse_bootstrap_servers(" a:1, PLAINTEXT://b:2 ,[::1]:9092");
    ASSERT_TRUE(l) << l.error().message;
    ASSERT_EQ(l->size(), 3u);
    EXPECT_EQ((*l)[0], (broker_address{"a", 1}));
    EXPECT_EQ((*l)[1], (broker_address{"b", 2}));
    EXPECT_EQ((*l)[2], (broker_address{"::1", 9092}));
    EXPECT_EQ((*l)[2].str(), "[::1]:9092");
    for (const char* bad : {"localhost", "localhost:", "localhost:0", "h:70000", ":9092", "h:9x"}) {
        auto r = parse_bootstrap_servers(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().message, std::string("Invalid url in bootstrap.servers: ") + bad);
    }
    EXPECT_FALSE(parse_bootstrap_servers(" , "));
}

TEST(config, UnknownKeysBecomeWarnings) {
    auto c = producer_config::parse(base({{"no.such.key", "1"}, {"key.serializer", "x"}}));
    ASSERT_TRUE(c);
    ASSERT_EQ(c->warnings.size(), 1u);
    EXPECT_EQ(c->warnings[0], "The configuration 'no.such.key' was supplied but isn't a known config.");
}

TEST(config, DeliveryTimeoutBelowLingerPlusRequestTimeout) {
    // Set explicitly: refused, as Kafka does.
    auto c = producer_config::parse(
        base({{"delivery.timeout.ms", "1000"}, {"linger.ms", "500"}, {"request.timeout.ms", "600"}}));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().message,
              "delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms");
    // Left at its default: raised to fit.
    auto d = producer_config::parse(base({{"request.timeout.ms", "200000"}}));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->delivery_timeout, 200005ms);
}

TEST(config, PartitionerSetting) {
    EXPECT_EQ(producer_config::parse(base({{"partitioner", "sticky"}}))->partitioner,
              partitioner_kind::sticky);
    EXPECT_EQ(producer_config::parse(
                  base({{"partitioner.class",
                         "org.apache.kafka.clients.producer.RoundRobinPartitioner"}}))
                  ->partitioner,
              partitioner_kind::round_robin);
    EXPECT_FALSE(producer_config::parse(base({{"partitioner", "hash"}})));
}

TEST(config, CompressionOtherThanNoneIsRefused) {
    EXPECT_TRUE(producer_config::parse(base({{"compression.type", "none"}})));
    auto c = producer_config::parse(base({{"compression.type", "gzip"}}));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.code(), errc::invalid_config);
}

TEST(config, ConsumerSettings) {
    auto c = consumer_config::parse(base({{"auto.offset.reset", "earliest"},
                                          {"fetch.max.wait.ms", "100"},
                                          {"group.id", "g"},
                                          {"max.poll.records", "7"}}));
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->auto_offset_reset, offset_reset::earliest);
    EXPECT_EQ(c->fetch_max_wait, 100ms);
    EXPECT_EQ(c->max_poll_records, 7);
    EXPECT_TRUE(c->warnings.empty());
    auto d = consumer_config::parse(base());
    EXPECT_EQ(d->auto_offset_reset, offset_reset::latest);
    auto bad = consumer_config::parse(base({{"auto.offset.reset", "smallest"}}));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message,
              "Invalid value smallest for configuration auto.offset.reset: String must be one "
              "of: latest, earliest, none");
    auto b = consumer_config::parse(base({{"check.crcs", "maybe"}}));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().message,
              "Invalid value maybe for configuration check.crcs: Expected value to be either "
              "true or false");
}

TEST(config, AdminSettings) {
    auto c = admin_config::parse(base({{"default.api.timeout.ms", "1234"}}));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->default_api_timeout, 1234ms);
}

}  // namespace
}  // namespace gregor::client
